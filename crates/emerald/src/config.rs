//! One configuration: flags, `EMERALD_*` environment variables, and an optional TOML file
//! (`--config`), in that order of precedence. Unknown keys in the file are rejected.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use serde::Deserialize;

/// Which parts of the server this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// API and workers (the default).
    All,
    /// HTTP API only.
    Api,
    /// Background workers only.
    Worker,
    /// Oz API Lite only (spec §14): the stateless face service, no database and no data directory.
    Lite,
}

/// Whether the full server also serves Oz API Lite's routes (`--role lite` always does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiteMode {
    On,
    Off,
}

/// The face identity model (see `docs/accuracy.md`). Templates record the model that made
/// them; after a change, `emerald collections reindex` recomputes the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Embedder {
    /// fr_feature and the sirius-ai MobileFaceNet fused at score level (the most accurate).
    #[value(name = "fused")]
    Fused,
    /// fr_feature alone (512-d; Emerald's embedder before the fusion).
    #[value(name = "fr_feature")]
    FrFeature,
    /// The sirius-ai MobileFaceNet alone (192-d; the fastest, smallest 1:N templates).
    #[value(name = "mobilefacenet")]
    Mobilefacenet,
}

/// The OCR of documents' visual zone (DOCUMENTS analyses; docs/documents.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentsOcr {
    /// PP-OCRv4 detector + recogniser in process (models from `scripts/fetch-models.sh`); when
    /// they are missing, Tesseract if found.
    #[value(name = "ppocr")]
    Ppocr,
    /// The `tesseract` binary as a child process.
    #[value(name = "tesseract")]
    Tesseract,
}

/// How Instant mode (`POST /api/instant/folders/`) authenticates (spec §13.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstantAuth {
    /// A valid access token is required (checked read-only: nothing is written).
    Token,
    /// No token: authentication is the integrator's (Oz's own Instant API); an
    /// authenticating proxy must stand in front.
    None,
    /// Instant mode is switched off (404).
    Off,
}

/// An on/off setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "EMERALD_LISTEN", default_value = "127.0.0.1:8000")]
    pub listen: String,
    /// Where the SQLite file and local media live.
    #[arg(long, env = "EMERALD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite:…` for another SQLite file; default: SQLite in the data dir.
    #[arg(long, env = "EMERALD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where media files go; default: the data dir's `media/`.
    #[arg(long, env = "EMERALD_BLOB_URL")]
    pub blob_url: Option<String>,
    /// Settings of an S3 blob store as `object_store` keys (`endpoint`, `region`,
    /// `access_key_id`, `secret_access_key`, `allow_http` …): the config file's
    /// `[blob_options]` table. The `AWS_*` environment variables fill what it leaves out.
    #[arg(skip)]
    pub blob_options: std::collections::BTreeMap<String, String>,
    /// Pre-provisioned model files; default: the set-up cache (`~/.cache/emerald/models`).
    #[arg(long, env = "EMERALD_MODELS_DIR")]
    pub models_dir: Option<PathBuf>,
    /// The face identity model: `fused` (default), `fr_feature` or `mobilefacenet`.
    #[arg(long, env = "EMERALD_EMBEDDER", value_enum, default_value = "fused")]
    pub embedder: Embedder,
    /// The `ffmpeg` binary that decodes videos; default: `~/.cache/emerald/ffmpeg/ffmpeg` (from
    /// `scripts/fetch-ffmpeg.sh`), then `ffmpeg` on `PATH`.
    #[arg(long, env = "EMERALD_FFMPEG")]
    pub ffmpeg: Option<PathBuf>,
    /// The `tesseract` binary that reads the visual zone of documents (DOCUMENTS analyses);
    /// default: `tesseract` on `PATH` (from `scripts/fetch-tesseract.sh`).
    #[arg(long, env = "EMERALD_TESSERACT")]
    pub tesseract: Option<PathBuf>,
    /// The OCR of documents' visual zone: `ppocr` (default; PP-OCRv4 in process, Tesseract when
    /// its models are missing) or `tesseract`.
    #[arg(long, env = "EMERALD_DOCUMENTS_OCR", value_enum, default_value = "ppocr")]
    pub documents_ocr: DocumentsOcr,
    /// `all`, `api`, `worker` or `lite` (Oz API Lite only: no database, no data directory).
    #[arg(long, env = "EMERALD_ROLE", value_enum, default_value = "all")]
    pub role: Role,
    /// Serve Oz API Lite's routes (`/v1/face/…`, `/version`) beside the full API: `on` or `off`.
    #[arg(long, env = "EMERALD_LITE", value_enum, default_value = "off")]
    pub lite: LiteMode,
    /// A static key Oz API Lite requests must carry (`X-Api-Key: <key>` or
    /// `Authorization: Bearer <key>`); unset = no authentication (as Oz API Lite).
    #[arg(long, env = "EMERALD_LITE_API_KEY", hide_env_values = true)]
    pub lite_api_key: Option<String>,
    /// Access-token lifetime in seconds (`OZ_SESSION_TTL`).
    #[arg(long, env = "EMERALD_SESSION_TTL", default_value_t = 900.0)]
    pub session_ttl: f64,
    /// Service-account token lifetime in seconds (`OZ_SESSION_LONGLIVE_TTL`, 5 years).
    #[arg(long, env = "EMERALD_SERVICE_SESSION_TTL", default_value_t = 157_680_000.0)]
    pub service_session_ttl: f64,
    /// Move a token's expiry to now + TTL on every use.
    #[arg(long, env = "EMERALD_SESSION_EXTEND", default_value_t = true, action = clap::ArgAction::Set)]
    pub session_extend: bool,
    /// E-mail of the first ADMIN, created when the database has no user.
    #[arg(long, env = "EMERALD_ADMIN_EMAIL", hide = true)]
    pub admin_email: Option<String>,
    /// Password of the first ADMIN; generated and printed once when absent.
    #[arg(long, env = "EMERALD_ADMIN_PASSWORD", hide = true, hide_env_values = true)]
    pub admin_password: Option<String>,
    /// `text` or `json` log lines.
    #[arg(long, env = "EMERALD_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Most media files in one upload request (`OZ_ATTACHMENT_MAX_COUNT`).
    #[arg(long, env = "EMERALD_MAX_FILES_PER_REQUEST", default_value_t = 10)]
    pub max_files_per_request: usize,
    /// Largest media file in bytes (`OZ_ATTACHMENT_MAX_SIZE`, 10 MiB).
    #[arg(long, env = "EMERALD_MAX_FILE_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_file_bytes: u64,
    /// Write upload spool files with direct I/O (`O_DIRECT`, Linux) where the filesystem takes
    /// it; `false`: always through the page cache.
    #[arg(long, env = "EMERALD_SPOOL_DIRECT_IO", default_value_t = true, action = clap::ArgAction::Set)]
    pub spool_direct_io: bool,
    /// Base of media links (`https://api.example.com`); default: scheme and Host of the request.
    #[arg(long, env = "EMERALD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Analysis workers in this process; 0 = one per core. Role `api` runs none.
    #[arg(long, env = "EMERALD_WORKERS", default_value_t = 0)]
    pub workers: usize,
    /// Seconds a claimed job is leased to its worker (renewed while it works); a job whose
    /// worker died is claimed again after it.
    #[arg(long, env = "EMERALD_JOB_LEASE", default_value_t = 60.0)]
    pub job_lease: f64,
    /// Seconds between looks at the job queue when no wake-up came: idle workers claim, waiting
    /// single requests re-read their analyses. On PostgreSQL processes wake each other at once
    /// (LISTEN/NOTIFY), so this is only the backstop and may be raised to cut idle queries.
    #[arg(long, env = "EMERALD_QUEUE_POLL", default_value_t = 0.25)]
    pub queue_poll: f64,
    /// Claims of an analysis job before it is FAILED (a worker that died used one).
    #[arg(long, env = "EMERALD_ANALYSIS_MAX_ATTEMPTS", default_value_t = 3)]
    pub analysis_max_attempts: u32,
    /// Seconds an analysis may stay PROCESSING before it is FAILED as expired
    /// (`OZ_ANALYSE_PROCESSING_EXPIRE_TIMEOUT`; e.g. queued while no worker runs).
    #[arg(long, env = "EMERALD_ANALYSIS_EXPIRE_TIMEOUT", default_value_t = 900.0)]
    pub analysis_expire_timeout: f64,
    /// How often expired analyses are looked for, seconds (`OZ_ANALYSE_EXPIRE_BEAT_PERIOD`).
    #[arg(long, env = "EMERALD_ANALYSIS_EXPIRE_BEAT", default_value_t = 60.0)]
    pub analysis_expire_beat: f64,
    /// Seconds a review claim holds a case for the operator who opened it (GAP-10).
    #[arg(long, env = "EMERALD_REVIEW_CLAIM_TIMEOUT", default_value_t = 900.0)]
    pub review_claim_timeout: f64,
    /// Longest wait of a single request (`POST /api/folders/` with `analyses`), seconds.
    #[arg(long, env = "EMERALD_SINGLE_REQUEST_TIMEOUT", default_value_t = 120.0)]
    pub single_request_timeout: f64,
    /// QUALITY: `confidence_spoofing` at or above it is DECLINED.
    #[arg(long, env = "EMERALD_QUALITY_THRESHOLD", default_value_t = 0.5)]
    pub quality_threshold: f64,
    /// BIOMETRY: `min_confidence` at or above it is SUCCESS.
    #[arg(long, env = "EMERALD_BIOMETRY_THRESHOLD", default_value_t = 0.85)]
    pub biometry_threshold: f64,
    /// COLLECTION: a person at or above it is a hit.
    #[arg(long, env = "EMERALD_COLLECTION_THRESHOLD", default_value_t = 0.85)]
    pub collection_threshold: f64,
    /// Key of the webhook signature (`X-Oz-Signature`: hex HMAC-SHA256 of the body); unset =
    /// unsigned deliveries.
    #[arg(long, env = "EMERALD_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Delivery attempts of a webhook before it is given up (`OZ_CELERY_RETRY_MAX_COUNT`).
    #[arg(long, env = "EMERALD_WEBHOOK_MAX_ATTEMPTS", default_value_t = 7)]
    pub webhook_max_attempts: u32,
    /// Seconds before the first retry; doubles after each failure.
    #[arg(long, env = "EMERALD_WEBHOOK_BACKOFF", default_value_t = 10.0)]
    pub webhook_backoff: f64,
    /// Timeout of one delivery, seconds (`OZ_EXTERNAL_REQUEST_TIMEOUT`).
    #[arg(long, env = "EMERALD_WEBHOOK_TIMEOUT", default_value_t = 30.0)]
    pub webhook_timeout: f64,
    /// Allow webhooks to loopback and private-network addresses.
    #[arg(long, env = "EMERALD_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Instant mode authentication: `token`, `none` or `off`.
    #[arg(long, env = "EMERALD_INSTANT_AUTH", value_enum, default_value = "token")]
    pub instant_auth: InstantAuth,
    /// Proxies (addresses, CIDR networks, comma-separated) whose `X-Forwarded-For` names the
    /// client; from anyone else the header is ignored and the TCP peer is the client.
    #[arg(long, env = "EMERALD_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// The operator web console (docs/console.md): `on` or `off`.
    #[arg(long, env = "EMERALD_CONSOLE", value_enum, default_value = "on")]
    pub console: Switch,
    /// The console's path on this server.
    #[arg(long, env = "EMERALD_CONSOLE_BASE_PATH", default_value = "/console")]
    pub console_base_path: String,
    /// A listen address of its own for the console (port 0 picks a free port): the console is
    /// then served there only, not on `listen` beside the API.
    #[arg(long, env = "EMERALD_CONSOLE_LISTEN")]
    pub console_listen: Option<String>,
    /// Failed logins of one account before its logins are refused for a while (code 101); 0 = off.
    #[arg(long, env = "EMERALD_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: u32,
    /// Failed logins from one client address (IPv6: its /64) before its logins are refused; 0 = off.
    #[arg(long, env = "EMERALD_LOGIN_ADDRESS_MAX_FAILURES", default_value_t = 20)]
    pub login_address_max_failures: u32,
    /// Seconds of the first refusal after the limit; each further failure doubles it.
    #[arg(long, env = "EMERALD_LOGIN_BACKOFF", default_value_t = 2.0)]
    pub login_backoff: f64,
    /// Longest refusal after failed logins, seconds (an ADMIN can clear it sooner).
    #[arg(long, env = "EMERALD_LOGIN_BACKOFF_MAX", default_value_t = 900.0)]
    pub login_backoff_max: f64,
    /// Seconds without a failure after which an account's or address's count starts again.
    #[arg(long, env = "EMERALD_LOGIN_WINDOW", default_value_t = 3600.0)]
    pub login_window: f64,
    /// Requests per minute of one access token (company users; ADMIN/OPERATOR are not
    /// limited); 0 = unlimited. Kept per server process.
    #[arg(long, env = "EMERALD_QUOTA_TOKEN_REQUESTS", default_value_t = 3000)]
    pub quota_token_requests: u32,
    /// Uploads, analysis requests, enrolments and Instant calls per minute of one access token; 0 = unlimited.
    #[arg(long, env = "EMERALD_QUOTA_TOKEN_EXPENSIVE", default_value_t = 600)]
    pub quota_token_expensive: u32,
    /// Requests per minute of one company's users together (overridable per company); 0 = unlimited.
    #[arg(long, env = "EMERALD_QUOTA_COMPANY_REQUESTS", default_value_t = 12000)]
    pub quota_company_requests: u32,
    /// Expensive requests per minute of one company's users together (overridable per company); 0 = unlimited.
    #[arg(long, env = "EMERALD_QUOTA_COMPANY_EXPENSIVE", default_value_t = 1800)]
    pub quota_company_expensive: u32,
    /// Seconds the auth audit keeps an event (90 days); 0 = forever.
    #[arg(long, env = "EMERALD_AUDIT_RETENTION", default_value_t = 7_776_000.0)]
    pub audit_retention: f64,
    /// A TOML file with any of the settings above (snake_case keys).
    #[arg(long, env = "EMERALD_CONFIG")]
    pub config: Option<PathBuf>,
}

impl Default for Config {
    /// The defaults, ignoring the environment (what tests start from).
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8000".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            blob_url: None,
            blob_options: Default::default(),
            models_dir: None,
            embedder: Embedder::Fused,
            ffmpeg: None,
            tesseract: None,
            documents_ocr: DocumentsOcr::Ppocr,
            role: Role::All,
            lite: LiteMode::Off,
            lite_api_key: None,
            session_ttl: 900.0,
            service_session_ttl: 157_680_000.0,
            session_extend: true,
            admin_email: None,
            admin_password: None,
            log_format: "text".into(),
            max_files_per_request: 10,
            max_file_bytes: 10 * 1024 * 1024,
            spool_direct_io: true,
            public_url: None,
            workers: 0,
            job_lease: 60.0,
            queue_poll: 0.25,
            analysis_max_attempts: 3,
            analysis_expire_timeout: 900.0,
            analysis_expire_beat: 60.0,
            review_claim_timeout: 900.0,
            single_request_timeout: 120.0,
            quality_threshold: 0.5,
            biometry_threshold: 0.85,
            collection_threshold: 0.85,
            webhook_secret: None,
            webhook_max_attempts: 7,
            webhook_backoff: 10.0,
            webhook_timeout: 30.0,
            webhook_allow_private: false,
            instant_auth: InstantAuth::Token,
            trusted_proxies: None,
            console: Switch::On,
            console_base_path: "/console".into(),
            console_listen: None,
            login_max_failures: 5,
            login_address_max_failures: 20,
            login_backoff: 2.0,
            login_backoff_max: 900.0,
            login_window: 3600.0,
            quota_token_requests: 3000,
            quota_token_expensive: 600,
            quota_company_requests: 12000,
            quota_company_expensive: 1800,
            audit_retention: 7_776_000.0,
            config: None,
        }
    }
}

/// The TOML file: every key optional, none unknown.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    blob_url: Option<String>,
    blob_options: Option<std::collections::BTreeMap<String, String>>,
    models_dir: Option<PathBuf>,
    embedder: Option<Embedder>,
    ffmpeg: Option<PathBuf>,
    tesseract: Option<PathBuf>,
    documents_ocr: Option<DocumentsOcr>,
    role: Option<Role>,
    lite: Option<LiteMode>,
    lite_api_key: Option<String>,
    session_ttl: Option<f64>,
    service_session_ttl: Option<f64>,
    session_extend: Option<bool>,
    admin_email: Option<String>,
    admin_password: Option<String>,
    log_format: Option<String>,
    max_files_per_request: Option<usize>,
    max_file_bytes: Option<u64>,
    spool_direct_io: Option<bool>,
    public_url: Option<String>,
    workers: Option<usize>,
    job_lease: Option<f64>,
    queue_poll: Option<f64>,
    analysis_max_attempts: Option<u32>,
    analysis_expire_timeout: Option<f64>,
    analysis_expire_beat: Option<f64>,
    review_claim_timeout: Option<f64>,
    single_request_timeout: Option<f64>,
    quality_threshold: Option<f64>,
    biometry_threshold: Option<f64>,
    collection_threshold: Option<f64>,
    webhook_secret: Option<String>,
    webhook_max_attempts: Option<u32>,
    webhook_backoff: Option<f64>,
    webhook_timeout: Option<f64>,
    webhook_allow_private: Option<bool>,
    instant_auth: Option<InstantAuth>,
    trusted_proxies: Option<String>,
    console: Option<Switch>,
    console_base_path: Option<String>,
    console_listen: Option<String>,
    login_max_failures: Option<u32>,
    login_address_max_failures: Option<u32>,
    login_backoff: Option<f64>,
    login_backoff_max: Option<f64>,
    login_window: Option<f64>,
    quota_token_requests: Option<u32>,
    quota_token_expensive: Option<u32>,
    quota_company_requests: Option<u32>,
    quota_company_expensive: Option<u32>,
    audit_retention: Option<f64>,
}

impl Config {
    /// Fill every setting that came from a default (not a flag or env var) from the file.
    pub fn merge_file(mut self, matches: &ArgMatches) -> anyhow::Result<Self> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let file = read_file(&path)?;
        let defaulted =
            |id: &str| !matches!(matches.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
        let FileConfig {
            listen,
            data_dir,
            database_url,
            blob_url,
            blob_options,
            models_dir,
            embedder,
            ffmpeg,
            tesseract,
            documents_ocr,
            role,
            lite,
            lite_api_key,
            session_ttl,
            service_session_ttl,
            session_extend,
            admin_email,
            admin_password,
            log_format,
            max_files_per_request,
            max_file_bytes,
            spool_direct_io,
            public_url,
            workers,
            job_lease,
            queue_poll,
            analysis_max_attempts,
            analysis_expire_timeout,
            analysis_expire_beat,
            review_claim_timeout,
            single_request_timeout,
            quality_threshold,
            biometry_threshold,
            collection_threshold,
            webhook_secret,
            webhook_max_attempts,
            webhook_backoff,
            webhook_timeout,
            webhook_allow_private,
            instant_auth,
            trusted_proxies,
            console,
            console_base_path,
            console_listen,
            login_max_failures,
            login_address_max_failures,
            login_backoff,
            login_backoff_max,
            login_window,
            quota_token_requests,
            quota_token_expensive,
            quota_company_requests,
            quota_company_expensive,
            audit_retention,
        } = file;
        macro_rules! take {
            ($field:ident, $value:expr) => {
                if defaulted(stringify!($field)) {
                    if let Some(v) = $value {
                        self.$field = v;
                    }
                }
            };
            (opt $field:ident, $value:expr) => {
                if defaulted(stringify!($field)) && $value.is_some() {
                    self.$field = $value;
                }
            };
        }
        take!(listen, listen);
        take!(data_dir, data_dir);
        take!(opt database_url, database_url);
        take!(opt blob_url, blob_url);
        // File only: no flag or variable to take precedence.
        if let Some(options) = blob_options {
            self.blob_options = options;
        }
        take!(opt models_dir, models_dir);
        take!(embedder, embedder);
        take!(opt ffmpeg, ffmpeg);
        take!(opt tesseract, tesseract);
        take!(documents_ocr, documents_ocr);
        take!(role, role);
        take!(lite, lite);
        take!(opt lite_api_key, lite_api_key);
        take!(session_ttl, session_ttl);
        take!(service_session_ttl, service_session_ttl);
        take!(session_extend, session_extend);
        take!(opt admin_email, admin_email);
        take!(opt admin_password, admin_password);
        take!(log_format, log_format);
        take!(max_files_per_request, max_files_per_request);
        take!(max_file_bytes, max_file_bytes);
        take!(spool_direct_io, spool_direct_io);
        take!(opt public_url, public_url);
        take!(workers, workers);
        take!(job_lease, job_lease);
        take!(queue_poll, queue_poll);
        take!(analysis_max_attempts, analysis_max_attempts);
        take!(analysis_expire_timeout, analysis_expire_timeout);
        take!(analysis_expire_beat, analysis_expire_beat);
        take!(review_claim_timeout, review_claim_timeout);
        take!(single_request_timeout, single_request_timeout);
        take!(quality_threshold, quality_threshold);
        take!(biometry_threshold, biometry_threshold);
        take!(collection_threshold, collection_threshold);
        take!(opt webhook_secret, webhook_secret);
        take!(webhook_max_attempts, webhook_max_attempts);
        take!(webhook_backoff, webhook_backoff);
        take!(webhook_timeout, webhook_timeout);
        take!(webhook_allow_private, webhook_allow_private);
        take!(instant_auth, instant_auth);
        take!(opt trusted_proxies, trusted_proxies);
        take!(console, console);
        take!(console_base_path, console_base_path);
        take!(opt console_listen, console_listen);
        take!(login_max_failures, login_max_failures);
        take!(login_address_max_failures, login_address_max_failures);
        take!(login_backoff, login_backoff);
        take!(login_backoff_max, login_backoff_max);
        take!(login_window, login_window);
        take!(quota_token_requests, quota_token_requests);
        take!(quota_token_expensive, quota_token_expensive);
        take!(quota_company_requests, quota_company_requests);
        take!(quota_company_expensive, quota_company_expensive);
        take!(audit_retention, audit_retention);
        Ok(self)
    }
}

impl Config {
    /// Login throttling, quotas and audit retention as the domain takes them.
    pub fn abuse_settings(&self) -> crate::domain::identity::abuse::AbuseSettings {
        use crate::domain::identity::abuse::{AbuseSettings, QuotaSettings, Rates, ThrottleSettings};
        AbuseSettings {
            throttle: ThrottleSettings {
                max_failures: self.login_max_failures,
                address_max_failures: self.login_address_max_failures,
                backoff: self.login_backoff.max(0.0),
                backoff_max: self.login_backoff_max.max(0.0),
                window: self.login_window.max(0.0),
            },
            quotas: QuotaSettings {
                token: Rates { requests: self.quota_token_requests, expensive: self.quota_token_expensive },
                company: Rates { requests: self.quota_company_requests, expensive: self.quota_company_expensive },
                ..QuotaSettings::default()
            },
            audit_retention: self.audit_retention.max(0.0),
        }
    }

    /// Analysis workers this process runs: none for role `api`, else `--workers` or one per core.
    pub fn worker_count(&self) -> usize {
        match self.role {
            Role::Api | Role::Lite => 0,
            Role::All | Role::Worker => match self.workers {
                0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
                n => n,
            },
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Config,
    }

    fn load(args: &[&str]) -> anyhow::Result<Config> {
        let m = Cli::command().try_get_matches_from(args)?;
        Cli::from_arg_matches(&m)?.config.merge_file(&m)
    }

    #[test]
    fn file_fills_defaults_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emerald.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/emerald\"\nsession_ttl = 60.0\nrole = \"api\"\n[blob_options]\nendpoint = \"http://s3.local:9000\"\n").unwrap();
        let p = path.to_str().unwrap();
        let c = load(&["t", "--config", p, "--listen", "127.0.0.1:1234"]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:1234");
        assert_eq!(c.data_dir, PathBuf::from("/srv/emerald"));
        assert_eq!(c.session_ttl, 60.0);
        assert_eq!(c.role, Role::Api);
        assert_eq!(c.blob_options.get("endpoint").map(String::as_str), Some("http://s3.local:9000"));
        assert!(c.spool_direct_io, "direct I/O is the default");
        std::fs::write(&path, "spool_direct_io = false\n").unwrap();
        assert!(!load(&["t", "--config", p]).unwrap().spool_direct_io);
        assert!(load(&["t", "--config", p, "--spool-direct-io", "true"]).unwrap().spool_direct_io);
        assert_eq!(load(&["t", "--config", p]).unwrap().queue_poll, 0.25);
        std::fs::write(&path, "queue_poll = 5.0\n").unwrap();
        assert_eq!(load(&["t", "--config", p]).unwrap().queue_poll, 5.0);
        assert_eq!(load(&["t", "--config", p, "--queue-poll", "0.5"]).unwrap().queue_poll, 0.5);
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("emerald.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nlisten_port = 3\n").unwrap();
        let err = load(&["t", "--config", path.to_str().unwrap()]).unwrap_err();
        assert!(format!("{err:#}").contains("listen_port"), "{err:#}");
    }
}
