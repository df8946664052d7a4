//! `openfunnel-sim`: run the simulator as a standalone server, to try your own
//! integration against every server the spec allows. Prints the base URL on
//! stdout, then serves until Ctrl-C. `openfunnel-sim --help` lists every
//! option.

use clap::{Parser, ValueEnum};
use openfunnel_sim::{
    CursorScheme, Fault, JobProfile, ManifestAccuracy, OutageAnswer, PageWrites, Processed, Rhythm,
    SimConfig, Simulator, Vocabulary,
};
use std::process::ExitCode;
use std::time::Duration;

/// A stateful simulator of OpenFunnel's job API on loopback: jobs progress
/// over time, pages land one by one, faults and server variations on demand.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "EXAMPLES:\n  openfunnel-sim --port 8787 --rows 2000 --run-ms 10000\n  openfunnel-sim --cursors opaque --manifest fewer:2 --unknown-cursor-status 404 --undocumented\n  openfunnel-sim --rate-limit-every 5 --server-errors-every 20 --truncate-every 13\n  openfunnel-sim --outage-after-ms 5000 --outage-ms 30000 --outage-answer 503\n  openfunnel-sim --run-ms 60000 --rhythm bursty:5 --processed null"
)]
struct Args {
    /// The loopback port (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Rows a submitted job produces (default: its limit).
    #[arg(long)]
    rows: Option<u32>,
    /// Rows per page.
    #[arg(long, default_value_t = 100)]
    page_size: u32,
    /// Milliseconds a job stays pending.
    #[arg(long, default_value_t = 300)]
    pending_ms: u64,
    /// Milliseconds from start to the last page; pages land evenly.
    #[arg(long, default_value_t = 3_000)]
    run_ms: u64,
    /// How pages land over the run: even, bursty:N (clumps of N pages
    /// with long gaps), slowing (each gap longer) or stalled (nothing for
    /// half the run, then fast).
    #[arg(long, default_value = "even", value_parser = parse_rhythm)]
    rhythm: Rhythm,
    /// What lookalike polls report as `processed`: rows (the rows written),
    /// steady (rising with time, ahead of the pages), null, or frozen (stuck
    /// at the first page's rows).
    #[arg(long, value_enum, default_value_t = ProcessedArg::Rows)]
    processed: ProcessedArg,
    /// Make each job fail once this many pages are written.
    #[arg(long)]
    fail_after_pages: Option<u32>,
    /// Milliseconds a cancelled job stays cancelling.
    #[arg(long, default_value_t = 300)]
    cancel_ms: u64,
    /// How cursors and page names look.
    #[arg(long, value_enum, default_value_t = Cursors::PageNames)]
    cursors: Cursors,
    /// The terminal manifest's page count: exact, fewer:N, more:N or absurd.
    #[arg(long, default_value = "exact", value_parser = parse_manifest)]
    manifest: ManifestAccuracy,
    /// The status for a cursor the server never issued.
    #[arg(long, default_value_t = 400, value_parser = parse_unknown_cursor_status)]
    unknown_cursor_status: u16,
    /// Answer with fields the spec does not name (envelope, manifest, rows)
    /// and an undocumented status (`throttled`) for some polls of a running job.
    #[arg(long)]
    undocumented: bool,
    /// Show the newest page of a running job half written (the rest appears
    /// when the next page lands).
    #[arg(long)]
    growing_pages: bool,
    /// Compress poll responses with gzip for clients that accept it.
    #[arg(long)]
    gzip: bool,
    /// Milliseconds added to every request.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Every Nth poll answers 429 with `Retry-After: 1`.
    #[arg(long)]
    rate_limit_every: Option<u64>,
    /// The first two of every N polls answer 503.
    #[arg(long)]
    server_errors_every: Option<u64>,
    /// Every Nth poll answers with its JSON cut in half.
    #[arg(long)]
    truncate_every: Option<u64>,
    /// Every Nth poll has its connection dropped.
    #[arg(long)]
    drop_every: Option<u64>,
    /// Takes the whole service down (every request, submits and cancels
    /// too) for this many milliseconds, starting `--outage-after-ms` after
    /// the server starts.
    #[arg(long)]
    outage_ms: Option<u64>,
    /// When the outage starts, in milliseconds after the server starts.
    #[arg(long, default_value_t = 0, requires = "outage_ms")]
    outage_after_ms: u64,
    /// What requests get during the outage: a status (e.g. 503) or `drop`
    /// (the connection breaks).
    #[arg(long, default_value = "503", value_parser = parse_outage_answer, requires = "outage_ms")]
    outage_answer: OutageAnswer,
    /// Seeds job ids and rows.
    #[arg(long, default_value_t = 0x0F_F0_0F)]
    seed: u64,
    /// Accept only this key (others get 401); any key when unset.
    #[arg(long)]
    api_key: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Cursors {
    /// `page_0003`, equal to the page's name.
    PageNames,
    /// Opaque strings with `/`, `+`, `=` and a space.
    Opaque,
    /// Numbers that skip irregularly.
    Skipping,
    /// `page_NNNN` cursors, page names unrelated to them.
    UnrelatedNames,
    /// 600-byte tokens with `/`, `+` and `=`.
    Long,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProcessedArg {
    /// The rows written so far.
    Rows,
    /// Rising steadily with time.
    Steady,
    /// Always null.
    Null,
    /// Stuck at the first page's rows.
    Frozen,
}

fn parse_rhythm(value: &str) -> Result<Rhythm, String> {
    let burst = |n: &str| match n.parse::<u32>() {
        Ok(pages_per_burst) if pages_per_burst > 0 => Ok(Rhythm::Bursty { pages_per_burst }),
        _ => Err(format!(
            "`{n}` is not a number of pages above 0 (e.g. bursty:5)"
        )),
    };
    match value {
        "even" => Ok(Rhythm::Even),
        "slowing" => Ok(Rhythm::Slowing),
        "stalled" => Ok(Rhythm::StalledThenFast),
        "bursty" => burst("5"),
        other => match other.strip_prefix("bursty:") {
            Some(n) => burst(n),
            None => Err("use even, bursty:N, slowing or stalled".into()),
        },
    }
}

fn parse_unknown_cursor_status(value: &str) -> Result<u16, String> {
    match value {
        "400" | "404" | "422" => value.parse().map_err(|_| value.to_string()),
        _ => Err("use 400, 404 or 422 (what the spec documents for a bad request)".into()),
    }
}

fn parse_outage_answer(value: &str) -> Result<OutageAnswer, String> {
    match value {
        "drop" => Ok(OutageAnswer::DropConnection),
        status => match status.parse::<u16>() {
            Ok(code) if (500..=599).contains(&code) || code == 429 || code == 408 => {
                Ok(OutageAnswer::Status(code))
            }
            _ => Err("use a status of 408, 429 or 5xx (e.g. 503), or drop".into()),
        },
    }
}

fn parse_manifest(value: &str) -> Result<ManifestAccuracy, String> {
    let count = |n: &str| {
        n.parse::<u32>()
            .map_err(|_| format!("{n:?} is not a page count"))
    };
    match value.split_once(':') {
        None if value == "exact" => Ok(ManifestAccuracy::Exact),
        None if value == "absurd" => Ok(ManifestAccuracy::Absurd),
        Some(("fewer", n)) => count(n).map(ManifestAccuracy::Fewer),
        Some(("more", n)) => count(n).map(ManifestAccuracy::More),
        _ => Err("use exact, fewer:N, more:N or absurd".into()),
    }
}

impl Args {
    fn config(&self) -> SimConfig {
        let mut profile = JobProfile::default()
            .with_page_size(self.page_size)
            .with_pending_for(Duration::from_millis(self.pending_ms))
            .with_run_time(Duration::from_millis(self.run_ms))
            .with_cancel_delay(Duration::from_millis(self.cancel_ms))
            .with_cursors(match self.cursors {
                Cursors::PageNames => CursorScheme::PageNames,
                Cursors::Opaque => CursorScheme::Opaque,
                Cursors::Skipping => CursorScheme::Skipping,
                Cursors::UnrelatedNames => CursorScheme::UnrelatedNames,
                Cursors::Long => CursorScheme::Long,
            })
            .with_rhythm(self.rhythm)
            .with_processed(match self.processed {
                ProcessedArg::Rows => Processed::Rows,
                ProcessedArg::Steady => Processed::Steady,
                ProcessedArg::Null => Processed::Null,
                ProcessedArg::Frozen => Processed::Frozen,
            })
            .with_manifest(self.manifest)
            .with_unknown_cursor_status(self.unknown_cursor_status)
            .with_vocabulary(if self.undocumented {
                Vocabulary::Grown
            } else {
                Vocabulary::Documented
            })
            .with_page_writes(if self.growing_pages {
                PageWrites::Growing
            } else {
                PageWrites::Whole
            });
        if let Some(rows) = self.rows {
            profile = profile.with_rows(rows);
        }
        if let Some(pages) = self.fail_after_pages {
            profile = profile.failing_after(pages);
        }
        let mut config = SimConfig::default()
            .with_profile(profile)
            .with_latency(Duration::from_millis(self.latency_ms))
            .with_gzip(self.gzip)
            .with_seed(self.seed);
        let faults = [
            self.rate_limit_every.map(|every| Fault::RateLimit {
                every,
                retry_after: Duration::from_secs(1),
            }),
            self.server_errors_every.map(|every| Fault::ServerErrors {
                every,
                burst: 2,
                status: 503,
            }),
            self.truncate_every
                .map(|every| Fault::TruncatedBody { every }),
            self.drop_every.map(|every| Fault::DropConnection { every }),
            self.outage_ms.map(|lasting| Fault::Outage {
                after: Duration::from_millis(self.outage_after_ms),
                lasting: Duration::from_millis(lasting),
                answer: self.outage_answer,
            }),
        ];
        for fault in faults.into_iter().flatten() {
            config = config.with_fault(fault);
        }
        if let Some(key) = &self.api_key {
            config = config.with_api_key(key);
        }
        config
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
    let sim = match Simulator::bind(address, args.config()).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("openfunnel-sim: cannot listen on {address}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", sim.base_url());
    let keys = if args.api_key.is_some() {
        "only the --api-key key is accepted"
    } else {
        "any API key is accepted"
    };
    eprintln!("openfunnel-sim: serving; {keys}; Ctrl-C stops");
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_reaches_the_configuration() {
        let args = Args::parse_from([
            "openfunnel-sim",
            "--rows",
            "250",
            "--page-size",
            "50",
            "--pending-ms",
            "0",
            "--run-ms",
            "1000",
            "--fail-after-pages",
            "2",
            "--cancel-ms",
            "10",
            "--cursors",
            "opaque",
            "--manifest",
            "fewer:2",
            "--unknown-cursor-status",
            "404",
            "--undocumented",
            "--growing-pages",
            "--gzip",
            "--rhythm",
            "bursty:3",
            "--processed",
            "frozen",
            "--latency-ms",
            "5",
            "--rate-limit-every",
            "7",
            "--drop-every",
            "11",
            "--outage-ms",
            "1200",
            "--outage-after-ms",
            "300",
            "--outage-answer",
            "drop",
            "--seed",
            "3",
            "--api-key",
            "of_sim",
        ]);
        let config = args.config();
        let profile = &config.profile;
        assert_eq!(profile.rows, Some(250));
        assert_eq!(profile.page_size, 50);
        assert_eq!(profile.pending_for, Duration::ZERO);
        assert_eq!(profile.run_time, Duration::from_secs(1));
        assert_eq!(profile.fail_after_pages, Some(2));
        assert_eq!(profile.cancel_delay, Duration::from_millis(10));
        assert_eq!(profile.cursors, CursorScheme::Opaque);
        assert_eq!(profile.manifest, ManifestAccuracy::Fewer(2));
        assert_eq!(profile.unknown_cursor_status, 404);
        assert_eq!(profile.vocabulary, Vocabulary::Grown);
        assert_eq!(profile.page_writes, PageWrites::Growing);
        assert_eq!(profile.rhythm, Rhythm::Bursty { pages_per_burst: 3 });
        assert_eq!(profile.processed, Processed::Frozen);
        assert_eq!(config.latency, Duration::from_millis(5));
        assert!(config.gzip);
        assert_eq!(config.faults.len(), 3);
        assert!(config.faults.contains(&Fault::Outage {
            after: Duration::from_millis(300),
            lasting: Duration::from_millis(1200),
            answer: OutageAnswer::DropConnection,
        }));
        assert_eq!(config.seed, 3);
        assert_eq!(config.api_key.as_deref(), Some("of_sim"));
    }

    #[test]
    fn without_options_the_server_is_the_documented_one() {
        let profile = Args::parse_from(["openfunnel-sim"]).config().profile;
        assert_eq!(profile.cursors, CursorScheme::PageNames);
        assert_eq!(profile.manifest, ManifestAccuracy::Exact);
        assert_eq!(profile.unknown_cursor_status, 400);
        assert_eq!(profile.vocabulary, Vocabulary::Documented);
        assert_eq!(profile.page_writes, PageWrites::Whole);
        assert_eq!(profile.rhythm, Rhythm::Even);
        assert_eq!(profile.processed, Processed::Rows);
        assert!(!Args::parse_from(["openfunnel-sim"]).config().gzip);
        for (value, rhythm) in [
            ("slowing", Rhythm::Slowing),
            ("stalled", Rhythm::StalledThenFast),
            ("bursty", Rhythm::Bursty { pages_per_burst: 5 }),
        ] {
            let args = Args::parse_from(["openfunnel-sim", "--rhythm", value]);
            assert_eq!(args.config().profile.rhythm, rhythm);
        }
        let long = Args::parse_from(["openfunnel-sim", "--cursors", "long"]).config();
        assert_eq!(long.profile.cursors, CursorScheme::Long);
    }

    #[test]
    fn bad_values_are_refused_with_what_is_allowed() {
        for (flag, value) in [
            ("--manifest", "some"),
            ("--cursors", "random"),
            ("--rhythm", "bursty:0"),
            ("--rhythm", "jumpy"),
            ("--processed", "sometimes"),
            ("--unknown-cursor-status", "500"),
            ("--rows", "-1"),
            ("--outage-answer", "200"),
        ] {
            let error = Args::try_parse_from(["openfunnel-sim", flag, value]).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{flag} {value}");
        }
        assert_eq!(parse_manifest("more:3"), Ok(ManifestAccuracy::More(3)));
        assert_eq!(parse_manifest("absurd"), Ok(ManifestAccuracy::Absurd));
    }
}
