//! Review claims (the console spec's GAP-10): an operator who opens a case awaiting a decision
//! holds it for a while, so that another operator's "next case" passes it by, and so that
//! another operator's decision on it is refused (code 4, HTTP 409) until the claim expires or
//! is released. The rule: the claimer, and anyone on an unclaimed (or expired) case, decides as
//! before; a deciding role (OPERATOR, CLIENT OPERATOR: the roles that may send `force` to
//! overrule a decision) may send `force: true` to decide a case another operator holds.

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::folders::service::{access, visibility};
use crate::domain::model::audit::ObjectChange;
use crate::domain::model::caller::Caller;
use crate::domain::model::role::UserType;
use crate::domain::store::FolderClaim;
use crate::domain::time::now;
use crate::domain::Domain;

/// How long a claim holds by default (`EMERALD_REVIEW_CLAIM_TIMEOUT`), seconds.
pub const CLAIM_SECS_DEFAULT: f64 = 900.0;

/// The roles that decide, and so claim (as `PATCH /api/analyses/{id}`).
fn decides(caller: &Caller) -> Result<()> {
    match caller.user_type {
        UserType::Operator | UserType::ClientOperator => Ok(()),
        _ => Err(Error::Forbidden(Some("only an OPERATOR or CLIENT OPERATOR claims cases for review".into()))),
    }
}

pub(in crate::domain) fn held(claim: &FolderClaim) -> Error {
    Error::Conflict {
        message: "This case is held by another operator (send \"force\": true to decide it anyway)".into(),
        details: serde_json::json!({
            "folder_id": claim.folder_id, "user_id": claim.user_id, "expires_at": claim.expires_at,
        }),
    }
}

impl Domain {
    /// `POST /api/folders/{id}/claim`: take (or extend) the claim on a visible folder; code 4
    /// with HTTP 409 while another operator holds it.
    /// Taking a claim is audited (`event=claim`, `object_type=folder`, `after` the expiry as
    /// UNIX seconds) in its transaction, under the folder's company; extending one's own
    /// standing claim (each look at the case in the console) records nothing.
    pub async fn claim_folder(&self, caller: &Caller, folder_id: Uuid) -> Result<FolderClaim> {
        let (folder, _) = self.visible_folder(caller, folder_id).await?;
        decides(caller)?;
        let t = now();
        let mine =
            FolderClaim { folder_id, user_id: caller.user_id, time_created: t, expires_at: t + self.review_claim_secs };
        let change = ObjectChange::of("folder", folder_id).after(mine.expires_at.to_string()).comment("review claim");
        let events = self.object_events_of(Some(caller), "claim", "success", folder.company_id, vec![change]);
        let standing = self.store.claim_folder(&mine, t, &events).await?;
        if standing.user_id != caller.user_id {
            return Err(held(&standing));
        }
        if standing.time_created == mine.time_created {
            self.audit_committed(&events);
        }
        Ok(standing)
    }

    /// `DELETE /api/folders/{id}/claim`: release the caller's claim (nothing to release is
    /// fine); 409 while another operator holds it. Releasing a standing claim is audited
    /// (`event=release`, `object_type=folder`) in its transaction; nothing to release records
    /// nothing.
    pub async fn release_folder(&self, caller: &Caller, folder_id: Uuid) -> Result<()> {
        let (folder, _) = self.visible_folder(caller, folder_id).await?;
        decides(caller)?;
        let t = now();
        let change = ObjectChange::of("folder", folder_id).comment("review claim");
        let events = self.object_events_of(Some(caller), "release", "success", folder.company_id, vec![change]);
        let (free, released) = self.store.release_folder(folder_id, caller.user_id, t, &events).await?;
        if released {
            self.audit_committed(&events);
        }
        if free {
            return Ok(());
        }
        let standing = self.store.folder_claims(&[folder_id], t).await?;
        Err(standing.first().map(held).unwrap_or_else(|| Error::not_exist("Folder")))
    }

    /// The review queue's "next case": the oldest folder awaiting a decision that the caller
    /// sees and nobody else holds (over the whole queue, not a page of it), other than `skip`
    /// (the case the operator leaves).
    pub async fn next_case(&self, caller: &Caller, skip: Option<Uuid>) -> Result<Option<Uuid>> {
        self.store.next_unclaimed(visibility(caller), caller.user_id, now(), skip).await
    }

    /// Another user's unexpired claim on this folder, if any.
    pub(in crate::domain) async fn held_by_other(
        &self,
        caller: &Caller,
        folder_id: Uuid,
    ) -> Result<Option<FolderClaim>> {
        let claims = self.store.folder_claims(&[folder_id], now()).await?;
        Ok(claims.into_iter().find(|c| c.user_id != caller.user_id))
    }

    /// The unexpired claims among these folders, as far as the caller sees them.
    pub async fn folder_claims(&self, caller: &Caller, folder_ids: &[Uuid]) -> Result<Vec<FolderClaim>> {
        let claims = self.store.folder_claims(folder_ids, now()).await?;
        let mut out = Vec::with_capacity(claims.len());
        for c in claims {
            if let Some(f) = self.store.get_folder(c.folder_id).await? {
                if access(caller, f.company_id, f.user_id) != super::service::Access::Invisible {
                    out.push(c);
                }
            }
        }
        Ok(out)
    }
}
