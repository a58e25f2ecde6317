//! The auth audit records and per-company quota overrides, as stored (docs/abuse.md). The
//! rules that write them are in [`crate::domain::identity::abuse`].

use uuid::Uuid;

use super::analysis::Analysis;
use super::collection::{Collection, Person, PersonImage};
use super::media::Media;

/// One auth audit record. Never a password or a token.
#[derive(Debug, Clone)]
pub struct AuthEvent {
    pub event_id: Uuid,
    pub time_created: f64,
    /// `login`, `logout`, `refresh`, `block`, `unblock`, `throttle_clear`, `decision`.
    pub event: &'static str,
    /// `success`, `failure`, `throttled`, `blocked`.
    pub outcome: &'static str,
    pub user_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    /// The login as typed (lower-cased, at most 254 characters).
    pub email: Option<String>,
    /// Who did it when it was another user (a block, a decision).
    pub actor_id: Option<Uuid>,
    pub client_addr: Option<String>,
    /// The object a change concerns (`analysis` for a decision), with its value before and
    /// after and the comment given.
    pub object: Option<ObjectChange>,
}

/// What an audited change did to one object.
#[derive(Debug, Clone, Default)]
pub struct ObjectChange {
    pub object_type: &'static str,
    pub object_id: Uuid,
    pub before: Option<String>,
    pub after: Option<String>,
    pub comment: Option<String>,
}

/// Longest `before` / `after` / `comment` kept (a metadata edit's JSON is cut there).
pub const VALUE_MAX_CHARS: usize = 4096;

impl ObjectChange {
    pub fn of(object_type: &'static str, object_id: Uuid) -> Self {
        ObjectChange { object_type, object_id, before: None, after: None, comment: None }
    }

    pub fn before(mut self, value: impl Into<String>) -> Self {
        self.before = Some(clip(value.into()));
        self
    }

    pub fn after(mut self, value: impl Into<String>) -> Self {
        self.after = Some(clip(value.into()));
        self
    }

    pub fn comment(mut self, value: impl Into<String>) -> Self {
        self.comment = Some(clip(value.into()));
        self
    }
}

/// A new media, as its creation is audited.
pub fn media_created(m: &Media) -> ObjectChange {
    ObjectChange::of("media", m.media_id)
        .after(m.kind.as_str())
        .comment(format!("folder {}: {}", m.folder_id, m.original_name))
}

/// A requested analysis, as its creation is audited.
pub fn analysis_created(a: &Analysis) -> ObjectChange {
    ObjectChange::of("analysis", a.analyse_id).after(a.kind.as_str()).comment(format!("folder {}", a.folder_id))
}

/// A collection, as its creation and deletion are audited: its alias in the comment.
pub fn collection_change(c: &Collection) -> ObjectChange {
    ObjectChange::of("collection", c.collection_id).comment(&c.alias)
}

/// A person of a collection with `photos` photos, as its creation and deletion are audited.
pub fn person_change(p: &Person, photos: usize) -> ObjectChange {
    ObjectChange::of("person", p.person_id).comment(format!("collection {}: {photos} photos", p.collection_id))
}

/// A person's photo, as its enrolment and deletion are audited.
pub fn person_image_change(i: &PersonImage) -> ObjectChange {
    ObjectChange::of("person_image", i.person_image_id)
        .comment(format!("person {} of collection {}: {}", i.person_id, i.collection_id, i.original_name))
}

fn clip(mut s: String) -> String {
    if let Some((at, _)) = s.char_indices().nth(VALUE_MAX_CHARS) {
        s.truncate(at);
        s.push('…');
    }
    s
}

/// A stored audit record as listed.
#[derive(Debug, Clone)]
pub struct StoredAuthEvent {
    pub event_id: Uuid,
    pub time_created: f64,
    pub event: String,
    pub outcome: String,
    pub user_id: Option<Uuid>,
    pub company_id: Option<Uuid>,
    pub email: Option<String>,
    pub actor_id: Option<Uuid>,
    pub client_addr: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<Uuid>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub comment: Option<String>,
}

/// A company's own request rates (None: the global ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompanyQuota {
    pub requests_per_minute: Option<u32>,
    pub expensive_per_minute: Option<u32>,
}
