//! `emerald serve` (the server) and `emerald admin create` (an ADMIN from the command line).

use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use emerald::domain::users::{Email, Password};
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
    /// Print the OpenAPI document.
    Openapi,
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
    let app = App::build(config).await?;
    if let Some(admin) = app.first_admin() {
        match &admin.generated_password {
            Some(p) => println!("Created the first ADMIN: email {}  password {p}  (shown once; change it)", admin.email),
            None => println!("Created the first ADMIN: email {} (password from EMERALD_ADMIN_PASSWORD)", admin.email),
        }
    }
    tracing::info!(addr = %app.addr(), backend = app.domain().store.backend(), "Emerald listening");
    println!("Emerald listening on http://{}", app.addr());
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
