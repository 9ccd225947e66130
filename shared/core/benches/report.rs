//! Report aggregation benchmark: 1,000,000 synthetic history records (2,000 keys, 5,000
//! instances, two 7-day periods) folded into a `ReportBuilder` and finished.
//!
//! `cargo bench -p selfheal-core --bench report` runs criterion. With `REPORT_RSS=1` the binary
//! instead aggregates once and prints the elapsed time and the process's peak RSS (VmHWM from
//! /proc/self/status) — `bench/report_rss.sh` does that. Record generation mutates one record in
//! place, so the figures are the aggregation's own (generation is included in the time: an
//! upper bound).

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use selfheal_core::report::synthetic::SyntheticHistory;
use selfheal_core::report::{ReportBuilder, ReportConfig, ReportWindow, WindowEnd};

const RECORDS: usize = 1_000_000;
const NOW_MS: i64 = 1_718_186_400_000; // 2024-06-12T10:00:00Z

fn aggregate(n: usize) -> usize {
    let window =
        ReportWindow::new(NOW_MS, "Europe/Berlin", 7, WindowEnd::StartOfToday).expect("window");
    let (start, end) = window.span();
    let mut gen = SyntheticHistory::new(42, start, end, 2_000, 5_000);
    let mut b = ReportBuilder::new(window);
    for _ in 0..n {
        b.add(gen.next_record());
    }
    for i in 0..10_000i64 {
        b.add_alarm_history(
            &format!("cw-alarm-{}", i % 300),
            start + i * 120_000,
            if i % 2 == 0 { "ALARM" } else { "OK" },
        );
    }
    let report = b.finish(ReportConfig::default());
    report.keys.len()
}

/// The generator alone (to tell its cost from the aggregation's).
fn generate_only(n: usize) -> i64 {
    let window =
        ReportWindow::new(NOW_MS, "Europe/Berlin", 7, WindowEnd::StartOfToday).expect("window");
    let (start, end) = window.span();
    let mut gen = SyntheticHistory::new(42, start, end, 2_000, 5_000);
    let mut acc = 0i64;
    for _ in 0..n {
        acc = acc.wrapping_add(gen.next_record().received_at_ms);
    }
    acc
}

/// User + system CPU time of this process in ms (from /proc/self/stat, 10 ms resolution):
/// unlike wall time it does not count waiting for a CPU on a busy machine.
fn cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) * 10)
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("aggregate_1m_records", |b| {
        b.iter(|| black_box(aggregate(black_box(RECORDS))))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if std::env::var_os("REPORT_RSS").is_some() {
        let before = peak_rss_kib().unwrap_or(0);
        let cpu0 = cpu_ms().unwrap_or(0);
        let t = Instant::now();
        let keys = aggregate(RECORDS);
        let elapsed = t.elapsed();
        let cpu = cpu_ms().unwrap_or(0).saturating_sub(cpu0);
        let peak = peak_rss_kib().unwrap_or(0);
        let t = Instant::now();
        black_box(generate_only(RECORDS));
        let gen = t.elapsed();
        println!(
            "records={RECORDS} keys={keys} elapsed_ms={} cpu_ms={cpu} (of which generating records ~{} ms) peak_rss_kib={peak} peak_rss_mib={:.1} rss_before_kib={before}",
            elapsed.as_millis(),
            gen.as_millis(),
            peak as f64 / 1024.0
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
