//! Webhooks (spec §11.2 [I]): where a folder's result goes when it finishes, how the body is
//! signed, and how failed deliveries back off. Delivering is the job of `crate::jobs`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::error::{Error, Result};
use crate::domain::model::metadata::MetaData;

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
