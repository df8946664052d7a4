//! The command line, exactly as the contract fixes it.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Submit OpenFunnel jobs and export every row.
///
/// Rows go to stdout (or --output); every message goes to stderr.
#[derive(Debug, Parser)]
#[command(name = "openfunnel", version, about, long_about = None)]
#[cfg_attr(
    not(feature = "demo"),
    command(
        after_help = "EXAMPLES:\n  job=$(openfunnel lookalike submit --query \"observability platforms\" --limit 2000)\n  openfunnel lookalike results \"$job\" --output rows.jsonl\n  openfunnel tech-intent submit --tech Snowflake --activity \"migrating off Redshift\" --limit 50"
    )
)]
#[cfg_attr(
    feature = "demo",
    command(
        after_help = "EXAMPLES:\n  openfunnel demo\n  job=$(openfunnel lookalike submit --query \"observability platforms\" --limit 2000)\n  openfunnel lookalike results \"$job\" --output rows.jsonl\n  openfunnel tech-intent submit --tech Snowflake --activity \"migrating off Redshift\" --limit 50"
    )
)]
pub struct Cli {
    /// API base URL [default: $OPENFUNNEL_BASE_URL, or https://api.openfunnel.dev].
    // The variables are read by the SDK (`ClientBuilder::from_env`), not by
    // clap: clap would show a set variable as a required flag in usage lines.
    #[arg(long, global = true, help_heading = "Global options")]
    pub base_url: Option<String>,
    /// API key (`of_…`) [default: $OPENFUNNEL_API_KEY].
    #[arg(long, global = true, help_heading = "Global options")]
    pub api_key: Option<String>,
    /// No progress and no messages except errors.
    #[arg(
        short,
        long,
        global = true,
        help_heading = "Global options",
        conflicts_with = "verbose"
    )]
    pub quiet: bool,
    /// Log every request to stderr (-vv for more).
    #[arg(short, long, global = true, help_heading = "Global options", action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `--api-key`, else the SDK's `OPENFUNNEL_API_KEY`.
    pub fn api_key(&self) -> Option<String> {
        self.api_key
            .clone()
            .or_else(|| std::env::var(openfunnel::API_KEY_ENV).ok())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bulk lookalike jobs.
    #[command(
        subcommand,
        alias = "lookalikes",
        after_help = "EXAMPLES:\n  job=$(openfunnel lookalike submit --query \"observability platforms\" --limit 2000)\n  openfunnel lookalike results \"$job\" --output rows.jsonl\n  openfunnel lookalike status \"$job\"\n  openfunnel lookalike cancel \"$job\""
    )]
    Lookalike(LookalikeCommand),
    /// Tech-stack-with-intent jobs.
    #[command(
        subcommand,
        alias = "intent",
        after_help = "EXAMPLES:\n  job=$(openfunnel tech-intent submit --tech Snowflake --activity \"migrating off Redshift\" --limit 50)\n  openfunnel tech-intent results \"$job\" --format csv > companies.csv\n  openfunnel tech-intent status \"$job\""
    )]
    TechIntent(TechIntentCommand),
    /// Run a lookalike job against a built-in simulator: no key, no network.
    #[cfg(feature = "demo")]
    #[command(
        after_help = "EXAMPLES:\n  openfunnel demo\n  openfunnel demo --rows 5000 --format csv --output demo.csv"
    )]
    Demo(DemoArgs),
    /// Print a shell completion script (install: see `openfunnel completions --help`).
    #[command(
        after_help = "EXAMPLES:\n  openfunnel completions bash > ~/.local/share/bash-completion/completions/openfunnel\n  openfunnel completions zsh > \"${fpath[1]}/_openfunnel\"\n  openfunnel completions fish > ~/.config/fish/completions/openfunnel.fish"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum LookalikeCommand {
    /// Submit a job; prints its id.
    #[command(
        after_help = "EXAMPLES:\n  openfunnel lookalike submit --query \"observability platforms\" --limit 2000 --max-credits 2000\n  openfunnel lookalike submit --seed-domain datadoghq.com --seed-domain honeycomb.io --location USA"
    )]
    Submit(LookalikeSubmitArgs),
    /// Write the job's rows (waits for the job by default).
    #[command(
        after_help = "EXAMPLES:\n  openfunnel lookalike results \"$job\" --output rows.jsonl\n  openfunnel lookalike results \"$job\" --output rows.jsonl --resume\n  openfunnel lookalike results \"$job\" --format csv > companies.csv"
    )]
    Results(ResultsArgs),
    /// Print the job's status as one JSON object.
    #[command(after_help = "EXAMPLES:\n  openfunnel lookalike status \"$job\"")]
    Status(JobArgs),
    /// Ask the server to cancel the job.
    #[command(after_help = "EXAMPLES:\n  openfunnel lookalike cancel \"$job\"")]
    Cancel(JobArgs),
}

#[derive(Debug, Subcommand)]
pub enum TechIntentCommand {
    /// Submit a job; prints its id.
    #[command(
        after_help = "EXAMPLES:\n  openfunnel tech-intent submit --tech Snowflake --activity \"migrating off Redshift\" --limit 50 --enrich"
    )]
    Submit(TechIntentSubmitArgs),
    /// Write the job's rows (waits for the job by default).
    #[command(
        after_help = "EXAMPLES:\n  openfunnel tech-intent results \"$job\" --format csv > companies.csv"
    )]
    Results(ResultsArgs),
    /// Print the job's status as one JSON object.
    #[command(after_help = "EXAMPLES:\n  openfunnel tech-intent status \"$job\"")]
    Status(JobArgs),
    /// Not offered: OpenFunnel cannot cancel tech-intent jobs (hidden; it
    /// says so instead of "unrecognized subcommand").
    #[command(hide = true)]
    Cancel(JobArgs),
}

#[derive(Debug, Args)]
pub struct LookalikeSubmitArgs {
    /// Natural-language trait, 1-200 characters.
    #[arg(long)]
    pub query: Option<String>,
    /// A seed company's website (up to 10).
    #[arg(long = "seed-domain")]
    pub seed_domains: Vec<String>,
    /// Companies to return, 1-10000.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Minimum employee count.
    #[arg(long, alias = "min-employee-count")]
    pub min_employees: Option<u64>,
    /// Maximum employee count.
    #[arg(long, alias = "max-employee-count")]
    pub max_employees: Option<u64>,
    /// Funding stage to keep (repeatable): Pre-Seed, Seed, Series A to
    /// Series H, Acquired, Private or Public.
    #[arg(long = "funding-stage")]
    pub funding_stages: Vec<String>,
    /// HQ country, ISO alpha-3 or EU (repeatable).
    #[arg(long = "location", alias = "hq-country-code")]
    pub locations: Vec<String>,
    /// Refuse the job if its worst-case cost (1 credit per company) exceeds N.
    #[arg(long)]
    pub max_credits: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TechIntentSubmitArgs {
    /// Technology searched for in job postings, 1-128 characters.
    #[arg(long)]
    pub tech: String,
    /// How the posting must use it, 1-500 characters.
    #[arg(long)]
    pub activity: String,
    /// Alternate phrasing of the activity (repeatable).
    #[arg(long = "variation")]
    pub variations: Vec<String>,
    /// How far back to look, 1-365 days.
    #[arg(long)]
    pub lookback_days: Option<u32>,
    /// Qualified companies wanted, 1-500.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Add firmographics to each company.
    #[arg(long)]
    pub enrich: bool,
    /// HQ country, ISO alpha-3 (turns enrichment on).
    #[arg(long = "location", alias = "hq-country-code")]
    pub location: Option<String>,
    /// Minimum employee count (turns enrichment on).
    #[arg(long, alias = "min-employee-count")]
    pub min_employees: Option<u64>,
    /// Maximum employee count (turns enrichment on).
    #[arg(long, alias = "max-employee-count")]
    pub max_employees: Option<u64>,
    /// Keep the technology vendor's own postings (dropped by default).
    #[arg(long)]
    pub include_vendor: bool,
    /// Keep job aggregators and reposters (dropped by default).
    #[arg(long)]
    pub include_aggregators: bool,
    /// A LinkedIn company slug to skip (repeatable).
    #[arg(long = "exclude-company", value_name = "SLUG")]
    pub exclude_companies: Vec<String>,
    /// Refuse the job if its worst-case cost (20 credits per company) exceeds N.
    #[arg(long)]
    pub max_credits: Option<u64>,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job id printed by `submit`.
    pub job_id: String,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The job id printed by `submit`.
    pub job_id: String,
    /// Write the rows the job has written so far and exit, without waiting
    /// for more (exit 0; a request that fails is still an error).
    #[arg(long)]
    pub no_wait: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// CSV: write text cells exactly as received. By default a cell that
    /// begins with = + - @, a tab or a carriage return (a formula to
    /// spreadsheets) gets a leading ' so it opens as text.
    #[arg(long)]
    pub raw_csv: bool,
    /// Continue an interrupted export into --output.
    #[arg(long, requires = "output")]
    pub resume: bool,
    /// Write at most ROWS rows, then stop (exit 0); with --output, the
    /// checkpoint records it and --resume continues up to it. Also the
    /// progress bar's total.
    #[arg(long, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Stop the whole export after SECS seconds, even while rows arrive and
    /// in the middle of a request (exit code 5; --resume continues it).
    /// Default: no limit.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Stop when SECS seconds pass without progress: no new row or page, no
    /// status or stage change (exit code 5; --resume continues it). An
    /// export that keeps moving is never stopped by it.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub idle_timeout: u64,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Rows the simulated job produces, 1-10000.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub rows: u32,
}

/// How rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// A header row, then one row per company; nested values as JSON text.
    Csv,
    /// One JSON array.
    Json,
}

impl Format {
    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_is_named_as_format_takes_it() {
        for format in [Format::Jsonl, Format::Csv, Format::Json] {
            let parsed = Format::from_str(format.name(), true).unwrap();
            assert_eq!(parsed, format);
        }
        assert_eq!(Format::Jsonl.name(), "jsonl");
    }
}
