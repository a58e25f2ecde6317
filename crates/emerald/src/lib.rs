//! Emerald: a self-hosted face liveness and biometry server that speaks the Oz API.
//!
//! [`App::build`] wires configuration, store, domain and HTTP exactly as production runs them;
//! the binary and the integration tests both start the server through it.

pub mod api;
pub mod config;
pub mod domain;
pub mod engine;
pub mod import;
pub mod media_probe;
pub mod store;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::Request;
use axum::ServiceExt;
use rand::distributions::Alphanumeric;
use rand::Rng;
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use config::Config;
use domain::auth::AuthSettings;
use domain::users::{Email, Password};
use domain::Domain;

/// Length of a generated first-admin password.
const GENERATED_PASSWORD_CHARS: usize = 24;
/// Default login of the first admin when `EMERALD_ADMIN_EMAIL` is not set.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@emerald.local";

/// The first ADMIN created on an empty database; the password is shown only when generated.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: String,
    pub generated_password: Option<String>,
}

pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    domain: Domain,
    first_admin: Option<FirstAdmin>,
}

impl App {
    /// Connect the store (running migrations), create the first admin if the database has no
    /// user, build the router and bind the listener.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let domain = open_domain(&config).await?;
        // Files spooled by uploads that a crash interrupted: nothing refers to them.
        for entry in std::fs::read_dir(domain.spool_dir()?)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(UPLOAD_SPOOL_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        domain.sync_gallery().await.map_err(|e| anyhow::anyhow!("loading the 1:N gallery: {e}"))?;
        let first_admin = ensure_first_admin(&domain, &config).await?;
        let router = api::router(domain.clone(), telemetry::metrics_handle(), config.public_url.clone());
        let listener = TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        Ok(App { listener, addr, router, domain, first_admin })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    pub fn first_admin(&self) -> Option<&FirstAdmin> {
        self.first_admin.as_ref()
    }

    /// Serve until `shutdown` resolves.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let sweeper = tokio::spawn(sweep_sessions(self.domain.clone()));
        let app = NormalizePathLayer::trim_trailing_slash().layer(self.router);
        axum::serve(self.listener, ServiceExt::<Request>::into_make_service(app))
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server")?;
        sweeper.abort();
        Ok(())
    }
}

/// How long an expired session is kept, so that its token still answers "expired" (code 8)
/// rather than "invalid" (code 7) for a while.
const EXPIRED_SESSION_GRACE_SECS: f64 = 7.0 * 86400.0;
const SESSION_SWEEP_PERIOD: std::time::Duration = std::time::Duration::from_secs(600);

/// Delete sessions expired for longer than the grace period, every few minutes.
async fn sweep_sessions(domain: Domain) {
    let mut tick = tokio::time::interval(SESSION_SWEEP_PERIOD);
    loop {
        tick.tick().await;
        let before = domain::time::now() - EXPIRED_SESSION_GRACE_SECS;
        match domain.store.delete_expired_sessions(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "deleted long-expired sessions"),
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
        if let Err(e) = domain.store.refresh_statistics().await {
            tracing::warn!(error = %e, "refreshing planner statistics failed");
        }
    }
}

/// Prefix of the temporary files of HTTP uploads in the spool dir (removed at start).
pub const UPLOAD_SPOOL_PREFIX: &str = "upload-";

/// The domain over the store, blob store and face engine that `config` names: what the server
/// runs on, and what command-line tools that write media (`collections import`) open too.
/// The 1:N gallery is empty until [`Domain::sync_gallery`].
pub async fn open_domain(config: &Config) -> anyhow::Result<Domain> {
    let store = store::connect(config.database_url.as_deref(), &config.data_dir).await?;
    let auth = AuthSettings { session_ttl: config.session_ttl, service_ttl: config.service_session_ttl, extend_on_use: config.session_extend };
    let blobs = store::ObjectBlobs::open(config.blob_url.as_deref(), &config.data_dir)?;
    let spool_dir = config.data_dir.join("tmp");
    std::fs::create_dir_all(&spool_dir).with_context(|| format!("creating {}", spool_dir.display()))?;
    let media = domain::folders::MediaServices {
        blobs: Arc::new(blobs),
        probe: Arc::new(media_probe::LightProbe),
        limits: domain::media::UploadLimits { max_files: config.max_files_per_request, max_file_bytes: config.max_file_bytes },
        spool_dir,
    };
    let faces = engine::load(config.models_dir.as_deref());
    match &faces {
        Ok(f) => tracing::info!(models = ?f.models(), "face engine loaded"),
        Err(why) => tracing::warn!(%why, "face engine not loaded: analyses and enrolment will be refused"),
    }
    Ok(Domain::new(Arc::new(store), auth).with_media(media).with_faces(faces))
}

async fn ensure_first_admin(domain: &Domain, config: &Config) -> anyhow::Result<Option<FirstAdmin>> {
    let email = config.admin_email.clone().unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_owned());
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), None),
        None => {
            let p: String = rand::thread_rng().sample_iter(&Alphanumeric).take(GENERATED_PASSWORD_CHARS).map(char::from).collect();
            (p.clone(), Some(p))
        }
    };
    let created = domain
        .ensure_first_admin(Email::parse(&email).map_err(|e| anyhow::anyhow!("EMERALD_ADMIN_EMAIL: {e}"))?, Password::parse(&password).map_err(|e| anyhow::anyhow!("EMERALD_ADMIN_PASSWORD: {e}"))?)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    Ok(created.map(|u| FirstAdmin { email: u.email, generated_password: generated }))
}
