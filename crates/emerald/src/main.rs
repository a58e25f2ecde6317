//! `emerald serve` (the server), `emerald admin create` (an ADMIN from the command line) and
//! `emerald collections import` (bulk enrolment into a collection).

use std::process::ExitCode;

mod bench_load;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use emerald::domain::identity::credentials::{Email, Password};
use emerald::{App, Config};

#[derive(Parser)]
#[command(name = "emerald", version, about = "Self-hosted face liveness and biometry server speaking the Oz API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Config),
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage collections (blacklists).
    #[command(subcommand)]
    Collections(CollectionsCommand),
    /// Print the OpenAPI document.
    Openapi,
    /// Benchmark helper: bulk-load synthetic folders with metadata (see bench/folders.sh).
    #[command(hide = true)]
    BenchSeed {
        /// How many folders to add.
        #[arg(long)]
        folders: u64,
        /// Index of the first synthetic folder (to grow an existing load).
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Login of the CLIENT owning them (created with `--password` when missing).
        #[arg(long, default_value = "bench@bench.local")]
        email: String,
        #[arg(long, default_value = "bench-password-1")]
        password: String,
        /// Seconds between two folders' creation times (the last one is now).
        #[arg(long, default_value_t = 1.0)]
        step: f64,
        /// Give every folder finished analyses and a result (a production-like mix).
        #[arg(long)]
        analyses: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Benchmark helper: write a synthetic photo-like JPEG of about `--bytes` bytes.
    #[command(hide = true)]
    BenchPhoto {
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        bytes: usize,
    },
    /// Benchmark helper: scale and crop a photo to exactly `--width`×`--height`.
    #[command(hide = true)]
    BenchFit {
        #[arg(long = "in")]
        input: std::path::PathBuf,
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value_t = 640)]
        width: u32,
        #[arg(long, default_value_t = 480)]
        height: u32,
        /// Place the photo, scaled to this fraction of what fits, on a grey frame instead.
        #[arg(long)]
        place: Option<f64>,
    },
    /// Benchmark helper: closed-loop load of multipart analysis requests (see bench/analyses.sh).
    #[command(hide = true)]
    BenchLoad {
        /// `http://host:port/api/folders/` or `…/api/instant/folders/`.
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: Option<String>,
        /// `name=path:tag,tag` per file.
        #[arg(long = "file", required = true)]
        files: Vec<String>,
        /// The payload's `analyses` JSON array; without it the files alone are sent and any 2xx
        /// succeeds (Oz API Lite, see bench/lite.sh).
        #[arg(long)]
        analyses: Option<String>,
        /// Send the one file as a raw `image/jpeg` body (Oz API Lite's extract and detect).
        #[arg(long)]
        raw: bool,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 30.0)]
        seconds: f64,
        #[arg(long, default_value_t = 3.0)]
        warmup: f64,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an ADMIN user.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, env = "EMERALD_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[command(flatten)]
        config: Config,
    },
}

#[derive(Subcommand)]
enum CollectionsCommand {
    /// Enrol persons from DIR: one subfolder per person (its name becomes the person's
    /// `import_key`), holding its photos and an optional person.json with its meta_data.
    /// Persons already imported are skipped, so an interrupted run can be started again.
    Import {
        /// The collection to add the persons to.
        #[arg(long)]
        collection: uuid::Uuid,
        /// The directory of person folders.
        dir: std::path::PathBuf,
        /// Most photos taken from one person folder.
        #[arg(long, default_value_t = 100)]
        max_photos_per_person: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        config: Config,
    },
    /// Remake, with the configured embedder (`EMERALD_EMBEDDER`), every stored face template
    /// made by another model (after an embedder change), from the stored photos. Resumable:
    /// start it again after an interruption. 1:N searches over a collection that still holds
    /// templates of another model are refused until it is done.
    Reindex {
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        #[command(flatten)]
        config: Config,
    },
}

fn sub_matches<'a>(matches: &'a ArgMatches, path: &[&str]) -> &'a ArgMatches {
    path.iter().fold(matches, |m, name| m.subcommand_matches(name).unwrap_or(m))
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Serve(config) => serve(config, sub_matches(&matches, &["serve"])).await,
        Command::Admin(AdminCommand::Create { email, password, config }) => {
            admin_create(config, sub_matches(&matches, &["admin", "create"]), &email, &password).await
        }
        Command::BenchSeed { folders, start, email, password, step, analyses, config } => {
            let shape = emerald::store::seed::SeedShape { step, analyses };
            bench_seed(config, sub_matches(&matches, &["bench-seed"]), folders, start, shape, &email, &password).await
        }
        Command::Collections(CollectionsCommand::Import { collection, dir, max_photos_per_person, quiet, config }) => {
            let matches = sub_matches(&matches, &["collections", "import"]);
            collections_import(config, matches, collection, &dir, max_photos_per_person, quiet).await
        }
        Command::Collections(CollectionsCommand::Reindex { quiet, config }) => {
            collections_reindex(config, sub_matches(&matches, &["collections", "reindex"]), quiet).await
        }
        Command::BenchPhoto { out, bytes } => bench_photo(&out, bytes),
        Command::BenchFit { input, out, width, height, place } => {
            bench_load::fit_photo(&input, &out, width, height, place)
        }
        Command::BenchLoad { url, token, files, analyses, raw, concurrency, seconds, warmup } => {
            bench_load(url, token, files, analyses, raw, concurrency, seconds, warmup).await
        }
        Command::Openapi => {
            println!("{}", emerald::api::openapi_json());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emerald: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config, matches: &ArgMatches) -> anyhow::Result<()> {
    let config = config.merge_file(matches)?;
    emerald::telemetry::init_logs(&config.log_format);
    let public_url = config.public_url.clone();
    if config.role == emerald::config::Role::Lite {
        let app = emerald::LiteApp::build(config).await?;
        tracing::info!(addr = %app.addr(), "Emerald (Oz API Lite) listening");
        say(format_args!("Emerald (Oz API Lite) listening on http://{}", app.addr()));
        return app
            .run_until(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
    }
    let app = App::build(config).await?;
    let console_url = app.console_url(public_url.as_deref());
    if let Some(admin) = app.first_admin() {
        match &admin.generated_password {
            Some(p) => say(format_args!(
                "Created the first ADMIN: email {}  password {p}  (shown once; change it)",
                admin.email
            )),
            None => say(format_args!(
                "Created the first ADMIN: email {} (password from EMERALD_ADMIN_PASSWORD)",
                admin.email
            )),
        }
    }
    if let Some(url) = console_url {
        say(format_args!("Web console: {url}  (log in with an account's e-mail and password)"));
    }
    tracing::info!(addr = %app.addr(), backend = app.domain().store.backend(), "Emerald listening");
    say(format_args!("Emerald listening on http://{}", app.addr()));
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

async fn admin_create(config: Config, matches: &ArgMatches, email: &str, password: &str) -> anyhow::Result<()> {
    let config = config.merge_file(matches)?;
    let store = emerald::store::connect(config.database_url.as_deref(), &config.data_dir).await?;
    let domain = emerald::domain::Domain::new(std::sync::Arc::new(store), Default::default());
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = Password::parse(password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = domain.create_admin(email, password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Created ADMIN {} ({})", user.email, user.user_id);
    Ok(())
}

async fn collections_import(
    config: Config,
    matches: &ArgMatches,
    collection: uuid::Uuid,
    dir: &std::path::Path,
    max_photos: usize,
    quiet: bool,
) -> anyhow::Result<()> {
    let mut config = config.merge_file(matches)?;
    // A person folder is one enrolment, not an HTTP request: its photo count is its own limit.
    config.max_files_per_request = max_photos;
    let domain = emerald::open_domain(&config).await?;
    let report = emerald::import::import_persons(&domain, collection, dir, !quiet).await?;
    println!(
        "imported {} persons ({} photos); {} already imported, skipped; {} rejected",
        report.persons_imported,
        report.photos_imported,
        report.persons_skipped,
        report.rejected.len()
    );
    for (path, why) in &report.rejected {
        println!("rejected {}: {why}", path.display());
    }
    Ok(())
}

async fn collections_reindex(config: Config, matches: &ArgMatches, quiet: bool) -> anyhow::Result<()> {
    let config = config.merge_file(matches)?;
    let domain = emerald::open_domain(&config).await?;
    let err = |e: emerald::domain::Error| anyhow::anyhow!("{e}");
    let total = domain.templates_to_reindex().await.map_err(err)?;
    let model = domain.faces().map_err(err)?.models().embedder;
    let bar = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(total) };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} templates  {elapsed_precise} (eta {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = domain.reindex_templates(|n| bar.set_position(n)).await.map_err(err)?;
    bar.finish();
    println!("remade {} of {total} templates with {model}; {} could not be remade", report.remade, report.failed.len());
    for (id, why) in &report.failed {
        println!("not remade: person image {id}: {why}");
    }
    Ok(())
}

async fn bench_seed(
    config: Config,
    matches: &ArgMatches,
    n: u64,
    start: u64,
    shape: emerald::store::seed::SeedShape,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    use emerald::domain::identity::users::NewUser;
    use emerald::domain::model::caller::Caller;
    use emerald::domain::model::role::UserType;
    let config = config.merge_file(matches)?;
    let store = emerald::store::connect(config.database_url.as_deref(), &config.data_dir).await?;
    let domain = emerald::domain::Domain::new(std::sync::Arc::new(store.clone()), Default::default());
    let user = match domain.store.get_login(email).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        Some((u, _)) => u,
        None => {
            let admin = Caller {
                user_id: uuid::Uuid::nil(),
                session_id: uuid::Uuid::nil(),
                user_type: UserType::Admin,
                company_id: None,
            };
            let company =
                domain.create_company(&admin, "bench", Default::default()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let new = NewUser {
                email: Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
                password: Password::parse(password).map_err(|e| anyhow::anyhow!("{e}"))?,
                user_type: UserType::Client,
                company_id: Some(company.company_id),
                first_name: "Bench".into(),
                last_name: String::new(),
                middle_name: None,
                is_service: false,
                can_start: Default::default(),
                meta_data: Default::default(),
            };
            domain.create_user(&admin, new).await.map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    // One folder every `step` seconds, ending now.
    let t0 = emerald::domain::time::now() - (start + n) as f64 * shape.step;
    let started = std::time::Instant::now();
    let mut last = 0;
    let plan = emerald::store::seed::SeedPlan { company: user.company_id, user: user.user_id, start, n, t0, shape };
    emerald::store::seed::seed_folders(&store, plan, |done| {
        if done - last >= 100_000 || done == n {
            last = done;
            eprintln!("{done} folders ({:.0}/s)", done as f64 / started.elapsed().as_secs_f64());
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("seeded {n} folders for {email} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A noisy gradient JPEG grown until it reaches about `target` bytes (photos compress like noise
/// at high quality more than like flat colour).
fn bench_photo(out: &std::path::Path, target: usize) -> anyhow::Result<()> {
    let mut side = 512u32;
    loop {
        let (w, h) = (side * 4 / 3, side);
        let mut seed = 0x2545_f491_u32;
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let n = (seed % 24) as u8;
            image::Rgb([(x * 255 / w) as u8 / 2 + n, (y * 255 / h) as u8 / 2 + n, 96 + n])
        });
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92).encode_image(&img)?;
        if bytes.len() >= target || side > 8192 {
            std::fs::write(out, &bytes)?;
            println!("{} ({}x{}, {} bytes)", out.display(), w, h, bytes.len());
            return Ok(());
        }
        side = (side as f64 * ((target as f64 / bytes.len() as f64).sqrt() * 1.05).max(1.1)) as u32;
    }
}

#[allow(clippy::too_many_arguments)] // one per flag of the hidden `bench-load` command
async fn bench_load(
    url: String,
    token: Option<String>,
    files: Vec<String>,
    analyses: Option<String>,
    raw: bool,
    concurrency: usize,
    seconds: f64,
    warmup: f64,
) -> anyhow::Result<()> {
    let mut parts = Vec::new();
    for f in files {
        let (name, rest) = f.split_once('=').ok_or_else(|| anyhow::anyhow!("--file name=path:tags"))?;
        let (path, tags) = rest.split_once(':').unwrap_or((rest, ""));
        let tags = tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect();
        parts.push((name.to_owned(), std::fs::read(path)?, tags));
    }
    bench_load::run(bench_load::Load {
        url,
        token,
        files: parts,
        analyses: analyses.map(|a| serde_json::from_str(&a)).transpose()?,
        raw,
        concurrency: concurrency.max(1),
        duration: std::time::Duration::from_secs_f64(seconds),
        warmup: std::time::Duration::from_secs_f64(warmup),
    })
    .await
}

/// A line for the operator on stdout. A closed stdout (the reading end of a pipe gone) must not
/// take the server down, as `println!` would.
fn say(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}
