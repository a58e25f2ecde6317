//! The `…/meta_data` endpoints of every object: one implementation, identical semantics
//! (spec §9). Each object kind contributes only its access rule.

use uuid::Uuid;

use super::caller::Caller;
use super::error::{Error, Result};
use super::metadata::{MetaChange, MetaData, ObjectKind};
use super::time::now;
use super::Domain;

impl Domain {
    async fn meta_access(&self, caller: &Caller, kind: ObjectKind, id: Uuid, write: bool) -> Result<MetaData> {
        match kind {
            ObjectKind::Company => self.company_meta_access(caller, id, write).await,
            ObjectKind::User => self.user_meta_access(caller, id, write).await,
            ObjectKind::Folder => self.folder_meta_access(caller, id, write).await,
            ObjectKind::Media => self.media_meta_access(caller, id, write).await,
            ObjectKind::Analysis => self.analysis_meta_access(caller, id, write).await,
        }
    }

    /// `GET …/meta_data`.
    pub async fn get_meta(&self, caller: &Caller, kind: ObjectKind, id: Uuid) -> Result<MetaData> {
        self.meta_access(caller, kind, id, false).await
    }

    /// `POST`, `PATCH` and `DELETE …/meta_data`.
    pub async fn change_meta(&self, caller: &Caller, kind: ObjectKind, id: Uuid, change: MetaChange) -> Result<MetaData> {
        let current = self.meta_access(caller, kind, id, true).await?;
        let next = change.apply(current)?;
        if !self.store.set_meta(kind, id, &next, now()).await? {
            return Err(Error::not_exist(kind.display_name()));
        }
        Ok(next)
    }
}
