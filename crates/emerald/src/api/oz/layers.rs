//! Cross-cutting HTTP behaviour: request ids (`X-Lamb-XRay` honoured, `X-Request-Id` returned),
//! a tracing span per request (never headers or bodies: tokens and passwords stay out of logs),
//! Prometheus counters and latencies per route, and the 404/405 answers in the Oz envelope.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;
use uuid::Uuid;

use crate::domain::Error;

const REQUEST_ID_HEADERS: [&str; 2] = ["x-lamb-xray", "x-request-id"];
const REQUEST_ID_MAX_CHARS: usize = 128;

/// The request id: the client's `X-Lamb-XRay`/`X-Request-Id` when it is sane, else a new UUID.
fn request_id(req: &Request) -> String {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|h| req.headers().get(*h))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= REQUEST_ID_MAX_CHARS && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// Outermost layer: span, access log line, response header.
pub async fn trace_requests(req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let started = Instant::now();
        let mut res = next.run(req).await;
        tracing::info!(status = res.status().as_u16(), latency_ms = started.elapsed().as_secs_f64() * 1e3, "served");
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut().insert("x-request-id", v);
        }
        res
    }
    .instrument(span)
    .await
}

/// Per-route request count and latency (route = the matched template, not the raw path).
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!("emerald_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("emerald_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    res
}

/// Unknown path.
pub async fn not_found() -> Response {
    Error::NotExist("Not found: no such endpoint".into()).into_response()
}

/// Known path, unsupported method (code 1, HTTP 405).
pub async fn method_not_allowed() -> Response {
    Error::NotAllowed.into_response()
}
