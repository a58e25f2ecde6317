//! Review claims (the console spec's GAP-10): an operator who opens a case awaiting a decision
//! holds it for a while, so that another operator's "next case" passes it by. Claims are
//! advisory: they steer the queue; the decision itself stays guarded by its own check (of two
//! decisions on one case the second is refused).

use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::folders::service::access;
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

fn held(claim: &FolderClaim) -> Error {
    Error::Conflict {
        message: "This case is held by another operator".into(),
        details: serde_json::json!({
            "folder_id": claim.folder_id, "user_id": claim.user_id, "expires_at": claim.expires_at,
        }),
    }
}

impl Domain {
    /// `POST /api/folders/{id}/claim`: take (or extend) the claim on a visible folder; code 4
    /// with HTTP 409 while another operator holds it.
    pub async fn claim_folder(&self, caller: &Caller, folder_id: Uuid) -> Result<FolderClaim> {
        self.visible_folder(caller, folder_id).await?;
        decides(caller)?;
        let t = now();
        let mine =
            FolderClaim { folder_id, user_id: caller.user_id, time_created: t, expires_at: t + self.review_claim_secs };
        let standing = self.store.claim_folder(&mine, t).await?;
        if standing.user_id != caller.user_id {
            return Err(held(&standing));
        }
        Ok(standing)
    }

    /// `DELETE /api/folders/{id}/claim`: release the caller's claim (nothing to release is
    /// fine); 409 while another operator holds it.
    pub async fn release_folder(&self, caller: &Caller, folder_id: Uuid) -> Result<()> {
        self.visible_folder(caller, folder_id).await?;
        decides(caller)?;
        let t = now();
        if self.store.release_folder(folder_id, caller.user_id, t).await? {
            return Ok(());
        }
        let standing = self.store.folder_claims(&[folder_id], t).await?;
        Err(standing.first().map(held).unwrap_or_else(|| Error::not_exist("Folder")))
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
