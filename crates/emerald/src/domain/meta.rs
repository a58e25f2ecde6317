//! The `…/meta_data` endpoints of every object: one implementation, identical semantics
//! (spec §9). Each object kind contributes only its access rule.

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::model::audit::ObjectChange;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::{MetaChange, MetaData, ObjectKind};
use crate::domain::time::now;
use crate::domain::Domain;

/// The object whose metadata is addressed.
#[derive(Debug, Clone, Copy)]
pub struct MetaTarget {
    pub kind: ObjectKind,
    pub id: Uuid,
    /// The enclosing object named in the path, for nested objects (a person's collection).
    pub parent: Option<Uuid>,
}

impl Domain {
    /// The object's metadata and its company (the one an edit's audit event belongs to).
    async fn meta_access(&self, caller: &Caller, target: MetaTarget, write: bool) -> Result<(MetaData, Option<Uuid>)> {
        let MetaTarget { kind, id, parent } = target;
        match kind {
            ObjectKind::Company => self.company_meta_access(caller, id, write).await,
            ObjectKind::User => self.user_meta_access(caller, id, write).await,
            ObjectKind::Folder => self.folder_meta_access(caller, id, write).await,
            ObjectKind::Media => self.media_meta_access(caller, id, write).await,
            ObjectKind::Analysis => self.analysis_meta_access(caller, id, write).await,
            ObjectKind::Collection => self.collection_meta_access(caller, id, write).await,
            ObjectKind::Person => self.person_meta_access(caller, parent, id, write).await,
        }
    }

    /// `GET …/meta_data`.
    pub async fn get_meta(&self, caller: &Caller, target: MetaTarget) -> Result<MetaData> {
        Ok(self.meta_access(caller, target, false).await?.0)
    }

    /// `POST`, `PATCH` and `DELETE …/meta_data`. The change is applied by the store to what
    /// is stored when its transaction holds the row, so concurrent edits of different keys
    /// all land (a PATCH is a merge, not a replacement of what the caller last read).
    pub async fn change_meta(&self, caller: &Caller, target: MetaTarget, change: MetaChange) -> Result<MetaData> {
        let (_, company_id) = self.meta_access(caller, target, true).await?;
        let edit = Box::new(move |current: MetaData| {
            let before = current.to_value().to_string();
            let next = change.apply(current)?;
            // The object's company: the one whose CLIENT ADMIN reads the event (an ADMIN editing
            // a company's folder shows in that company's audit). Recorded in the edit's
            // transaction.
            let audited = ObjectChange::of(target.kind.as_str(), target.id)
                .before(before)
                .after(next.to_value().to_string())
                .comment("meta_data");
            let events = self.object_events_of(Some(caller), "update", "success", company_id, vec![audited]);
            Ok((next, events))
        });
        let Some((next, events)) = self.store.update_meta(target.kind, target.id, now(), edit).await? else {
            return Err(Error::not_exist(target.kind.display_name()));
        };
        self.audit_committed(&events);
        Ok(next)
    }
}
