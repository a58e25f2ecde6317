//! Webhooks (spec §11.2 [I]): where a folder's result goes when it finishes, how the body is
//! signed, and how failed deliveries back off. Delivering is the job of `crate::jobs`.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::domain::error::{Error, Result};
use crate::domain::folders::service::Access;
use crate::domain::model::audit::ObjectChange;
use crate::domain::model::caller::Caller;
use crate::domain::model::metadata::MetaData;
use crate::domain::store::{DeliveryAttempt, DeliveryPolicy, WebhookAttempt, WebhookDelivery};
use crate::domain::time::now;
use crate::domain::Domain;

/// The folder's `technical_meta_data` key holding its webhook URL (spec §11.2 [I]).
pub const ENDPOINT_KEY: &str = "resolution_endpoint";
/// Longest accepted URL.
pub const ENDPOINT_MAX_CHARS: usize = 2048;
/// Header carrying the hex HMAC-SHA256 of the body under the configured secret.
pub const SIGNATURE_HEADER: &str = "X-Oz-Signature";
/// Header carrying the delivery id (the same on every retry: receivers de-duplicate on it).
pub const DELIVERY_HEADER: &str = "X-Emerald-Delivery";
/// Longest wait between two attempts, seconds.
pub const BACKOFF_MAX_SECS: f64 = 3600.0;

/// A `resolution_endpoint` must be an absolute http(s) URL.
pub fn check_endpoint(url: &str) -> Result<()> {
    let bad = |why: &str| {
        Error::invalid_value(
            format!("Invalid resolution_endpoint: {why}"),
            serde_json::json!({ "key_path": ENDPOINT_KEY }),
        )
    };
    if url.chars().count() > ENDPOINT_MAX_CHARS {
        return Err(bad("too long"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("expected an http:// or https:// URL"));
    }
    Ok(())
}

/// The webhook URL stored on a folder.
pub fn endpoint_of(technical_meta_data: &MetaData) -> Option<String> {
    technical_meta_data.as_map().get(ENDPOINT_KEY).and_then(|v| v.as_str()).map(str::to_owned)
}

/// Hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Seconds to wait after failed attempt number `attempt` (1-based): `base · 2^(attempt-1)`,
/// capped.
pub fn backoff(base_secs: f64, attempt: u32) -> f64 {
    (base_secs * 2f64.powi(attempt.saturating_sub(1).min(30) as i32)).min(BACKOFF_MAX_SECS)
}

/// A delivery with every attempt made so far (GAP-5).
#[derive(Debug, Clone)]
pub struct DeliveryHistory {
    pub delivery: WebhookDelivery,
    /// Oldest first.
    pub attempts: Vec<WebhookAttempt>,
}

impl Domain {
    /// `GET /api/folders/{id}/webhook_deliveries` (GAP-5): the folder's deliveries, oldest
    /// first, each with its attempts; for whoever sees the folder.
    pub async fn webhook_deliveries(&self, caller: &Caller, folder_id: Uuid) -> Result<Vec<DeliveryHistory>> {
        self.visible_folder(caller, folder_id).await?;
        // Deliveries first: an attempt recorded in between then shows beside a status that has
        // not caught up, never a final status without its attempt.
        let deliveries = self.store.deliveries_of(folder_id).await?;
        let mut attempts = self.store.attempts_of(folder_id).await?;
        Ok(deliveries
            .into_iter()
            .map(|delivery| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    attempts.drain(..).partition(|a| a.delivery_id == delivery.delivery_id);
                attempts = rest;
                DeliveryHistory { delivery, attempts: mine }
            })
            .collect())
    }

    /// `POST /api/folders/{id}/webhook_deliveries/redeliver` (GAP-5): send the folder as it is
    /// now to its `resolution_endpoint` again, as a new delivery with its own retries; whoever
    /// may request analyses on the folder (ADMIN, CLIENT ADMIN in its company, its CLIENT or
    /// CLIENT SERVICE owner). Code 4 when the folder has no `resolution_endpoint`.
    pub async fn redeliver_webhook(&self, caller: &Caller, folder_id: Uuid) -> Result<DeliveryHistory> {
        let (folder, access) = self.visible_folder(caller, folder_id).await?;
        if access < Access::Write {
            return Err(Error::Forbidden(None));
        }
        let Some(url) = endpoint_of(&folder.technical_meta_data) else {
            return Err(Error::invalid_value(
                "The folder has no resolution_endpoint to deliver to",
                serde_json::json!({ "key_path": ENDPOINT_KEY }),
            ));
        };
        let policy = DeliveryPolicy { max_attempts: self.queue.webhook_max_attempts };
        let id = self.store.queue_redelivery(folder_id, &url, policy, now()).await?;
        // The delivery as queued, read before the workers are woken: once woken, one may have
        // made its first attempt before this answer is written (seen under load: a 201 saying
        // `attempt_count: 1` with no attempts).
        let delivery = self.store.get_delivery(id).await?.ok_or_else(|| Error::not_exist("Folder"))?;
        self.jobs_queued().await;
        let change = ObjectChange {
            object_type: "folder",
            object_id: folder_id,
            before: None,
            after: Some("pending".to_owned()),
            comment: Some(format!("delivery {id} to {url}")),
        };
        self.object_audited(Some(caller), "redeliver", "success", folder.company_id, change).await;
        Ok(DeliveryHistory { delivery, attempts: Vec::new() })
    }

    /// A delivery attempt was recorded: count it, and audit a delivery's end (delivered or
    /// given up; retried attempts are in its history only).
    pub async fn webhook_attempted(&self, delivery: &WebhookDelivery, attempt: &DeliveryAttempt) {
        metrics::counter!("emerald_webhook_attempts_total", "status" => attempt.status).increment(1);
        if attempt.status == "pending" {
            return;
        }
        let company_id = match self.store.get_folder(delivery.folder_id).await {
            Ok(f) => f.and_then(|f| f.company_id),
            Err(_) => None,
        };
        let change = ObjectChange {
            object_type: "folder",
            object_id: delivery.folder_id,
            before: None,
            after: Some(attempt.status.to_owned()),
            comment: Some(match (attempt.http_status, &attempt.error) {
                (Some(code), _) => format!(
                    "delivery {} attempt {}: HTTP {code} from {}",
                    delivery.delivery_id, attempt.attempt, attempt.url
                ),
                (None, Some(e)) => {
                    format!("delivery {} attempt {}: {e} ({})", delivery.delivery_id, attempt.attempt, attempt.url)
                }
                (None, None) => {
                    format!("delivery {} attempt {}: {}", delivery.delivery_id, attempt.attempt, attempt.url)
                }
            }),
        };
        let outcome = if attempt.status == "delivered" { "success" } else { "failure" };
        self.object_audited(None, "webhook", outcome, company_id, change).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls() {
        assert!(check_endpoint("https://example.com/hook?x=1").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080/").is_ok());
        assert!(check_endpoint("ftp://example.com/").is_err());
        assert!(check_endpoint("not a url").is_err());
    }

    #[test]
    fn signature_is_rfc_4231_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(2.0, 1), 2.0);
        assert_eq!(backoff(2.0, 3), 8.0);
        assert_eq!(backoff(2.0, 40), BACKOFF_MAX_SECS);
    }
}
