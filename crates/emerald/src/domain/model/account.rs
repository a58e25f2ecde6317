//! The objects of the foundation: companies, users and sessions (spec §4.2, §4.3, §2).

use uuid::Uuid;

use crate::domain::model::metadata::MetaData;
use crate::domain::model::role::UserType;

#[derive(Debug, Clone)]
pub struct Company {
    pub company_id: Uuid,
    pub name: String,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

/// `mine` if an edit changed the field (`was` → `mine`), else what is stored now.
fn pick<T: PartialEq>(was: &T, mine: T, current: T) -> T {
    if *was != mine {
        mine
    } else {
        current
    }
}

impl Company {
    /// This company as an edit left it (`was` → `self`), rebased on `current`, the row as
    /// stored when the edit's transaction holds it: the fields the edit changed take its
    /// values, the others (and the meta_data keys it did not touch) keep `current`'s — so
    /// two concurrent edits of different fields both stand.
    pub fn rebase(self, was: &Company, current: Company) -> Company {
        Company {
            company_id: current.company_id,
            name: pick(&was.name, self.name, current.name),
            meta_data: MetaData::rebase(&was.meta_data, &self.meta_data, current.meta_data),
            technical_meta_data: current.technical_meta_data,
            time_created: current.time_created,
            time_updated: self.time_updated,
        }
    }
}

/// Per-analysis-type permission flags of a user (spec §3.1), all enabled by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnalysisPermissions {
    pub biometry: bool,
    pub quality: bool,
    pub collection: bool,
    pub documents: bool,
}

impl Default for AnalysisPermissions {
    fn default() -> Self {
        AnalysisPermissions { biometry: true, quality: true, collection: true, documents: true }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub user_id: Uuid,
    pub company_id: Option<Uuid>,
    pub email: String,
    pub user_type: UserType,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub is_service: bool,
    /// False: blocked — its logins and tokens answer code 211.
    pub is_active: bool,
    pub can_start: AnalysisPermissions,
    pub meta_data: MetaData,
    pub technical_meta_data: MetaData,
    pub time_created: f64,
    pub time_updated: f64,
}

impl User {
    /// This user as an edit left it (`was` → `self`), rebased on `current`, the row as stored
    /// when the edit's transaction holds it: the fields the edit changed take its values, the
    /// others keep `current`'s — so a rename and a block sent at the same moment both stand (a
    /// whole-row write of what the rename had read would unblock the user). A global role
    /// keeps no company.
    pub fn rebase(self, was: &User, current: User) -> User {
        let (w, c) = (&was.can_start, current.can_start);
        let can_start = AnalysisPermissions {
            biometry: pick(&w.biometry, self.can_start.biometry, c.biometry),
            quality: pick(&w.quality, self.can_start.quality, c.quality),
            collection: pick(&w.collection, self.can_start.collection, c.collection),
            documents: pick(&w.documents, self.can_start.documents, c.documents),
        };
        let user_type = pick(&was.user_type, self.user_type, current.user_type);
        let company_id = pick(&was.company_id, self.company_id, current.company_id);
        User {
            user_id: current.user_id,
            company_id: if user_type.is_global() { None } else { company_id },
            email: pick(&was.email, self.email, current.email),
            user_type,
            first_name: pick(&was.first_name, self.first_name, current.first_name),
            last_name: pick(&was.last_name, self.last_name, current.last_name),
            middle_name: pick(&was.middle_name, self.middle_name, current.middle_name),
            is_service: pick(&was.is_service, self.is_service, current.is_service),
            is_active: pick(&was.is_active, self.is_active, current.is_active),
            can_start,
            meta_data: MetaData::rebase(&was.meta_data, &self.meta_data, current.meta_data),
            technical_meta_data: current.technical_meta_data,
            time_created: current.time_created,
            time_updated: self.time_updated,
        }
    }

    /// Service accounts get the long-lived token (spec §2.3, §2.4).
    pub fn is_service_account(&self) -> bool {
        self.is_service || self.user_type == UserType::ClientService
    }
}

/// A login session: a token pair, stored only as hashes.
#[derive(Debug, Clone)]
pub struct Session {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub access_hash: String,
    pub expire_hash: String,
    pub expires_at: f64,
    /// The session this one renewed; deleted when this one is first used (spec §2.3).
    pub parent_session_id: Option<Uuid>,
    pub time_created: f64,
}

/// What the auth check needs, in one read: the session and its user's role and company.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session: Session,
    pub user_type: UserType,
    pub company_id: Option<Uuid>,
    pub is_service_account: bool,
    /// False: the user is blocked.
    pub is_active: bool,
}
