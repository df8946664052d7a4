//! Measurements read from /proc (Linux): peak memory and open connections.

use std::time::Duration;

/// The peak resident set size of process `pid` ("self" for this one), from
/// `VmHWM` in /proc/PID/status.
pub fn peak_rss(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system, all threads) this process has used, from
/// /proc/self/stat, in clock ticks of 10 ms.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after ')'.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Runs `command` to completion, sampling its peak RSS every few
/// milliseconds (the last sample is the peak reached before it exited).
pub fn run_with_peak_rss(
    mut command: std::process::Command,
) -> std::io::Result<(std::process::ExitStatus, u64)> {
    let mut child = command.spawn()?;
    let pid = child.id().to_string();
    let mut peak = 0;
    loop {
        if let Some(rss) = peak_rss(&pid) {
            peak = peak.max(rss);
        }
        if let Some(status) = child.try_wait()? {
            return Ok((status, peak));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Established TCP connections whose local port is `port` (the server side
/// of connections to it), from /proc/net/tcp and /proc/net/tcp6.
pub fn connections_to(port: u16) -> usize {
    let port_hex = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // local address, remote address, state (01 = ESTABLISHED)
                    fields.len() > 3 && fields[1].ends_with(&port_hex) && fields[3] == "01"
                })
                .count()
        })
        .sum()
}
