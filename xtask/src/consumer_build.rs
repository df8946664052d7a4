//! `cargo xtask consumer-builds`: what depending on `openfunnel` costs a user.
//!
//! For each feature set, a fresh binary crate that depends on the SDK by path
//! (with this workspace's `Cargo.lock`, so versions match) is built cold in its
//! own target directory under `target/consumer-builds/`; the table gives the
//! wall time, the number of crates compiled, and which heavy crates came in.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One way a user can depend on the SDK.
#[derive(Clone, Copy, Debug)]
pub struct FeatureSet {
    /// The name in the table and of the scratch directory.
    pub name: &'static str,
    /// Whether the crate's default features stay on.
    pub default_features: bool,
    /// The features added.
    pub features: &'static [&'static str],
}

/// The feature sets BENCHMARKS.md reports.
pub const FEATURE_SETS: [FeatureSet; 4] = [
    FeatureSet {
        name: "default",
        default_features: true,
        features: &[],
    },
    FeatureSet {
        name: "rustls-ring",
        default_features: false,
        features: &["rustls-ring"],
    },
    FeatureSet {
        name: "native-tls",
        default_features: false,
        features: &["native-tls"],
    },
    FeatureSet {
        name: "default+schemars",
        default_features: true,
        features: &["schemars"],
    },
];

/// Crates worth naming when they are in a build (the C builds and the second
/// `syn`), with how cargo's `Compiling` line for each begins.
const HEAVY: [(&str, &str); 5] = [
    ("aws-lc-sys", "aws-lc-sys v"),
    ("ring", "ring v"),
    ("openssl-sys", "openssl-sys v"),
    ("schemars_derive", "schemars_derive v"),
    ("syn v2", "syn v2."),
];

/// The scratch crate's manifest for `set`, depending on the SDK at `sdk`.
///
/// ```
/// let set = xtask::consumer_build::FEATURE_SETS[1];
/// let manifest = xtask::consumer_build::manifest(set, std::path::Path::new("/sdk"));
/// assert!(manifest.contains(r#"openfunnel = { path = "/sdk", default-features = false, features = ["rustls-ring"] }"#));
/// ```
pub fn manifest(set: FeatureSet, sdk: &Path) -> String {
    let features = set
        .features
        .iter()
        .map(|feature| format!("\"{feature}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut dependency = format!("openfunnel = {{ path = \"{}\"", sdk.display());
    if !set.default_features {
        dependency.push_str(", default-features = false");
    }
    if !features.is_empty() {
        dependency.push_str(&format!(", features = [{features}]"));
    }
    format!(
        "[package]\nname = \"consumer\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\n{dependency} }}\n"
    )
}

/// What one cold build measured.
#[derive(Debug)]
pub struct Measured {
    /// Wall time of `cargo build`.
    pub time: Duration,
    /// Crates compiled (`Compiling` lines, the consumer itself included).
    pub crates: usize,
    /// Which of the heavy crates were compiled.
    pub heavy: Vec<&'static str>,
}

/// Counts what `cargo build` printed on standard error.
///
/// ```
/// let log = "   Compiling ring v0.17.14\n   Compiling syn v2.0.1\n   Compiling consumer v0.0.0 (/x)\n    Finished";
/// let (crates, heavy) = xtask::consumer_build::read_log(log);
/// assert_eq!((crates, heavy), (3, vec!["ring", "syn v2"]));
/// ```
pub fn read_log(log: &str) -> (usize, Vec<&'static str>) {
    let compiled: Vec<&str> = log
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("Compiling "))
        .collect();
    let heavy = HEAVY
        .into_iter()
        .filter(|(_, begins)| compiled.iter().any(|line| line.starts_with(begins)))
        .map(|(name, _)| name)
        .collect();
    (compiled.len(), heavy)
}

/// Builds the scratch crate for `set` cold, under `scratch`.
pub fn measure(set: FeatureSet, root: &Path, scratch: &Path) -> std::io::Result<Measured> {
    let dir = scratch.join(set.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        manifest(set, &root.join("crates/openfunnel")),
    )?;
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    let built = openfunnel::Client::builder().with_api_key(\"of_x\").build();\n    println!(\"{}\", built.is_ok());\n}\n",
    )?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    let started = Instant::now();
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("build")
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .output()?;
    let time = started.elapsed();
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "the `{}` consumer did not build:\n{log}",
            set.name
        )));
    }
    let (crates, heavy) = read_log(&log);
    Ok(Measured {
        time,
        crates,
        heavy,
    })
}
