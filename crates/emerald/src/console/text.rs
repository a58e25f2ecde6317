//! Every word the console shows, in one place (English), so that translations can follow as
//! sibling modules with the same names.

pub const PRODUCT: &str = "Emerald console";
pub const SKIP_TO_CONTENT: &str = "Skip to content";

// Login and session
pub const LOGIN_TITLE: &str = "Log in";
pub const EMAIL: &str = "E-mail";
pub const PASSWORD: &str = "Password";
pub const LOGIN_BUTTON: &str = "Log in";
pub const LOGOUT_BUTTON: &str = "Log out";
pub const LOGIN_FAILED: &str = "Wrong e-mail or password.";
pub const LOGIN_SERVICE_REFUSED: &str = "Service accounts cannot log in to the console.";
pub const SIGNED_IN_AS: &str = "Signed in as";
pub const SESSION_EXPIRED: &str =
    "Your session expired (no activity for a while). Log in again to go on where you were.";
pub const SESSION_ENDED: &str =
    "Your session has ended (logged out elsewhere or closed). Log in again to go on where you were.";
pub const CSRF_REFUSED: &str = "The form expired or did not come from this console. Reload the page and try again.";

// Navigation
pub const NAV_ORDERS: &str = "Orders";
pub const NAV_REVIEW: &str = "Review queue";
pub const NAV_COLLECTIONS: &str = "Collections";
pub const NAV_USERS: &str = "Users";
pub const NAV_COMPANIES: &str = "Companies";
pub const NAV_EXPORT: &str = "Export CSV";
pub const NAV_NEW_ORDER: &str = "New order";
pub const NAV_STATISTICS: &str = "Statistics";
pub const NAV_SYSTEM: &str = "System";
pub const NAV_PROFILE: &str = "Your profile";

// Orders list
pub const ORDERS_TITLE: &str = "Orders";
pub const FILTERS: &str = "Filters";
pub const FILTER_STATUS: &str = "Status";
pub const FILTER_ANY: &str = "any";
pub const FILTER_FROM: &str = "Created from";
pub const FILTER_TO: &str = "Created until";
pub const FILTER_TYPE: &str = "Analysis type";
pub const FILTER_META: &str = "meta_data (key==value or key!=value)";
pub const FILTER_COMPANY: &str = "Company id";
pub const FILTER_FOLDER: &str = "Folder id";
pub const APPLY: &str = "Apply";
pub const RESET: &str = "Reset";
pub const COL_FOLDER: &str = "Folder";
pub const COL_CREATED: &str = "Created";
pub const COL_COMPANY: &str = "Company";
pub const COL_USER: &str = "User";
pub const COL_STATUS: &str = "Status";
pub const COL_SYSTEM: &str = "System resolution";
pub const COL_ANALYSES: &str = "Analyses";
pub const COL_MEDIA: &str = "Media";
pub const COL_THUMB: &str = "Photo";
pub const COL_TRANSACTION: &str = "transaction_id";
pub const COL_WAITING: &str = "Waiting";
pub const NO_ORDERS: &str = "No orders match.";
pub const EXPORT_FILTERED: &str = "Export these orders (CSV)";
pub const PREVIOUS: &str = "Previous";
pub const NEXT: &str = "Next";
pub const SHOWING: &str = "Showing";
pub const OF: &str = "of";

// Review queue
pub const REVIEW_TITLE: &str = "Review queue (OPERATOR_REQUIRED, oldest first)";
pub const NEXT_CASE: &str = "Open the oldest case";
pub const REVIEW_EMPTY: &str = "No case waits for a decision.";

// Order detail
pub const ORDER_TITLE: &str = "Order";
pub const SUMMARY: &str = "Summary";
pub const COMPANY: &str = "Company";
pub const USER: &str = "User";
pub const UPDATED: &str = "Updated";
pub const COMMENT: &str = "Comment";
pub const META_DATA: &str = "meta_data";
pub const EVIDENCE: &str = "Evidence";
pub const ORIGINAL: &str = "Open the original";
pub const TAGS: &str = "Tags";
pub const ANALYSES: &str = "Analyses";
pub const STATE: &str = "State";
pub const RESOLUTION: &str = "Resolution";
pub const THRESHOLD: &str = "Threshold";
pub const SCORE: &str = "Score";
pub const NO_SCORE: &str = "no score";
pub const ERROR: &str = "Error";
pub const HIT_PERSON: &str = "Matched person";
pub const RULE_QUALITY: &str = "confidence_spoofing at or above the threshold means an attack";
pub const PAIRS: &str = "Compared pairs";
pub const PAIR_MEDIA: &str = "Media";
pub const PAIR_CONFIDENCE: &str = "Confidence";
pub const RULE_BIOMETRY: &str = "min_confidence at or above the threshold means the same person";
pub const RULE_COLLECTION: &str = "a score at or above the threshold is a hit";
pub const RULE_BAND: &str = "a score in the operator band (from its lower edge up to the threshold) needs an operator";
pub const RULE_DOCUMENTS: &str = "decided by the document's MRZ checks";
pub const PROCESSING_NOTE: &str = "Still processing: this page refreshes itself.";

// Decision
pub const DECISION: &str = "Decision";
pub const DECIDE_SUCCESS: &str = "Accept (SUCCESS)";
pub const DECIDE_DECLINED: &str = "Decline (DECLINED)";
pub const DECISION_COMMENT: &str = "Comment (required to decline)";
pub const DECISION_COMMENT_REQUIRED: &str = "A comment is required to decline.";
pub const DECISION_SAVED: &str = "Decision saved.";
pub const ADMIN_CANNOT_DECIDE: &str = "ADMIN sees the queue but cannot decide.";
pub const HISTORY: &str = "Decision history";
pub const HISTORY_EMPTY: &str = "No decision has been taken on this order.";
pub const COL_TIME: &str = "Time";
pub const COL_WHO: &str = "Who";
pub const COL_ANALYSIS: &str = "Analysis";
pub const COL_CHANGE: &str = "Change";

// Collections, persons, users, companies
pub const COLLECTIONS_TITLE: &str = "Collections";
pub const ALIAS: &str = "Alias";
pub const PERSONS: &str = "Persons";
pub const PERSON: &str = "Person";
pub const PHOTOS: &str = "Photos";
pub const CREATED: &str = "Created";
pub const USERS_TITLE: &str = "Users";
pub const ROLE: &str = "Role";
pub const NAME: &str = "Name";
pub const ACTIVE: &str = "Active";
pub const SERVICE: &str = "Service account";
pub const COMPANIES_TITLE: &str = "Companies";
pub const NONE: &str = "none";
pub const YES: &str = "yes";
pub const NO: &str = "no";

// Errors
pub const ERROR_TITLE: &str = "Something went wrong";
pub const NOT_FOUND: &str = "Not found.";
pub const BACK_TO_ORDERS: &str = "Back to the orders";

// Create order
pub const NEW_ORDER_TITLE: &str = "New order";
pub const CANNOT_CREATE: &str = "Your role does not create orders.";
pub const FILES: &str = "Files and their content type";
pub const FILES_NOTE: &str = "A wrong content type gives wrong results: a selfie is a photo of the face, a document \
photo shows the identity document, a video is a liveness video with the action it shows.";
pub const FILE: &str = "File";
pub const CONTENT_TYPE: &str = "Content type";
pub const CT_SELFIE: &str = "Selfie photo";
pub const CT_ID_FRONT: &str = "Document, front (with photo)";
pub const CT_ID_BACK: &str = "Document, back";
pub const CT_VIDEO_SCAN: &str = "Video selfie: scan";
pub const CT_VIDEO_BLANK: &str = "Video selfie: no action";
pub const CT_VIDEO_LEFT: &str = "Video selfie: head turn left";
pub const CT_VIDEO_RIGHT: &str = "Video selfie: head turn right";
pub const CT_VIDEO_DOWN: &str = "Video selfie: head tilt down";
pub const CT_VIDEO_HIGH: &str = "Video selfie: head raised";
pub const CT_VIDEO_SMILE: &str = "Video selfie: smile";
pub const CT_VIDEO_EYES: &str = "Video selfie: blink";
pub const AN_QUALITY: &str = "Liveness (QUALITY)";
pub const AN_BIOMETRY: &str = "Face match (BIOMETRY, 2 faces or more)";
pub const AN_DOCUMENTS: &str = "Document check (DOCUMENTS)";
pub const AN_COLLECTION: &str = "Blacklist search (COLLECTION)";
pub const COLLECTION: &str = "Collection";
pub const ORDER_DETAILS: &str = "Order details";
pub const WEBHOOK_URL: &str = "Webhook URL (resolution_endpoint)";
pub const CREATE_ORDER: &str = "Create the order";
pub const NO_FILES: &str = "Choose at least one file.";
pub const UNKNOWN_CONTENT_TYPE: &str = "Unknown content type";
pub const ORIENTATION: &str = "Orientation (video or ZIP)";
pub const PORTRAIT: &str = "Portrait";
pub const LANDSCAPE: &str = "Landscape";
pub const UNKNOWN_ORIENTATION: &str = "Unknown orientation";
pub const MEDIA_META_KEY: &str = "File meta_data: key (optional)";
pub const MEDIA_META_VALUE: &str = "File meta_data: value";
pub const UNKNOWN_ANALYSIS: &str = "Unknown analysis";
pub const ANALYSES_REFUSED: &str = "The order was created with its files, but the analyses were refused:";
pub const OPEN_CREATED_ORDER: &str = "Open the order";

// Files on the forms, analysis options (create form and the order page)
pub const FILES_LIMIT_BEFORE: &str = "Each file input takes one or more files of its content type. At most";
pub const FILES_LIMIT_MIDDLE: &str = "files in one upload, each at most";
pub const MORE_FILE_INPUTS: &str = "More file inputs (for other content types)";
pub const ANALYSIS_OPTIONS: &str = "Analysis options (empty: the server's settings)";
pub const EXTRACT_BEST_SHOT: &str = "Liveness: keep the best frame (extract_best_shot)";
pub const BAND_NOTE: &str = "Face match operator band: below threshold_min DECLINED, at or above threshold_max \
SUCCESS, in between OPERATOR_REQUIRED (an operator decides). Without threshold_min there is no band.";
pub const THRESHOLD_MIN: &str = "Face match threshold_min (0 to 1)";
pub const THRESHOLD_MAX: &str = "Face match threshold_max (0 to 1)";
pub const DECISION_THRESHOLD: &str = "Blacklist decision_threshold (0 to 1)";
pub const DECISION_COUNT: &str = "Blacklist decision_count (best hits reported, 1 to 100)";
pub const NOT_A_NUMBER: &str = "is not a number:";
pub const NOT_IN_UNIT_RANGE: &str = "must be a number from 0 to 1.";
pub const BAND_REVERSED: &str = "threshold_min must not be above threshold_max.";
pub const COUNT_OUT_OF_RANGE: &str = "decision_count must be a whole number from 1 to 100.";
pub const BAND_WITHOUT_BIOMETRY: &str = "threshold_min and threshold_max apply to the face match (BIOMETRY): tick it, \
or leave them empty.";
pub const COLLECTION_PARAMS_WITHOUT: &str = "decision_threshold and decision_count apply to the blacklist search \
(COLLECTION): tick it, or leave them empty.";
pub const CAPABILITIES: &str = "Document check capabilities (a bitmask, a whole number, optional)";
pub const CAPABILITIES_INVALID: &str = "capabilities must be a whole number, 0 or more.";
pub const CAPABILITIES_WITHOUT: &str =
    "capabilities applies to the document check (DOCUMENTS): tick it, or leave it empty.";
pub const SOURCES: &str = "Files each analysis takes (source_media)";
pub const SOURCES_NOTE: &str = "Tick the files an analysis takes; with none ticked it takes the order's files its \
rule selects (liveness: selfies and videos; face match and blacklist: every file but a document's back; document check: \
document photos).";
pub const SOURCES_WITHOUT_ANALYSIS: &str =
    "files were chosen for an analysis that is not ticked: tick it, or untick its files.";
pub const SOURCE_WITHOUT_FILE: &str = "was given a choice naming no file of this form:";
pub const SOURCES_NOT_HERE: &str = "Files are chosen per analysis on the create form only: here the analyses take the \
order's files their rules select.";
pub const BAND: &str = "Operator band (threshold_min to threshold_max)";
pub const BAND_COLLECTION: &str = "Operator band (from the company's band to the threshold)";

// Editing an order (its page)
pub const ADD_MEDIA: &str = "Add files to this order";
pub const ADD_MEDIA_NOTE: &str = "The files join the order with the tags of their content type. Analyses already \
made are not run again: request new ones below.";
pub const ADD_MEDIA_BUTTON: &str = "Add the files";
pub const RERUN: &str = "Request analyses";
pub const RERUN_NOTE: &str = "New analyses of the order's files as they are now (each takes the files its rule \
matches); the earlier analyses and their results stay.";
pub const RERUN_BUTTON: &str = "Request these analyses";
pub const NO_ANALYSIS_CHOSEN: &str = "Tick at least one analysis.";
pub const EDIT_ORDER_META: &str = "Edit the order's meta_data as raw JSON";
pub const DELETE_MEDIA: &str = "Delete this file";
pub const DELETE_MEDIA_CONFIRM: &str = "The file leaves the order and the storage; analyses already made keep their \
results. Type the first 8 characters of the file's id:";
pub const DELETE_ANALYSIS: &str = "Delete this analysis";
pub const DELETE_ANALYSIS_CONFIRM: &str = "The order's status is computed again without it. Type the first 8 \
characters of the analysis id:";

// Delete
pub const DELETE_ORDER: &str = "Delete this order";
pub const DELETE_CONFIRM_LABEL: &str = "Deleting removes its files, analyses and results. Type the first 8 characters \
of its id to confirm:";
pub const DELETE_BUTTON: &str = "Delete for good";
pub const DELETE_CONFIRM_MISMATCH: &str = "The confirmation did not match what was asked: nothing was deleted.";
pub const ORDER_DELETED: &str = "Order deleted:";

// Statistics
pub const STATS_TITLE: &str = "Statistics";
pub const PERIOD: &str = "Period (UTC days; the last 7 days by default)";
pub const ORDERS_IN_WINDOW: &str = "Orders created";
pub const DECLINE_RATE: &str = "Decline rate (DECLINED of SUCCESS + DECLINED)";
pub const REVIEW_BACKLOG: &str = "Waiting for a decision now";
pub const UNIQUE_PERSONS_BY: &str = "Unique persons by";
pub const ORDERS_CARRY: &str = "orders carry";
pub const PERSON_KEY: &str = "Person key (an order meta_data key; iin by default)";
pub const ORDERS_BY_STATUS: &str = "Orders by status";
// Statistics from the aggregate API (GAP-6), review claims (GAP-10), person lists (GAP-9)
pub const STATS_COMMON: &str = "Common info";
pub const STATS_PERFORMANCE: &str = "Performance";
pub const GRANULARITY: &str = "Per";
pub const BY_DAY: &str = "day";
pub const BY_WEEK: &str = "week (from Monday)";
pub const BY_MONTH: &str = "month";
pub const CHART_CSV: &str = "This chart's data as CSV";
pub const ORDERS_OVER_TIME: &str = "Orders over time by status";
pub const ANALYSES_OVER_TIME: &str = "Analyses over time by type";
pub const ANALYSES_BY_RESULT: &str = "Analyses by type and result";
pub const PERIOD_START: &str = "Period from";
pub const CHART_KIND: &str = "Chart type";
pub const CHART_BARS: &str = "Bars";
pub const CHART_LINE: &str = "Line";
pub const CHART_DONUT: &str = "Donut";
pub const CHART_SHOW: &str = "Show";
pub const CHART_PNG: &str = "Save as PNG";
pub const CHART_DATA: &str = "The chart's numbers";
pub const TOTAL: &str = "Total";
pub const DECISION_MEDIAN: &str = "Time to decision (median)";
pub const DECISIONS: &str = "decisions";
pub const ATTEMPTS_PER_PERSON: &str = "Orders per person";
pub const PERSONS_SUCCEEDED: &str = "Persons with a SUCCESS order";
pub const SCORE_HISTOGRAMS: &str = "Scores (the line is the threshold)";
pub const LATENCY: &str = "Processing time of analyses";
pub const LATENCY_NOTE: &str = "From the request to the result, per analysis type, for the orders of the period; \
the target (spec §18.6) is p90 under 20 s and fewer than 20 analyses unfinished.";
pub const TARGET: &str = "Target";
pub const QUEUE_NOW: &str = "Analyses unfinished now";
pub const OLDEST: &str = "oldest";
pub const CASE_HELD: &str = "Another operator is reviewing this case until";
pub const DECIDE_ANYWAY: &str = "Decide anyway (another operator holds this case)";
pub const ORDER_COMMENT: &str = "Comment on the order (resolution_comment; empty clears it)";
pub const CASE_CLAIMED: &str = "You hold this case for review until";
pub const HELD_BY_OTHERS: &str = "cases on this page are held by other operators; \"Next case\" passes them by.";
pub const HITS: &str = "Hits: orders whose COLLECTION analysis matched this person";
pub const NO_HITS: &str = "No COLLECTION analysis matched this person.";
pub const SEARCH_PERSONS: &str = "Search names and meta_data";
pub const SEARCH: &str = "Search";

// System
pub const SYSTEM_TITLE: &str = "System";
pub const ADMIN_ONLY: &str = "Only ADMIN sees this page.";
pub const VERSION: &str = "Version";
pub const OK: &str = "answers";
pub const FAILING: &str = "does not answer";
pub const DATABASE: &str = "Database";
pub const FACE_ENGINE: &str = "Face engine";
pub const AVAILABLE: &str = "available";
pub const NOT_AVAILABLE: &str = "not available on this server";
pub const COLLECTIONS_COMPONENT: &str = "Collections (1:N search)";
pub const VIDEO_DECODER: &str = "Video decoder";
pub const QUEUED_JOBS: &str = "Jobs in the queue";
pub const PROCESSING_ANALYSES: &str = "Analyses processing";
pub const SERVER_TIME: &str = "Server time";

// Notices after a change (`?done=code`: only these words can be shown)
pub const NOTICES: [(&str, &str); 23] = [
    ("saved", "Saved."),
    ("comment_saved", "Comment saved."),
    ("meta_key_deleted", "Key deleted."),
    ("media_added", "Files added to the order."),
    ("analyses_requested", "Analyses requested."),
    ("media_deleted", "File deleted."),
    ("analysis_deleted", "Analysis deleted."),
    ("collection_created", "Collection created."),
    ("collection_deleted", "Collection deleted."),
    ("collection_renamed", "Collection renamed."),
    ("person_added", "Person added."),
    ("person_deleted", "Person deleted."),
    ("photos_added", "Photos added."),
    ("photo_deleted", "Photo deleted."),
    ("user_created", "User created."),
    ("user_deleted", "User deleted."),
    ("user_blocked", "User blocked: its logins and tokens are refused."),
    ("user_unblocked", "User unblocked."),
    ("company_created", "Company created."),
    ("company_deleted", "Company deleted."),
    ("thresholds_saved", "Thresholds saved: the company's new analyses get them."),
    ("password_changed", "Password changed."),
    ("imported", "Import finished."),
];

// Forms
pub const SAVE: &str = "Save";
pub const STATS_IN_UTC: &str = "Dates and periods are UTC days.";
pub const STATS_IN_OFFSET: &str = "Dates and periods are days at";
pub const STATS_OFFSET_FIXED: &str = "(this browser's offset from UTC, fixed: a daylight-saving change inside the \
window is not followed).";
pub const SAVE_COMMENT: &str = "Save the comment";
pub const CHOOSE: &str = "Choose…";
pub const META_DATA_JSON: &str = "meta_data (a JSON object, optional)";
pub const FIRST_NAME: &str = "First name";
pub const MIDDLE_NAME: &str = "Middle name";
pub const LAST_NAME: &str = "Last name";
pub const REASON: &str = "Reason";

// Collections and persons (write)
pub const NO_COLLECTIONS: &str = "No collection yet.";
pub const NEW_COLLECTION: &str = "New collection";
pub const CREATE_COLLECTION: &str = "Create the collection";
pub const EDIT_COLLECTION: &str = "Edit the collection's meta_data";
pub const RENAME_COLLECTION: &str = "Rename the collection";
pub const RENAME: &str = "Rename";
pub const DELETE_COLLECTION: &str = "Delete this collection";
pub const DELETE_COLLECTION_NOT_EMPTY: &str = "A collection is deleted only when empty: delete its persons first.";
pub const DELETE_COLLECTION_CONFIRM: &str = "Type the collection's alias to confirm:";
pub const NO_PERSONS: &str = "No person in this collection yet.";
pub const ADD_PERSON: &str = "Add a person";
pub const PHOTOS_TO_ENROL: &str = "Photos (each must show exactly one face)";
pub const OTHER_META_DATA: &str = "Other meta_data (a JSON object, optional; the names go in person_info)";
pub const BULK_IMPORT: &str = "Bulk import";
pub const BULK_IMPORT_NOTE: &str =
    "A ZIP with one folder per person (the folder's name is the person's import_key; an \
optional person.json in it holds the person's meta_data) and photos at its top level (one person each, named after the \
file), or several photos (one person each). Persons already imported are skipped, so an interrupted import is simply \
sent again. A photo without exactly one face is left out and listed.";
pub const IMPORT_FILES: &str = "ZIP archives or photos";
pub const IMPORT_META_CSV: &str =
    "meta_data CSV (optional): a header of the person column, then meta_data keys; one row \
per person folder (its name first)";
pub const IMPORT_META_CSV_BAD: &str = "The meta_data CSV was refused, nothing was imported";
pub const IMPORT_BUTTON: &str = "Import";
pub const IMPORT_TITLE: &str = "Import";
pub const PERSONS_IMPORTED: &str = "Persons imported";
pub const PHOTOS_IMPORTED: &str = "Photos enrolled";
pub const PERSONS_SKIPPED: &str = "Persons skipped (imported before)";
pub const FILES_REJECTED: &str = "Files left out";
pub const BACK_TO_COLLECTION: &str = "Back to the collection";
pub const IMPORT_RUNNING: &str =
    "person folders to import; each line below is written when its person is done, the report follows.";
pub const IMPORT_PERSON_IMPORTED: &str = "imported";
pub const IMPORT_PHOTOS: &str = "photos";
pub const IMPORT_PERSON_SKIPPED: &str = "skipped (imported before)";
pub const IMPORT_PERSON_NOT_IMPORTED: &str = "not imported";
pub const IMPORT_FILES_LEFT_OUT: &str = "files left out";
pub const IMPORT_DONE: &str = "The import is done.";
pub const IMPORT_STOPPED: &str = "The import stopped";
pub const IMPORT_SEND_AGAIN: &str =
    "The persons imported before it stay; send the form again to import the rest (imported persons are skipped)";
pub const IMPORT_ENDED_UNEXPECTEDLY: &str = "the import's task ended without a word";
pub const ADD_PHOTOS: &str = "Add photos";
pub const EDIT_PERSON: &str = "Edit the person";
pub const DELETE_PHOTO: &str = "Delete this photo";
pub const DELETE_PHOTO_CONFIRM: &str = "Type the first 8 characters of the photo id:";
pub const DELETE_PERSON: &str = "Delete this person";
pub const DELETE_ANALYSES_THEN_PERSON_1: &str = "Delete these";
pub const DELETE_ANALYSES_THEN_PERSON_2: &str = "analyses, then the person";
pub const DELETE_PERSON_CONFIRM: &str =
    "Deleting removes the person and its photos. Type the first 8 characters of its \
id to confirm:";
pub const MATCHED_IN_ORDERS: &str = "The matching analyses belong to these orders (delete them first):";

// Users, companies, profile (write)
pub const NEW_USER: &str = "New user";
pub const CREATE_USER: &str = "Create the user";
pub const EDIT_USER: &str = "Edit the user";
pub const PASSWORD_OR_GENERATED: &str = "Password (leave empty to have one made up and shown once)";
pub const NEW_PASSWORD_OPTIONAL: &str = "New password (leave empty to keep it)";
pub const COMPANY_NOTE: &str = "ADMIN and OPERATOR belong to no company: the company is ignored for them.";
pub const PERMISSIONS: &str = "Account and analyses it may start";
pub const USER_CREATED: &str = "User created";
pub const PASSWORD_SHOWN_ONCE: &str = "This password is shown only now: pass it on to the user, who can change it in \
the profile.";
pub const OPEN_USER: &str = "Open the user";
pub const BLOCK_USER: &str = "Block this user";
pub const UNBLOCK_USER: &str = "Unblock this user";
pub const BLOCK_NOTE: &str = "A blocked user cannot log in, and its tokens are refused, until unblocked.";
pub const UNBLOCK_NOTE: &str = "The user is blocked: its logins and tokens are refused.";
pub const DELETE_USER: &str = "Delete this user";
pub const DELETE_USER_CONFIRM: &str = "Type the user's e-mail to confirm:";
pub const NEW_COMPANY: &str = "New company";
pub const THRESHOLDS: &str = "Decision thresholds";
pub const THRESHOLDS_NOTE: &str =
    "What new analyses of this company's orders are decided with. A request's own params \
(threshold_max, decision_threshold) win; analyses made before a change keep the threshold they were made with.";
pub const THRESHOLD_APPLIES: &str = "Applies";
pub const THRESHOLD_FROM: &str = "From";
pub const THRESHOLD_SERVER: &str = "Server's setting";
pub const FROM_INSTALLATION: &str = "the server's setting";
pub const FROM_COMPANY: &str = "this company";
pub const OPERATOR_BAND: &str = "operator band";
pub const OPERATOR_BAND_FROM: &str = "operator band from (0 to 1, at most its threshold)";
pub const NO_BAND: &str = "none";
pub const OPERATOR_BAND_FROM_SHORT: &str = "operator band from";
pub const OPERATOR_BAND_NOTE: &str = "An operator band: a face match (BIOMETRY) min_confidence, or a blacklist \
(COLLECTION) best score, from the band's lower edge up to the threshold (not included) needs an operator \
(OPERATOR_REQUIRED); below it the face match is DECLINED and the blacklist search a SUCCESS. A face match \
request's own threshold_min wins. Empty: no band.";
pub const EDIT_THRESHOLDS: &str = "Change the thresholds";
pub const THRESHOLDS_FORM_NOTE: &str =
    "A number from 0 to 1 (e.g. 0.85) is this company's own; empty returns to the server's setting.";
pub const SAVE_THRESHOLDS: &str = "Save the thresholds";
pub const THRESHOLD_NOT_A_NUMBER: &str =
    "is not a number: type one from 0 to 1 (e.g. 0.85), or leave it empty for the \
server's setting";
pub const COMPANY_ORDERS: &str = "Orders of this company";
pub const COMPANY_STATISTICS: &str = "Statistics of this company";
pub const COMPANY_LAST_7_DAYS: &str = "Its orders, last 7 days (UTC)";
pub const COMPANY_RECENT_ORDERS: &str = "Recent orders";
pub const NO_COMPANY_ORDERS: &str = "No orders yet.";
pub const CREATE_COMPANY: &str = "Create the company";
pub const EDIT_COMPANY: &str = "Edit the company";
pub const DELETE_COMPANY: &str = "Delete this company";
pub const DELETE_COMPANY_CONFIRM: &str = "A company is deleted only without users. Type its name to confirm:";
pub const PROFILE_TITLE: &str = "Your profile";
pub const YOUR_NAME: &str = "Your name";
pub const CHANGE_PASSWORD: &str = "Change the password";
pub const CURRENT_PASSWORD: &str = "Current password";
pub const NEW_PASSWORD: &str = "New password (8 characters or more)";
pub const REPEAT_PASSWORD: &str = "New password again";
pub const PASSWORDS_DIFFER: &str = "The two new passwords differ.";

// Operations: webhook deliveries, health, audit (GAP-5, GAP-15, GAP-4)
pub const WEBHOOKS: &str = "Webhook deliveries";
pub const WEBHOOK_ENDPOINT: &str = "Sent to";
pub const WEBHOOKS_EMPTY: &str = "Nothing has been sent to a webhook for this order.";
pub const NOT_SENT_YET: &str = "queued, not sent yet";
pub const COL_DELIVERY: &str = "Delivery";
pub const COL_ATTEMPT: &str = "Attempt";
pub const COL_ANSWER: &str = "Answer";
pub const COL_DURATION: &str = "Duration";
pub const COL_OUTCOME: &str = "Outcome";
pub const REDELIVER: &str = "Send the order to its webhook again";
pub const HEALTH: &str = "Health";
pub const BLOB_STORE: &str = "Media storage";
pub const BLOB_OK: &str = "writable and readable";
pub const DOCUMENTS_OCR: &str = "Document OCR";
pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DUE: &str = "waiting for a worker";
pub const OLDEST_DUE: &str = "the oldest has waited";
pub const FREE_STORAGE: &str = "Free storage";
pub const WEBHOOK_FAILURES: &str = "Webhook failures (24 h)";
pub const FAILED_ATTEMPTS: &str = "failed attempts";
pub const GIVEN_UP: &str = "deliveries given up";
pub const RECENT_FAILURES: &str = "Latest failures";
pub const NAV_AUDIT: &str = "Audit";
pub const AUDIT_TITLE: &str = "Audit trail";
pub const AUDIT_EMPTY: &str = "No event matches.";
pub const AUDIT_EXPORT: &str = "Export these events (CSV)";
pub const FILTER_OBJECT: &str = "Object id";
pub const FILTER_USER: &str = "User id";
pub const FILTER_ACTION: &str = "Action";
pub const COL_ACTION: &str = "Action";
pub const COL_OBJECT: &str = "Object";
pub const COL_ADDRESS: &str = "Client address";

// The browser-side helpers (assets/console.js); shown only when the script runs
pub const SAVED_FILTERS: &str = "Saved filters";
pub const SAVED_FILTERS_NONE: &str = "None saved in this browser yet.";
pub const SAVE_FILTER: &str = "Save filter";
pub const SAVE_FILTER_NAME: &str = "Name of the current filter";
pub const SAVED_FILTER_REMOVE: &str = "Remove";
pub const PRIVACY_BLUR: &str = "Blur thumbnails";
pub const KEYS_HELP: &str = "Keys: A accept · D decline · N next case · Z zoom the evidence";
pub const NEXT_CASE_AFTER: &str = "Next case";
pub const GENERATE_PASSWORD: &str = "Generate a password";
pub const GENERATED_PASSWORD_NOTE: &str = "Note it now, it is not shown again:";
pub const SESSION_LEFT: &str = "Session ends in";
pub const SESSION_LEFT_UNIT: &str = "min";
pub const SESSION_OVER: &str = "Session ended: the next click asks for a login";
pub const FILE_TOO_BIG: &str = "larger than the upload limit; not sent";
pub const FILE_WRONG_TYPE: &str = "not a photo, a video or a ZIP; not sent";
pub const FILES_TOO_MANY: &str = "More files than one upload takes; choose fewer";
pub const UPLOAD_PROGRESS: &str = "Upload progress";
pub const UPLOAD_SENDING: &str = "Sending the files:";
pub const UPLOAD_STORING: &str = "Sent; the server is checking and storing the files…";
pub const UPLOAD_CANCEL: &str = "Cancel the upload";
pub const UPLOAD_CANCELLED: &str = "Upload cancelled: nothing was sent.";
pub const UPLOAD_FAILED: &str = "The upload failed (connection lost?): nothing was stored. Send the form again.";

// The order's meta_data, key by key (the order page)
pub const EDIT_META_KEYS: &str = "Edit the order's meta_data key by key";
pub const EDIT_MEDIA_META_KEYS: &str = "Edit this file's meta_data";
pub const EDIT_USER_META_KEYS: &str = "Edit the user's meta_data key by key";
pub const EDIT_COMPANY_META_KEYS: &str = "Edit the company's meta_data key by key";
pub const META_KEY: &str = "Key";
pub const META_VALUE: &str = "Value";
pub const META_CHANGE: &str = "Change";
pub const META_VALUE_OF: &str = "New value of";
pub const META_VALUE_KIND: &str = "The value is";
pub const META_AS_TEXT: &str = "text";
pub const META_AS_JSON: &str = "JSON (number, true/false, list, object)";
pub const META_DELETE_KEY: &str = "Delete the key";
pub const META_ADD_KEY: &str = "New key";
pub const META_NEW_VALUE: &str = "Value of the new key";
pub const META_ADD: &str = "Add the key";
pub const META_KEY_EMPTY: &str = "The key must not be empty.";
pub const META_NOT_JSON: &str = "the value is not valid JSON:";
pub const META_DELETE: &str = "Delete";

// "Copy as curl" (the order page)
pub const CURL_TITLE: &str = "Over the API";
pub const CURL_NOTE: &str = "The same order over the API, for a script or a support ticket. $TOKEN stands for an \
access token (POST /api/authorize/auth); this page never puts one in.";
pub const CURL_LABEL: &str = "curl command";
pub const CURL_BUTTON: &str = "Copy as curl";
pub const CURL_COPIED: &str = "Copied.";
pub const CURL_COPY_FAILED: &str = "The browser refused to copy: the command is selected, copy it with the keyboard.";
