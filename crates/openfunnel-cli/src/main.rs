//! `openfunnel`: submit OpenFunnel jobs and export every row.
//!
//! Exit codes: 0 completed (or `--no-wait`), 1 error (bad key, not found,
//! network, decode), 2 usage or invalid input, 3 job failed, 4 job
//! cancelled, 5 `--timeout` reached, 130 interrupted.

#![forbid(unsafe_code)]

mod cli;
mod commands;
#[cfg(feature = "demo")]
mod demo;
mod digest;
mod exit;
mod export;
mod output;
mod progress;
mod sidecar;

use clap::Parser;
use cli::{Cli, Command, LookalikeCommand, TechIntentCommand};
use exit::CliError;
use openfunnel::Client;
use progress::Reporter;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("openfunnel: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("openfunnel: {error}");
            error.exit_code()
        }
    }
}

/// `-v`: the SDK's request traces on stderr (`-vv`: everything). The API key
/// never appears in them.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => "openfunnel=debug,openfunnel_cli=debug",
        _ => "trace",
    };
    let filter = level
        .parse::<tracing_subscriber::filter::Targets>()
        .unwrap_or_default();
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false),
        )
        .with(filter);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

fn client(cli: &Cli) -> Result<Client, CliError> {
    // The key's rules live in one place, `ApiKey::new`; only the hint for a
    // missing key is the command line's own.
    let key = openfunnel::raw::ApiKey::new(cli.api_key().as_deref().unwrap_or_default()).map_err(
        |error| match error {
            openfunnel::raw::BuildError::EmptyApiKey => CliError::Usage(
                "no API key: set OPENFUNNEL_API_KEY or pass one with --api-key".into(),
            ),
            other => CliError::Usage(other.to_string()),
        },
    )?;
    // The SDK reads OPENFUNNEL_BASE_URL (an empty one is unset); a flag wins.
    let mut builder = openfunnel::ClientBuilder::from_env().with_api_key(key.expose_secret());
    if let Some(base_url) = &cli.base_url {
        builder = builder.with_base_url(base_url);
    }
    Ok(builder.build()?)
}

async fn run(cli: &Cli) -> Result<(), CliError> {
    let reporter = |limit: Option<u64>| Arc::new(Reporter::new(cli.quiet).expecting_rows(limit));
    match &cli.command {
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args, cli.quiet).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "openfunnel",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Lookalike(command) => match command {
            LookalikeCommand::Submit(args) => {
                let search = commands::lookalike_search(args)?;
                let job = client(cli)?.lookalike().submit(search).await?;
                println!("{}", job.id());
                Ok(())
            }
            LookalikeCommand::Results(args) => {
                let client = client(cli)?;
                let job = client.lookalike().job(&args.job_id)?;
                commands::results(&job, &client, args, reporter(args.limit))
                    .await
                    .map_err(|error| error.other_kind_hint(&args.job_id, "lookalike"))
            }
            LookalikeCommand::Status(args) => {
                commands::status(&client(cli)?.lookalike().job(&args.job_id)?)
                    .await
                    .map_err(|error| error.other_kind_hint(&args.job_id, "lookalike"))
            }
            LookalikeCommand::Cancel(args) => {
                commands::cancel(&client(cli)?.lookalike().job(&args.job_id)?).await
            }
        },
        Command::TechIntent(command) => match command {
            TechIntentCommand::Submit(args) => {
                let search = commands::intent_search(args)?;
                let job = client(cli)?.tech_intent().submit(search).await?;
                println!("{}", job.id());
                Ok(())
            }
            TechIntentCommand::Results(args) => {
                let client = client(cli)?;
                let job = client.tech_intent().job(&args.job_id)?;
                commands::results(&job, &client, args, reporter(args.limit))
                    .await
                    .map_err(|error| error.other_kind_hint(&args.job_id, "tech-intent"))
            }
            TechIntentCommand::Status(args) => {
                commands::status(&client(cli)?.tech_intent().job(&args.job_id)?)
                    .await
                    .map_err(|error| error.other_kind_hint(&args.job_id, "tech-intent"))
            }
            TechIntentCommand::Cancel(_) => Err(CliError::Usage(
                "tech-intent jobs cannot be cancelled: OpenFunnel offers no cancel for them (a job stops at its --limit of qualified companies; only lookalike jobs can be cancelled)".into(),
            )),
        },
    }
}
