//! The webhook job (spec §11.2 [I]): POST the folder JSON (as `GET /api/folders/{id}
//! ?with_analyses=true` renders it) to the folder's `resolution_endpoint`, signed, at least
//! once. A 2xx within the timeout is delivered; anything else is retried with exponential
//! backoff until `max_attempts`, then the delivery is `failed`. Redirects are not followed,
//! and loopback / private addresses are refused unless allowed.

use std::net::IpAddr;
use std::time::Duration;

use crate::api::oz::json::{to_vec, CONTENT_TYPE};
use crate::api::views::FolderView;
use crate::domain::analyses::webhooks::{backoff, signature, DELIVERY_HEADER, SIGNATURE_HEADER};
use crate::domain::folders::service::FolderWith;
use crate::domain::store::{ClaimedJob, DeliveryAttempt};
use crate::domain::time::now;
use crate::domain::{Domain, Error, Result};

/// How deliveries are made.
#[derive(Clone)]
pub struct WebhookSettings {
    pub client: reqwest::Client,
    pub secret: Option<Vec<u8>>,
    /// Seconds before the first retry; doubles each time.
    pub backoff_secs: f64,
    pub allow_private: bool,
    /// Base of the media links in the body (`--public-url`, else the listen address).
    pub base_url: String,
}

impl WebhookSettings {
    pub fn new(
        secret: Option<String>,
        timeout: Duration,
        backoff_secs: f64,
        allow_private: bool,
        base_url: String,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("emerald/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(WebhookSettings {
            client,
            secret: secret.filter(|s| !s.is_empty()).map(String::into_bytes),
            backoff_secs,
            allow_private,
            base_url,
        })
    }
}

pub async fn run(domain: &Domain, settings: &WebhookSettings, job: &ClaimedJob) -> Result<()> {
    let Some(delivery) = domain.store.get_delivery(job.ref_id).await? else {
        return domain.store.complete_job(job.job_id).await;
    };
    if delivery.status != "pending" {
        return domain.store.complete_job(job.job_id).await;
    }
    if job.attempts > job.max_attempts {
        return give_up(domain, job, "the delivering worker stopped or crashed too often").await;
    }
    let Some(folder) = domain.store.get_folder(delivery.folder_id).await? else {
        return domain.store.complete_job(job.job_id).await;
    };
    let mut details = domain
        .with_related(vec![folder], FolderWith { media: true, analyses: true, user: false, company: false })
        .await?;
    let details = details.pop().ok_or_else(|| Error::not_exist("Folder"))?;
    let body = to_vec(&FolderView::new(details, &settings.base_url)).map_err(Error::internal)?;
    let sent_at = now();
    let started = std::time::Instant::now();
    let result = send(settings, &delivery.url, delivery.delivery_id, body).await;
    let duration = started.elapsed().as_secs_f64();
    let more = job.attempts < job.max_attempts;
    let (status, http_status, error, retry) = match result {
        Ok(status) if (200..300).contains(&status) => ("delivered", Some(status), None, false),
        Ok(status) => (retrying(more), Some(status), Some(format!("the endpoint answered HTTP {status}")), more),
        Err(Refused(why)) => ("failed", None, Some(why), false),
        Err(Transient(why)) => (retrying(more), None, Some(why), more),
    };
    let attempt = DeliveryAttempt {
        status,
        attempt: job.attempts,
        folder_id: delivery.folder_id,
        url: delivery.url.clone(),
        http_status,
        error,
        time: sent_at,
        duration,
    };
    tracing::info!(delivery_id = %delivery.delivery_id, folder_id = %delivery.folder_id, status = attempt.status, http_status = ?attempt.http_status, attempt = job.attempts, "webhook attempt");
    domain.store.record_delivery_attempt(delivery.delivery_id, &attempt).await?;
    domain.webhook_attempted(&delivery, &attempt).await;
    if retry {
        let wait = backoff(settings.backoff_secs, job.attempts);
        domain.store.retry_job(job.job_id, now() + wait, attempt.error.as_deref().unwrap_or("")).await
    } else {
        domain.store.complete_job(job.job_id).await
    }
}

/// The delivery's status after a failed attempt: retried while attempts remain.
fn retrying(more: bool) -> &'static str {
    if more {
        "pending"
    } else {
        "failed"
    }
}

/// Give the delivery up as `failed` and drop its job.
pub async fn give_up(domain: &Domain, job: &ClaimedJob, why: &str) -> Result<()> {
    if let Some(delivery) = domain.store.get_delivery(job.ref_id).await? {
        let attempt = DeliveryAttempt {
            status: "failed",
            attempt: job.attempts,
            folder_id: delivery.folder_id,
            url: delivery.url.clone(),
            http_status: None,
            error: Some(why.to_owned()),
            time: now(),
            duration: 0.0,
        };
        domain.store.record_delivery_attempt(job.ref_id, &attempt).await?;
        domain.webhook_attempted(&delivery, &attempt).await;
    }
    domain.store.complete_job(job.job_id).await
}

enum SendError {
    /// Never deliverable (refused address, bad URL): no retry.
    Refused(String),
    /// Network trouble or timeout: retried.
    Transient(String),
}
use SendError::{Refused, Transient};

async fn send(settings: &WebhookSettings, url: &str, delivery_id: uuid::Uuid, body: Vec<u8>) -> Result<u16, SendError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Refused(format!("invalid URL: {e}")))?;
    let host = parsed.host_str().ok_or_else(|| Refused("the URL has no host".into()))?.to_owned();
    let port = parsed.port_or_known_default().unwrap_or(80);
    if !settings.allow_private {
        let addrs: Vec<IpAddr> = match host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| Transient(format!("cannot resolve {host}: {e}")))?
                .map(|a| a.ip())
                .collect(),
        };
        if let Some(ip) = addrs.iter().find(|ip| is_private(ip)) {
            return Err(Refused(format!(
                "{host} resolves to the non-public address {ip} (set EMERALD_WEBHOOK_ALLOW_PRIVATE=true to allow)"
            )));
        }
    }
    let mut req = settings
        .client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
        .header(DELIVERY_HEADER, delivery_id.to_string());
    if let Some(secret) = &settings.secret {
        req = req.header(SIGNATURE_HEADER, signature(secret, &body));
    }
    let res = req.body(body).send().await.map_err(|e| Transient(format!("request failed: {e}")))?;
    Ok(res.status().as_u16())
}

/// Loopback, private, link-local, unspecified, multicast or otherwise non-public.
fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()
                // 100.64.0.0/10, carrier-grade NAT.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(&IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(&ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888"] {
            assert!(!is_private(&ip.parse().unwrap()), "{ip}");
        }
    }
}
