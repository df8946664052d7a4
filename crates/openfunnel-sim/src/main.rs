//! `openfunnel-sim`: run the simulator as a standalone server.
//!
//! ```text
//! openfunnel-sim [--port N] [--rows N] [--run-ms N] [--pending-ms N] [--latency-ms N] [--seed N]
//! ```
//! Prints the base URL on stdout, then serves until Ctrl-C.

use openfunnel_sim::{JobProfile, SimConfig, Simulator};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: openfunnel-sim [--port N] [--rows N] [--run-ms N] [--pending-ms N] [--latency-ms N] [--seed N]";

fn parse(args: &[String]) -> Result<(u16, SimConfig), String> {
    let mut port = 0u16;
    let mut profile = JobProfile::default();
    let mut config = SimConfig::default();
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = rest
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {value:?}\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => {
                port =
                    u16::try_from(number()?).map_err(|_| format!("--port {value} is not a port"))?
            }
            "--rows" => {
                profile = profile.with_rows(
                    u32::try_from(number()?).map_err(|_| "--rows is too large".to_string())?,
                )
            }
            "--run-ms" => profile = profile.with_run_time(Duration::from_millis(number()?)),
            "--pending-ms" => profile = profile.with_pending_for(Duration::from_millis(number()?)),
            "--latency-ms" => config = config.with_latency(Duration::from_millis(number()?)),
            "--seed" => config = config.with_seed(number()?),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok((port, config.with_profile(profile)))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (port, config) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let sim = match Simulator::bind(address, config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("openfunnel-sim: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sim.base_url());
    eprintln!("openfunnel-sim: serving; any API key is accepted; Ctrl-C stops");
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
