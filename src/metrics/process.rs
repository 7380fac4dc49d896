//! The standard process metrics (`process_cpu_seconds_total`,
//! `process_resident_memory_bytes`, `process_open_fds`), read from `/proc`
//! at scrape time: nothing is paid between scrapes. Elsewhere than Linux
//! they are simply absent.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::encode_one;

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on
/// every Linux architecture (`man 5 proc`).
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        if let Some(seconds) = cpu_seconds() {
            encode_one(
                &mut encoder,
                "process_cpu",
                "Total user and system CPU time spent",
                Some(&Unit::Seconds),
                &ConstCounter::new(seconds),
            )?;
        }
        if let Some(bytes) = resident_bytes() {
            encode_one(
                &mut encoder,
                "process_resident_memory",
                "Resident memory size",
                Some(&Unit::Bytes),
                &ConstGauge::new(bytes),
            )?;
        }
        if let Some(count) = open_fds() {
            encode_one(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors",
                None,
                &ConstGauge::new(count),
            )?;
        }
        Ok(())
    }
}

/// utime + stime, fields 14 and 15 of `/proc/self/stat`, counted after the
/// `)` that ends the command name (which may itself hold spaces).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// `VmRSS` of `/proc/self/status`, given in kB.
fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<i64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        assert!(cpu_seconds().unwrap() >= 0.0);
        assert!(resident_bytes().unwrap() > 0);
        assert!(open_fds().unwrap() > 0);
    }
}
