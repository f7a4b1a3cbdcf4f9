//! This process's resource use, from /proc: CPU seconds and peak RSS.

/// User + system CPU seconds this process has used so far (all threads).
pub fn cpu_seconds() -> f64 {
    cpu_seconds_in("/proc/self/stat")
}

/// The same for another process (a server the bench started).
pub(super) fn cpu_seconds_of(pid: u32) -> f64 {
    cpu_seconds_in(&format!("/proc/{pid}/stat"))
}

fn cpu_seconds_in(stat_path: &str) -> f64 {
    // Fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    let Ok(stat) = std::fs::read_to_string(stat_path) else { return 0.0 };
    // The command name (field 2) may hold spaces; fields after it follow the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // `rest` starts at field 3, so fields 14 and 15 are at 11 and 12.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// A `/proc/self/status` field in bytes (`VmHWM`: peak RSS, `VmRSS`: current).
pub(super) fn status_bytes(field: &str) -> u64 {
    status_bytes_in("/proc/self/status", field)
}

/// The same for another process (a server the bench started).
pub(super) fn status_bytes_of(pid: u32, field: &str) -> u64 {
    status_bytes_in(&format!("/proc/{pid}/status"), field)
}

fn status_bytes_in(path: &str, field: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string(path) else { return 0 };
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Memory available to start new work without swapping (`MemAvailable`
/// of /proc/meminfo), 0 if unknown.
pub(super) fn available_memory() -> u64 {
    status_bytes_in("/proc/meminfo", "MemAvailable")
}

/// Resets the peak-RSS counter (`VmHWM`) so a phase's own peak can be read.
pub(super) fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0); harmless if refused.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Total size of the files under `dir`, recursively.
pub(super) fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let spin = std::time::Instant::now();
        while spin.elapsed().as_millis() < 50 {}
        assert!(cpu_seconds() > 0.0);
        assert!(status_bytes("VmRSS") > 1 << 20);
        assert!(status_bytes("VmHWM") >= status_bytes("VmRSS") / 2);
    }
}
