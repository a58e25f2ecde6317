//! Users (spec §7.2) and who may manage whom (spec §3.2 [I]).

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::identity::credentials::{hash_password, Email, Password};
use crate::domain::model::account::{AnalysisPermissions, User};
use crate::domain::model::audit::ObjectChange;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::{MetaChange, MetaData};
use crate::domain::model::role::UserType;
use crate::domain::store::{ListParams, Page};
use crate::domain::time::now;
use crate::domain::Domain;

pub const NAME_MAX_CHARS: usize = 256;

pub fn check_name(key: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.chars().count() > NAME_MAX_CHARS {
        return Err(Error::invalid_value(
            format!("{key} is longer than {NAME_MAX_CHARS} characters"),
            serde_json::json!({ "key_path": key }),
        ));
    }
    Ok(s.to_owned())
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub password: Password,
    pub user_type: UserType,
    pub company_id: Option<Uuid>,
    pub first_name: String,
    pub last_name: String,
    pub middle_name: Option<String>,
    pub is_service: bool,
    pub can_start: AnalysisPermissions,
    pub meta_data: MetaData,
}

/// PATCH of a user: `None` keeps a field as it is; absent never means delete.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub password: Option<Password>,
    /// The caller's current password (GAP-12): checked before anything changes; only on the
    /// caller's own account.
    pub old_password: Option<Password>,
    pub user_type: Option<UserType>,
    pub company_id: Option<Uuid>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Some(None)` clears the middle name.
    pub middle_name: Option<Option<String>>,
    pub is_service: Option<bool>,
    /// False blocks the user, true unblocks it.
    pub is_active: Option<bool>,
    pub can_start_biometry: Option<bool>,
    pub can_start_quality: Option<bool>,
    pub can_start_collection: Option<bool>,
    pub can_start_documents: Option<bool>,
    /// Merged into the stored metadata, as `PATCH …/meta_data` does.
    pub meta_data: Option<MetaData>,
}

impl UserPatch {
    /// Fields only an administrator may change (a user editing itself may not).
    fn touches_privileges(&self) -> bool {
        self.user_type.is_some()
            || self.company_id.is_some()
            || self.is_service.is_some()
            || self.is_active.is_some()
            || self.can_start_biometry.is_some()
            || self.can_start_quality.is_some()
            || self.can_start_collection.is_some()
            || self.can_start_documents.is_some()
    }
}

/// What a caller may do with one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UserAccess {
    Invisible,
    Read,
    /// Edit own profile: password, names, e-mail, metadata.
    EditSelf,
    Manage,
}

fn access_to_user(caller: &Caller, user: &User) -> UserAccess {
    let is_self = caller.user_id == user.user_id;
    let same_company = caller.company_id.is_some() && caller.company_id == user.company_id;
    match caller.user_type {
        UserType::Admin => UserAccess::Manage,
        UserType::Operator if is_self => UserAccess::EditSelf,
        UserType::Operator => UserAccess::Read,
        UserType::ClientAdmin if same_company && !user.user_type.is_global() => UserAccess::Manage,
        UserType::ClientOperator if is_self => UserAccess::EditSelf,
        UserType::ClientOperator if same_company => UserAccess::Read,
        UserType::Client | UserType::ClientService if is_self => UserAccess::EditSelf,
        UserType::ClientAdmin | UserType::ClientOperator | UserType::Client | UserType::ClientService => {
            UserAccess::Invisible
        }
    }
}

/// Whether the caller may change everything of this user (role, company, block, delete), as
/// `PATCH`/`DELETE /api/users/{id}` allow it; a user editing itself is not managing.
pub fn manages_user(caller: &Caller, user: &User) -> bool {
    access_to_user(caller, user) == UserAccess::Manage
}

/// Whether the caller may change this user's meta_data (`…/users/{id}/meta_data/`): who
/// manages the user, and every user its own.
pub fn edits_user_meta(caller: &Caller, user: &User) -> bool {
    matches!(access_to_user(caller, user), UserAccess::Manage | UserAccess::EditSelf)
}

/// Whether the caller may create users at all (ADMIN; CLIENT ADMIN in its company).
pub fn creates_users(caller: &Caller) -> bool {
    matches!(caller.user_type, UserType::Admin | UserType::ClientAdmin)
}

impl Domain {
    /// `POST /api/users/`.
    pub async fn create_user(&self, caller: &Caller, new: NewUser) -> Result<User> {
        let company_id = match caller.user_type {
            UserType::Admin => new.company_id,
            UserType::ClientAdmin => {
                if new.user_type.is_global() {
                    return Err(Error::Forbidden(Some(format!(
                        "A CLIENT ADMIN cannot create {} users",
                        new.user_type
                    ))));
                }
                match new.company_id {
                    None => caller.company_id,
                    Some(c) if Some(c) == caller.company_id => Some(c),
                    Some(_) => return Err(Error::not_exist("Company")),
                }
            }
            UserType::Operator | UserType::Client | UserType::ClientOperator | UserType::ClientService => {
                return Err(Error::Forbidden(None))
            }
        };
        // ADMIN and OPERATOR never belong to a company (spec §3.1): a company given is not saved.
        let company_id = if new.user_type.is_global() {
            None
        } else {
            let Some(c) = company_id else {
                return Err(Error::missing_field("company_id"));
            };
            if self.store.get_company(c).await?.is_none() {
                return Err(Error::not_exist("Company"));
            }
            Some(c)
        };
        let t = now();
        let user = User {
            user_id: Uuid::new_v4(),
            company_id,
            email: new.email.as_str().to_owned(),
            user_type: new.user_type,
            first_name: new.first_name,
            last_name: new.last_name,
            middle_name: new.middle_name,
            is_service: new.is_service,
            is_active: true,
            can_start: new.can_start,
            meta_data: new.meta_data,
            technical_meta_data: MetaData::default(),
            time_created: t,
            time_updated: t,
        };
        let hash = hash_password(new.password.expose().to_owned()).await?;
        let change = ObjectChange::of("user", user.user_id).after(user.user_type.as_str()).comment(&user.email);
        let events = self.object_events_of(Some(caller), "create", "success", user.company_id, vec![change]);
        self.store.insert_user(&user, &hash, &events).await?;
        self.audit_committed(&events);
        Ok(user)
    }

    async fn visible_user(&self, caller: &Caller, id: Uuid) -> Result<(User, UserAccess)> {
        let user = self.store.get_user(id).await?.ok_or_else(|| Error::not_exist("User"))?;
        match access_to_user(caller, &user) {
            UserAccess::Invisible => Err(Error::not_exist("User")),
            access => Ok((user, access)),
        }
    }

    /// `GET /api/users/{id}`.
    pub async fn get_user(&self, caller: &Caller, id: Uuid) -> Result<User> {
        Ok(self.visible_user(caller, id).await?.0)
    }

    /// `GET /api/users/`.
    pub async fn list_users(
        &self,
        caller: &Caller,
        search_text: Option<&str>,
        params: &ListParams,
    ) -> Result<Page<User>> {
        let only_self = match caller.user_type {
            UserType::Client | UserType::ClientService => Some(caller.user_id),
            UserType::Admin | UserType::Operator | UserType::ClientAdmin | UserType::ClientOperator => None,
        };
        self.store.list_users(caller.scope(), only_self, search_text, params).await
    }

    /// `PATCH /api/users/{id}`.
    /// Audited in the change's transaction: `event=update`, `object_type=user` when anything
    /// but `is_active` changed ([`user_change`]); `block` / `unblock` when `is_active` did.
    pub async fn update_user(&self, caller: &Caller, id: Uuid, patch: UserPatch) -> Result<User> {
        let (mut user, access) = self.visible_user(caller, id).await?;
        let was = user.clone();
        match access {
            UserAccess::Manage => {}
            UserAccess::EditSelf if !patch.touches_privileges() => {}
            UserAccess::EditSelf | UserAccess::Read | UserAccess::Invisible => return Err(Error::Forbidden(None)),
        }
        if let Some(current) = &patch.old_password {
            if id != caller.user_id {
                return Err(Error::invalid_value(
                    "old_password is the caller's own password: it goes with a change of your own account",
                    serde_json::json!({ "key_path": "old_password" }),
                ));
            }
            self.check_own_password(&user, current.expose()).await?;
        }
        if let Some(t) = patch.user_type {
            // As with blocking: nobody changes their own role (the last ADMIN would lock
            // everyone out by demoting itself; found by the fuzz pass, issue #22).
            if id == caller.user_id && t != user.user_type {
                return Err(Error::invalid_value(
                    "You cannot change your own role",
                    serde_json::json!({ "key_path": "user_type" }),
                ));
            }
            if caller.user_type != UserType::Admin && t.is_global() {
                return Err(Error::Forbidden(Some(format!("A CLIENT ADMIN cannot grant {t}"))));
            }
            user.user_type = t;
        }
        if let Some(c) = patch.company_id {
            if caller.user_type != UserType::Admin && Some(c) != caller.company_id {
                return Err(Error::not_exist("Company"));
            }
            if self.store.get_company(c).await?.is_none() {
                return Err(Error::not_exist("Company"));
            }
            user.company_id = Some(c);
        }
        if user.user_type.is_global() {
            user.company_id = None;
        } else if user.company_id.is_none() {
            return Err(Error::missing_field("company_id"));
        }
        if let Some(e) = patch.email {
            user.email = e.as_str().to_owned();
        }
        if let Some(v) = patch.first_name {
            user.first_name = v;
        }
        if let Some(v) = patch.last_name {
            user.last_name = v;
        }
        if let Some(v) = patch.middle_name {
            user.middle_name = v;
        }
        if let Some(v) = patch.is_service {
            user.is_service = v;
        }
        let block_change = match patch.is_active {
            Some(v) if v != user.is_active => {
                if id == caller.user_id {
                    return Err(Error::invalid_value(
                        "You cannot block your own account",
                        serde_json::json!({ "key_path": "is_active" }),
                    ));
                }
                user.is_active = v;
                Some(v)
            }
            _ => None,
        };
        let flags = &mut user.can_start;
        for (slot, value) in [
            (&mut flags.biometry, patch.can_start_biometry),
            (&mut flags.quality, patch.can_start_quality),
            (&mut flags.collection, patch.can_start_collection),
            (&mut flags.documents, patch.can_start_documents),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        if let Some(m) = patch.meta_data {
            user.meta_data = MetaChange::Merge(m).apply(std::mem::take(&mut user.meta_data))?;
        }
        let hash = match patch.password {
            Some(p) => Some(hash_password(p.expose().to_owned()).await?),
            None => None,
        };
        user.time_updated = now();
        let mut events = Vec::new();
        if let Some(change) = user_change(&was, &user, hash.is_some()) {
            // The company's CLIENT ADMIN reads it; a user moved between companies shows in both.
            if was.company_id.is_some() && was.company_id != user.company_id {
                events = self.object_events_of(Some(caller), "update", "success", was.company_id, vec![change.clone()]);
            }
            events.extend(self.object_events_of(Some(caller), "update", "success", user.company_id, vec![change]));
        }
        if let Some(active) = block_change {
            events.push(self.user_block_event(caller, &user, active));
        }
        let Some(user) = self.store.update_user(&was, user, hash.as_deref(), &events).await? else {
            return Err(Error::not_exist("User"));
        };
        self.audit_committed(&events);
        Ok(user)
    }

    /// `DELETE /api/users/{id}`.
    pub async fn delete_user(&self, caller: &Caller, id: Uuid) -> Result<()> {
        let (user, access) = self.visible_user(caller, id).await?;
        if access != UserAccess::Manage {
            return Err(Error::Forbidden(None));
        }
        if id == caller.user_id {
            return Err(Error::invalid_value(
                "You cannot delete your own account",
                serde_json::json!({ "key_path": "user_id" }),
            ));
        }
        let change = ObjectChange::of("user", id).before(user.user_type.as_str()).comment(&user.email);
        let events = self.object_events_of(Some(caller), "delete", "success", user.company_id, vec![change]);
        if !self.store.delete_user(id, &events).await? {
            return Err(Error::not_exist("User"));
        }
        self.audit_committed(&events);
        Ok(())
    }

    /// Metadata access for `…/users/{id}/meta_data`: read when visible, write when editable.
    pub(in crate::domain) async fn user_meta_access(
        &self,
        caller: &Caller,
        id: Uuid,
        write: bool,
    ) -> Result<(MetaData, Option<Uuid>)> {
        let (user, _) = self.visible_user(caller, id).await?;
        if write && !edits_user_meta(caller, &user) {
            return Err(Error::Forbidden(None));
        }
        Ok((user.meta_data, user.company_id))
    }

    /// First start: create an ADMIN when there is no user at all. Returns the user if created.
    pub async fn ensure_first_admin(&self, email: Email, password: Password) -> Result<Option<User>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        self.create_admin(email, password).await.map(Some)
    }

    /// `emerald admin create`: an ADMIN, whatever else exists.
    pub async fn create_admin(&self, email: Email, password: Password) -> Result<User> {
        let t = now();
        let user = User {
            user_id: Uuid::new_v4(),
            company_id: None,
            email: email.as_str().to_owned(),
            user_type: UserType::Admin,
            first_name: "Admin".into(),
            last_name: String::new(),
            middle_name: None,
            is_service: false,
            is_active: true,
            can_start: AnalysisPermissions::default(),
            meta_data: MetaData::default(),
            technical_meta_data: MetaData::default(),
            time_created: t,
            time_updated: t,
        };
        let hash = hash_password(password.expose().to_owned()).await?;
        self.store.insert_user(&user, &hash, &[]).await?;
        Ok(user)
    }
}

/// A user's audited fields, as the API names them (never the password; `is_active` has its own
/// `block` / `unblock` events).
fn user_fields(u: &User) -> [(&'static str, String); 12] {
    let flag = |b: bool| b.to_string();
    [
        ("email", u.email.clone()),
        ("user_type", u.user_type.as_str().to_owned()),
        ("company_id", u.company_id.map(|c| c.to_string()).unwrap_or_default()),
        ("first_name", u.first_name.clone()),
        ("last_name", u.last_name.clone()),
        ("middle_name", u.middle_name.clone().unwrap_or_default()),
        ("is_service", flag(u.is_service)),
        ("can_start_analysis_biometry", flag(u.can_start.biometry)),
        ("can_start_analysis_quality", flag(u.can_start.quality)),
        ("can_start_analysis_collection", flag(u.can_start.collection)),
        ("can_start_analysis_documents", flag(u.can_start.documents)),
        ("meta_data", u.meta_data.to_value().to_string()),
    ]
}

/// What an edit did to a user, as audited: `before` / `after` list the changed fields as
/// `key=value`, separated by `; `; the comment is the email, with `; password changed` when the
/// password was (its value is never recorded). None when nothing audited changed.
pub(crate) fn user_change(was: &User, now: &User, password_changed: bool) -> Option<ObjectChange> {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for ((key, old), (_, new)) in user_fields(was).into_iter().zip(user_fields(now)) {
        if old != new {
            before.push(format!("{key}={old}"));
            after.push(format!("{key}={new}"));
        }
    }
    if before.is_empty() && !password_changed {
        return None;
    }
    let mut change = ObjectChange::of("user", now.user_id);
    if !before.is_empty() {
        change = change.before(before.join("; ")).after(after.join("; "));
    }
    let comment = if password_changed { format!("{}; password changed", now.email) } else { now.email.clone() };
    Some(change.comment(comment))
}
