//! Logs (`tracing`, text or JSON, level from `EMERALD_LOG` / `RUST_LOG`) and the Prometheus
//! recorder. Spans carry request ids; secrets, images and templates are never recorded.

use std::io::IsTerminal;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

pub fn init_logs(format: &str) {
    let filter = EnvFilter::try_from_env("EMERALD_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Colour only for a terminal (and never with NO_COLOR): `scripts/run.sh > log` stays plain text.
    let ansi = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi);
    let result = if format == "json" { builder.json().try_init() } else { builder.try_init() };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}

/// The process-wide Prometheus recorder (installed once; every App in a process shares it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding program; ours then
            // renders nothing, which is preferable to failing start-up.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
