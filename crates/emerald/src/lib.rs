//! Emerald: a self-hosted face liveness and biometry server that speaks the Oz API.
//!
//! [`App::build`] wires configuration, store, domain and HTTP exactly as production runs them;
//! the binary and the integration tests both start the server through it.

pub mod api;
pub mod config;
pub mod console;
pub mod domain;
pub mod engine;
pub mod import;
pub mod jobs;
pub mod media_probe;
pub mod spool;
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
use domain::identity::auth::AuthSettings;
use domain::identity::credentials::{Email, Password};
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

/// Components plugged in from outside the core (other crates, tests).
#[derive(Default, Clone)]
pub struct Plugins {
    /// The 1:N search of COLLECTION analyses (the collections component); None = such
    /// analyses FAIL with a clear reason.
    pub blacklist: Option<Arc<dyn domain::model::blacklist::Blacklist>>,
}

pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
    domain: Domain,
    first_admin: Option<FirstAdmin>,
    workers: jobs::WorkerSettings,
    /// Wake-ups announced by other processes (PostgreSQL), relayed while serving.
    wakeups: Option<domain::store::WakeupStream>,
    /// The console's base path, when it is on.
    console_path: Option<String>,
    /// The console's own listener and router (`EMERALD_CONSOLE_LISTEN`), when it has one.
    console_apart: Option<(TcpListener, SocketAddr, axum::Router)>,
}

impl App {
    /// Connect the store (running migrations), create the first admin if the database has no
    /// user, build the router and bind the listener.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        Self::build_impl(config, None).await
    }

    /// [`App::build`] with plugged-in components (`plugins.blacklist` None: COLLECTION
    /// analyses FAIL with a clear reason).
    pub async fn build_with(config: Config, plugins: Plugins) -> anyhow::Result<App> {
        Self::build_impl(config, Some(plugins)).await
    }

    /// `plugins` None: the defaults, COLLECTION analyses searching the collections gallery.
    async fn build_impl(config: Config, plugins: Option<Plugins>) -> anyhow::Result<App> {
        if config.role == config::Role::Lite {
            anyhow::bail!("role `lite` runs Oz API Lite alone: start it with LiteApp::build");
        }
        let domain = open_domain(&config).await?;
        // Files spooled by uploads that a crash interrupted: nothing refers to them.
        for entry in std::fs::read_dir(domain.spool_dir()?)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(UPLOAD_SPOOL_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        domain.sync_gallery().await.map_err(|e| anyhow::anyhow!("loading the 1:N gallery: {e}"))?;
        let blacklist = match plugins {
            Some(p) => p.blacklist,
            None => Some(Arc::new(domain::collections::blacklist::GalleryBlacklist::new(domain.clone()))
                as Arc<dyn domain::model::blacklist::Blacklist>),
        };
        let thresholds = domain::model::analysis::Thresholds {
            quality: config.quality_threshold,
            biometry: config.biometry_threshold,
            collection: config.collection_threshold,
            biometry_min: None,
            collection_min: None,
        };
        let queue = domain::analyses::service::QueueSettings {
            analysis_max_attempts: config.analysis_max_attempts.max(1),
            webhook_max_attempts: config.webhook_max_attempts.max(1),
            single_request_timeout: std::time::Duration::from_secs_f64(config.single_request_timeout.max(0.0)),
            poll: std::time::Duration::from_secs_f64(config.queue_poll.max(0.01)),
        };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let worker_count = config.worker_count();
        let domain = domain
            .with_blacklist(blacklist)
            .with_analysis_settings(thresholds, queue, worker_count.max(cores))
            .with_abuse(config.abuse_settings())
            .with_review_claim(config.review_claim_timeout);
        let trusted_proxies = api::oz::client::TrustedProxies::parse(config.trusted_proxies.as_deref().unwrap_or(""))
            .map_err(|e| anyhow::anyhow!("EMERALD_TRUSTED_PROXIES: {e}"))?;
        let console = match config.console {
            config::Switch::On => Some(
                console::Settings::new(&config.console_base_path, config.public_url.as_deref())
                    .context("EMERALD_CONSOLE_BASE_PATH")?,
            ),
            config::Switch::Off => None,
        };
        let console_path = console.as_ref().map(|c| c.base.clone());
        let first_admin = ensure_first_admin(&domain, &config).await?;
        let lite = (config.lite == config::LiteMode::On).then(|| {
            let lite =
                domain::lite::Lite::new(domain.faces.clone(), lite_settings(&config), domain.engine_slots.clone());
            api::lite::LiteState::new(lite, config.lite_api_key.as_deref(), telemetry::metrics_handle())
        });
        let place = match (&console, &config.console_listen) {
            (Some(_), Some(_)) => api::ConsolePlace::Apart,
            _ => api::ConsolePlace::WithApi,
        };
        let routers = api::router(
            domain.clone(),
            telemetry::metrics_handle(),
            config.public_url.clone(),
            config.instant_auth,
            trusted_proxies,
            console,
            place,
            lite,
        );
        let router = routers.api;
        let listener = TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let console_apart = match (routers.console, &config.console_listen) {
            (Some(router), Some(at)) => {
                let listener =
                    TcpListener::bind(at).await.with_context(|| format!("binding {at} (EMERALD_CONSOLE_LISTEN)"))?;
                let addr = listener.local_addr()?;
                Some((listener, addr, router))
            }
            _ => None,
        };
        if config.webhook_secret.is_none() {
            tracing::info!("EMERALD_WEBHOOK_SECRET is not set: webhook deliveries are not signed");
        }
        let base_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let webhook = jobs::webhook::WebhookSettings::new(
            config.webhook_secret.clone(),
            std::time::Duration::from_secs_f64(config.webhook_timeout.max(0.1)),
            config.webhook_backoff.max(0.0),
            config.webhook_allow_private,
            base_url,
        )?;
        let workers = jobs::WorkerSettings {
            workers: worker_count,
            lease: std::time::Duration::from_secs_f64(config.job_lease.max(0.1)),
            webhook,
            expire_after: std::time::Duration::from_secs_f64(config.analysis_expire_timeout.max(0.0)),
            expire_beat: std::time::Duration::from_secs_f64(config.analysis_expire_beat.max(0.05)),
        };
        // Listening before the app answers: nothing another process announces after that is missed.
        let wakeups = domain
            .store
            .wakeups()
            .await
            .map_err(|e| anyhow::anyhow!("listening for other processes' wake-ups: {e}"))?;
        Ok(App { listener, addr, router, domain, first_admin, workers, wakeups, console_path, console_apart })
    }

    /// How this app's workers run (tests drive the queue with [`jobs::run_one`]).
    pub fn worker_settings(&self) -> &jobs::WorkerSettings {
        &self.workers
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// The address of the console's own listener, when it has one (`EMERALD_CONSOLE_LISTEN`).
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.console_apart.as_ref().map(|(_, addr, _)| *addr)
    }

    /// The console's URL, when it is on: on its own listener when it has one, else at
    /// `public_url` (or the API's address).
    pub fn console_url(&self, public_url: Option<&str>) -> Option<String> {
        let origin = match self.console_addr() {
            Some(addr) => format!("http://{addr}"),
            None => public_url
                .map(|u| u.trim_end_matches('/').to_owned())
                .unwrap_or_else(|| format!("http://{}", self.addr)),
        };
        self.console_path.as_ref().map(|p| format!("{origin}{p}/"))
    }

    pub fn first_admin(&self) -> Option<&FirstAdmin> {
        self.first_admin.as_ref()
    }

    /// Serve (and run the workers, unless the role is `api`) until `shutdown` resolves; then
    /// stop the workers after the jobs in hand.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let sweeper = tokio::spawn(sweep_sessions(self.domain.clone()));
        if self.workers.workers > 0 {
            tracing::info!(workers = self.workers.workers, "analysis workers started");
        }
        let relay = self.wakeups.map(|w| tokio::spawn(jobs::relay_wakeups(self.domain.clone(), w)));
        let workers = jobs::Workers::start(self.domain.clone(), self.workers.clone());
        let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
        // The console's own listener, when it has one, stops with the API's.
        let console =
            self.console_apart.map(|(listener, _, router)| tokio::spawn(serve(listener, router, shutdown.clone())));
        let mut served = serve(self.listener, self.router, shutdown).await.context("HTTP server");
        if let Some(console) = console {
            let console = console.await.context("console server task").and_then(|r| r.context("console HTTP server"));
            served = served.and(console);
        }
        sweeper.abort();
        workers.stop().await;
        if let Some(relay) = relay {
            relay.abort();
        }
        served
    }
}

/// Serve `router` on `listener` until `shutdown` resolves. Peer addresses reach the handlers:
/// login throttling counts per client address.
async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = NormalizePathLayer::trim_trailing_slash().layer(router);
    axum::serve(listener, ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Oz API Lite's settings from the configuration (the full API's thresholds and limits).
fn lite_settings(config: &Config) -> domain::lite::LiteSettings {
    domain::lite::LiteSettings {
        biometry_threshold: config.biometry_threshold,
        quality_threshold: config.quality_threshold,
        max_image_bytes: usize::try_from(config.max_file_bytes).unwrap_or(usize::MAX),
        max_candidate_images: config.max_files_per_request.max(1),
    }
}

/// `emerald serve --role lite`: Oz API Lite alone (spec §14). No database, no data directory,
/// no workers: the face engine and the HTTP listener, so any number of replicas can run.
pub struct LiteApp {
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
}

impl LiteApp {
    /// Load the face engine (a missing model leaves the service up, answering health status 3
    /// and code 2), build the Lite router and bind the listener.
    pub async fn build(config: Config) -> anyhow::Result<LiteApp> {
        let faces = engine::load(config.models_dir.as_deref(), config.embedder);
        match &faces {
            Ok(f) => tracing::info!(models = ?f.models(), "face engine loaded"),
            Err(why) => tracing::warn!(%why, "face engine not loaded: Oz API Lite answers health status 3"),
        }
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let slots = Arc::new(tokio::sync::Semaphore::new(cores));
        let lite = domain::lite::Lite::new(faces, lite_settings(&config), slots);
        let key = config.lite_api_key.as_deref().filter(|k| !k.is_empty());
        let listener = TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        if key.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(%addr, "Oz API Lite listens beyond loopback without EMERALD_LITE_API_KEY: anyone who reaches it can use it");
        }
        let router = api::lite::router(api::lite::LiteState::new(lite, key, telemetry::metrics_handle()));
        Ok(LiteApp { listener, addr, router })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve until `shutdown` resolves.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = NormalizePathLayer::trim_trailing_slash().layer(self.router);
        axum::serve(self.listener, ServiceExt::<Request>::into_make_service(app))
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server")
    }
}

/// How long an expired session is kept, so that its token still answers "expired" (code 8)
/// rather than "invalid" (code 7) for a while.
const EXPIRED_SESSION_GRACE_SECS: f64 = 7.0 * 86400.0;
/// Templates in one collection above which its blacklist search walks the HNSW graph instead of
/// scanning every template. Measured on 2 cores (docs/gallery.md): the exact scan answers a
/// million templates in 16 ms with recall 1.000, while the graph at a million stays below the
/// 0.995 recall a blacklist needs; so the server scans exactly up to two million.
const GALLERY_ANN_THRESHOLD: usize = 2_000_000;
/// Generations of the gallery change feed kept (a server further behind reloads everything).
const GALLERY_FEED_KEEP: i64 = 100_000;
const SESSION_SWEEP_PERIOD: std::time::Duration = std::time::Duration::from_secs(600);

/// Every few minutes: delete sessions expired for longer than the grace period, prune the
/// gallery change feed, write the gallery snapshot if it moved, refresh planner statistics.
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
        let t = domain::time::now();
        match domain
            .store
            .prune_login_failures(t - domain.abuse.throttle.window.max(domain.abuse.throttle.backoff_max))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "forgot old failed-login counters"),
            Err(e) => tracing::warn!(error = %e, "pruning failed-login counters failed"),
        }
        if domain.abuse.audit_retention > 0.0 {
            match domain.store.prune_auth_events(t - domain.abuse.audit_retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "deleted auth audit events past retention"),
                Err(e) => tracing::warn!(error = %e, "pruning the auth audit failed"),
            }
        }
        match domain.store.prune_gallery_changes(GALLERY_FEED_KEEP).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "pruned the gallery change feed"),
            Err(e) => tracing::warn!(error = %e, "pruning the gallery change feed failed"),
        }
        domain.save_gallery_snapshot().await;
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
    let auth = AuthSettings {
        session_ttl: config.session_ttl,
        service_ttl: config.service_session_ttl,
        extend_on_use: config.session_extend,
    };
    let blobs = store::ObjectBlobs::open(config.blob_url.as_deref(), &config.data_dir, &config.blob_options)?;
    let spool_dir = config.data_dir.join("tmp");
    std::fs::create_dir_all(&spool_dir).with_context(|| format!("creating {}", spool_dir.display()))?;
    let media = domain::folders::upload::MediaServices {
        blobs: Arc::new(blobs),
        probe: Arc::new(media_probe::LightProbe),
        limits: domain::model::media::UploadLimits {
            max_files: config.max_files_per_request,
            max_file_bytes: config.max_file_bytes,
        },
        spool_dir,
        spool_direct: config.spool_direct_io,
    };
    let faces = engine::load(config.models_dir.as_deref(), config.embedder);
    match &faces {
        Ok(f) => tracing::info!(models = ?f.models(), "face engine loaded"),
        Err(why) => tracing::warn!(%why, "face engine not loaded: analyses and enrolment will be refused"),
    }
    match emerald_vision::configure_ffmpeg(config.ffmpeg.clone()) {
        Ok(ff) => tracing::info!(ffmpeg = %ff.path.display(), version = %ff.version, "video decoder found"),
        Err(why) => tracing::warn!(%why, "no video decoder: analyses of videos will fail with this reason"),
    }
    let ocr = documents_ocr(config);
    match &ocr {
        Ok(emerald_documents::VisualOcr::PpOcr(p)) => {
            tracing::info!(runtime = %p.backend(), "document OCR: PP-OCRv4 in process")
        }
        Ok(emerald_documents::VisualOcr::Tesseract(t)) => {
            tracing::info!(tesseract = %t.path.display(), version = %t.version, "document OCR: Tesseract")
        }
        Err(why) => tracing::warn!(%why, "no document OCR: DOCUMENTS analyses read the MRZ only and say so"),
    }
    let store: Arc<dyn domain::store::Store> = Arc::new(store);
    let store_id = store.store_id().await.map_err(|e| anyhow::anyhow!("reading the store id: {e}"))?;
    let snapshot = config.data_dir.join(format!("gallery-{store_id}.snapshot"));
    let gallery_config = emerald_gallery::GalleryConfig {
        // Templates of the running embedder; others (made before a model change) stay out of
        // the gallery until `emerald collections reindex` remakes them.
        dim: faces.as_ref().map(|f| f.template_dim()).unwrap_or(emerald_gallery::GalleryConfig::default().dim),
        ann_threshold: GALLERY_ANN_THRESHOLD,
        ..emerald_gallery::GalleryConfig::default()
    };
    let gallery = domain::collections::gallery::FaceGallery::with_snapshot(gallery_config, snapshot);
    Ok(Domain::new(store, auth).with_media(media).with_faces(faces).with_ocr(ocr).with_gallery(gallery))
}

/// The OCR of documents' visual zone `config` chooses: PP-OCRv4 (`ppocr`), or Tesseract when
/// chosen or when PP-OCR's models are missing (the reason then names the missing file and the
/// command that fetches it).
fn documents_ocr(config: &Config) -> Result<emerald_documents::VisualOcr, String> {
    use emerald_documents::VisualOcr;
    let tesseract = || find_tesseract(config.tesseract.as_deref()).map(VisualOcr::Tesseract);
    match config.documents_ocr {
        config::DocumentsOcr::Tesseract => tesseract(),
        config::DocumentsOcr::Ppocr => {
            let dir = config.models_dir.clone().unwrap_or_else(emerald_vision::default_models_dir);
            match load_ppocr(&dir) {
                Ok(p) => Ok(VisualOcr::PpOcr(p)),
                Err(why) => {
                    tracing::warn!(%why, "PP-OCR not loaded: the visual zone of documents falls back to Tesseract");
                    tesseract().map_err(|t| format!("{why}; and no Tesseract either: {t}"))
                }
            }
        }
    }
}

/// PP-OCRv4, loaded once per models dir and process.
fn load_ppocr(dir: &std::path::Path) -> Result<Arc<emerald_documents::PpOcr>, String> {
    type Loaded = (std::path::PathBuf, Result<Arc<emerald_documents::PpOcr>, String>);
    static LOADED: std::sync::Mutex<Vec<Loaded>> = std::sync::Mutex::new(Vec::new());
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, p)) = loaded.iter().find(|(d, _)| d == dir) {
        return p.clone();
    }
    let p = emerald_documents::PpOcr::load(dir).map(Arc::new);
    loaded.push((dir.to_path_buf(), p.clone()));
    p
}

/// The `tesseract` binary (checked by running it), looked up once per setting and process.
fn find_tesseract(configured: Option<&std::path::Path>) -> Result<emerald_documents::Tesseract, String> {
    type Found = (Option<std::path::PathBuf>, Result<emerald_documents::Tesseract, String>);
    static FOUND: std::sync::Mutex<Vec<Found>> = std::sync::Mutex::new(Vec::new());
    let mut found = FOUND.lock().unwrap_or_else(|p| p.into_inner());
    let key = configured.map(std::path::Path::to_path_buf);
    if let Some((_, t)) = found.iter().find(|(k, _)| *k == key) {
        return t.clone();
    }
    let t = emerald_documents::Tesseract::find(configured);
    found.push((key, t.clone()));
    t
}

async fn ensure_first_admin(domain: &Domain, config: &Config) -> anyhow::Result<Option<FirstAdmin>> {
    let email = config.admin_email.clone().unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_owned());
    let (password, generated) = match &config.admin_password {
        Some(p) => (p.clone(), None),
        None => {
            let p: String =
                rand::thread_rng().sample_iter(&Alphanumeric).take(GENERATED_PASSWORD_CHARS).map(char::from).collect();
            (p.clone(), Some(p))
        }
    };
    let created = domain
        .ensure_first_admin(
            Email::parse(&email).map_err(|e| anyhow::anyhow!("EMERALD_ADMIN_EMAIL: {e}"))?,
            Password::parse(&password).map_err(|e| anyhow::anyhow!("EMERALD_ADMIN_PASSWORD: {e}"))?,
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    Ok(created.map(|u| FirstAdmin { email: u.email, generated_password: generated }))
}
