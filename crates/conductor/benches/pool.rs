//! conductor::pool against Python's process pools on tiny tasks, same run,
//! medians and ratios printed.
//!
//! `cargo bench -p conductor --bench pool` runs everything; `--quick` runs
//! fewer rounds and tasks.
//!
//! * conductor: 2 workers running an echo worker (this very binary started
//!   with `--worker`, serving `conductor::worker::serve`), tasks of 8 bytes
//!   pushed through `Pool::run_all`, with 1 and with 16 tasks in flight per
//!   worker, on a current-thread and on a 2-thread tokio runtime.
//! * Python (benches/py/pool_bench.py): multiprocessing.Pool.map and
//!   concurrent.futures.ProcessPoolExecutor.map, 2 workers, chunksize=1.
//! * Crash latency: a healthy worker of a 2-worker pool is SIGKILLed; how
//!   long until the pool counts the crash (target: 100 ms) and until its
//!   replacement is healthy (target: 1 s), medians and worst over rounds.
//!   The tests only catch hangs; these targets are checked here.
//!   `--latency` runs only this part.
//! * Monitoring cost (`--monitoring` runs only this part): throughput with
//!   worker monitoring on (sampled every 1 s, the default) and off, at 1
//!   and 16 in flight (target: under 3 % apart), as the median over pairs of
//!   pools built back to back, so that the machine's drift cancels within a
//!   pair, with the pools and their workers pinned to one CPU (in a process
//!   of their own), so that where the scheduler places them does not decide
//!   the rate; the same with sampling every 10 ms, 100 times as often, so that
//!   monitoring's own cost shows above the noise; and conductor's own CPU
//!   time (from /proc/self/stat) over a few seconds with 64 workers idle and
//!   with 64 workers busy, monitoring on and off.

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use conductor::pool::{Pool, PoolBuilder};
use conductor::Command;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

struct Args {
    quick: bool,
}

/// A pool builder whose workers are this very binary started with
/// `--worker` (the echo worker).
fn echo_workers() -> PoolBuilder {
    let exe = std::env::current_exe().unwrap();
    Pool::builder(move || {
        let mut cmd = Command::new(&exe);
        cmd.arg("--worker");
        cmd
    })
}

fn runtime(threads: usize) -> tokio::runtime::Runtime {
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap()
    }
}

/// Tasks/s of `rounds` runs of `n` tasks through a 2-worker pool.
fn conductor_rates(threads: usize, in_flight: usize, n: usize, rounds: usize) -> Vec<f64> {
    conductor_rates_monitored(
        threads,
        in_flight,
        n,
        rounds,
        Some(Duration::from_secs(1)),
        2,
    )
}

/// As [`conductor_rates`], with the given monitor interval and worker count.
fn conductor_rates_monitored(
    threads: usize,
    in_flight: usize,
    n: usize,
    rounds: usize,
    monitor: Option<Duration>,
    workers: usize,
) -> Vec<f64> {
    let rt = runtime(threads);
    // Async code runs inside a spawned task (block_on's thread is not a
    // runtime worker on the multi-thread runtime).
    rt.block_on(rt.spawn(async move {
        let pool = echo_workers()
            .workers(workers)
            .tasks_per_worker(in_flight)
            .queue_capacity(4096)
            .monitor_interval(monitor)
            .build()
            .await
            .unwrap();
        let inputs: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("t{:07}", i % 10_000_000).into_bytes())
            .collect();
        // Warm-up.
        for r in pool.run_all(inputs[..n.min(10_000)].to_vec()).await {
            r.unwrap();
        }
        let mut rates = Vec::new();
        for _ in 0..rounds {
            let batch = inputs.clone();
            let start = Instant::now();
            let results = pool.run_all(batch).await;
            let rate = n as f64 / start.elapsed().as_secs_f64();
            assert_eq!(results.len(), n);
            assert!(results
                .iter()
                .zip(&inputs)
                .all(|(r, i)| r.as_ref().is_ok_and(|r| r == i)));
            rates.push(rate);
        }
        pool.shutdown().await;
        rates
    }))
    .unwrap()
}

/// Per round: (crash noticed, replacement healthy) after SIGKILLing a worker.
fn crash_latencies(rounds: usize) -> Vec<(Duration, Duration)> {
    let rt = runtime(1);
    rt.block_on(async move {
        let pool = echo_workers().workers(2).build().await.unwrap();
        let mut out = Vec::new();
        for round in 0..rounds {
            let slot = round % 2;
            let victim = pool.stats().workers[slot].pid.unwrap();
            let crashes = pool.stats().worker_crashes;
            let start = Instant::now();
            let pid = rustix::process::Pid::from_raw(victim as i32).unwrap();
            rustix::process::kill_process(pid, rustix::process::Signal::KILL).unwrap();
            while pool.stats().worker_crashes == crashes {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            let noticed = start.elapsed();
            loop {
                let stats = pool.stats();
                let w = &stats.workers[slot];
                if w.healthy && w.pid.is_some_and(|p| p != victim) {
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            out.push((noticed, start.elapsed()));
            // Let the new worker outlive its start-up window, so that the
            // kills do not add up to a circuit-breaker trip.
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        pool.shutdown().await;
        out
    })
}

fn report_latency(rounds: usize) {
    let runs = crash_latencies(rounds);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let noticed: Vec<f64> = runs.iter().map(|r| ms(r.0)).collect();
    let healthy: Vec<f64> = runs.iter().map(|r| ms(r.1)).collect();
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let (n_med, n_max) = (median(noticed.clone()), worst(&noticed));
    let (h_med, h_max) = (median(healthy.clone()), worst(&healthy));
    println!("pool crash latency: SIGKILL of a healthy worker, {rounds} rounds (ms)");
    println!("  crash noticed         median {n_med:>8.2}  worst {n_max:>8.2}");
    println!("  replacement healthy   median {h_med:>8.2}  worst {h_max:>8.2}");
    println!(
        "  targets: noticed <= 100 ms: {}; replacement healthy <= 1000 ms: {}",
        if n_med <= 100.0 { "met" } else { "MISSED" },
        if h_med <= 1000.0 { "met" } else { "MISSED" }
    );
}

/// This process's user + system CPU time (its own, not its children's).
fn own_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    let hz = rustix::param::clock_ticks_per_second().max(1);
    Duration::from_micros(ticks * 1_000_000 / hz)
}

/// Conductor's CPU over `secs` seconds with 64 workers, idle or kept busy
/// (16 in flight each), with monitoring `monitor`; and the tasks done.
fn cpu_with_64_workers(busy: bool, monitor: Option<Duration>, secs: u64) -> (Duration, u64) {
    let rt = runtime(1);
    rt.block_on(async move {
        let pool = echo_workers()
            .workers(64)
            .tasks_per_worker(16)
            .queue_capacity(4096)
            .monitor_interval(monitor)
            .build()
            .await
            .unwrap();
        let before = own_cpu();
        let start = Instant::now();
        let window = Duration::from_secs(secs);
        let mut done = 0u64;
        if busy {
            let batch: Vec<Vec<u8>> = (0..20_000)
                .map(|i| format!("t{i:07}").into_bytes())
                .collect();
            while start.elapsed() < window {
                done += pool.run_all(batch.clone()).await.len() as u64;
            }
        } else {
            tokio::time::sleep(window).await;
        }
        let used = own_cpu() - before;
        pool.shutdown().await;
        (used, done)
    })
}

/// Median of `v`, and its interquartile range (first, third quartile).
fn quartiles(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.25), at(0.75))
}

/// Monitoring's cost in throughput at `in_flight`, sampling every `every`:
/// `pairs` pairs of pools, one monitored and one not, built one after the
/// other (which goes first alternates); each pool's rate is the median of
/// `rounds` runs of `n` tasks. Returns the per-pair differences (percent by
/// which the monitored pool was slower) and both pools' median rates.
fn monitoring_pairs(
    in_flight: usize,
    every: Duration,
    n: usize,
    rounds: usize,
    pairs: usize,
) -> (Vec<f64>, f64, f64) {
    let (mut diffs, mut on, mut off) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (mut rate_on, mut rate_off) = (0.0, 0.0);
        for monitored in [pair % 2 == 0, pair % 2 == 1] {
            let rate = median(conductor_rates_monitored(
                1,
                in_flight,
                n,
                rounds,
                monitored.then_some(every),
                2,
            ));
            if monitored {
                rate_on = rate;
            } else {
                rate_off = rate;
            }
        }
        diffs.push((rate_off - rate_on) / rate_off * 100.0);
        on.push(rate_on);
        off.push(rate_off);
    }
    (diffs, median(on), median(off))
}

/// Pins this process (its only thread, so every worker it starts too) to
/// one CPU: on a small shared machine, where the scheduler happens to place
/// the pool and its workers otherwise moves the rate by tens of percent from
/// one pool to the next, far more than what is measured.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pin_to_one_cpu() -> Option<usize> {
    use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
    let allowed = sched_getaffinity(None).ok()?;
    let cpu = (0..CpuSet::MAX_CPU).rev().find(|&c| allowed.is_set(c))?;
    let mut one = CpuSet::new();
    one.set(cpu);
    sched_setaffinity(None, &one).ok().map(|()| cpu)
}

/// Elsewhere there is no affinity call to pin with.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn pin_to_one_cpu() -> Option<usize> {
    None
}

/// The throughput half of `--monitoring`, run in a process of its own
/// (`--monitoring-pairs`) so that it can be pinned to one CPU from its start.
fn report_monitoring_pairs(quick: bool) {
    let pinned = pin_to_one_cpu();
    let (n, rounds, pairs) = if quick {
        (20_000, 2, 5)
    } else {
        (40_000, 3, 11)
    };
    println!(
        "pool monitoring cost: 2 workers, current-thread runtime, {}; {pairs} pairs of pools (one \
         monitored, one not, built back to back, order alternating), each pool's rate the median \
         of {rounds} runs of {n} echo tasks; difference = how much slower the monitored pool was, \
         median over the pairs [interquartile range]",
        match pinned {
            Some(cpu) => format!("pool and workers pinned to CPU {cpu}"),
            None => "not pinned (no sched_setaffinity here, or it was refused)".to_string(),
        }
    );
    for in_flight in [1, 16] {
        let (diffs, on, off) =
            monitoring_pairs(in_flight, Duration::from_secs(1), n, rounds, pairs);
        let (diff, q1, q3) = quartiles(diffs);
        println!(
            "  {in_flight:>2} in flight, sampling every 1 s (the default): off {off:>10.0}/s  \
             on {on:>10.0}/s  difference {diff:+.1}% [{q1:+.1}%, {q3:+.1}%] (target under 3%: {})",
            if diff.abs() < 3.0 { "met" } else { "MISSED" }
        );
        // The same with sampling 100 times as often: what monitoring costs
        // shows above the machine's noise, and the default pays 1/100 of it.
        let (diffs, on, off) =
            monitoring_pairs(in_flight, Duration::from_millis(10), n, rounds, pairs);
        let (diff, q1, q3) = quartiles(diffs);
        println!(
            "  {in_flight:>2} in flight, sampling every 10 ms (100x as often): off {off:>10.0}/s  \
             on {on:>10.0}/s  difference {diff:+.1}% [{q1:+.1}%, {q3:+.1}%], so about \
             {:+.2}% at the default 1 s",
            diff / 100.0
        );
    }
}

fn report_monitoring(quick: bool) {
    let mut pairs = StdCommand::new(std::env::current_exe().unwrap());
    pairs.arg("--monitoring-pairs");
    if quick {
        pairs.arg("--quick");
    }
    let status = pairs.status().expect("run the monitoring pairs");
    assert!(status.success(), "monitoring pairs: {status}");
    let secs = if quick { 3 } else { 10 };
    println!("conductor's own CPU with 64 workers over {secs} s (monitoring every 1 s vs off):");
    for busy in [false, true] {
        for monitor in [None, Some(Duration::from_secs(1))] {
            let (cpu, done) = cpu_with_64_workers(busy, monitor, secs);
            println!(
                "  {:<5} monitoring {:<3}  CPU {:>8.1} ms ({:.2}% of one core){}",
                if busy { "busy" } else { "idle" },
                if monitor.is_some() { "on" } else { "off" },
                cpu.as_secs_f64() * 1e3,
                cpu.as_secs_f64() / secs as f64 * 100.0,
                if busy {
                    format!(", {done} tasks")
                } else {
                    String::new()
                }
            );
        }
    }
}

fn python_rates(n: usize, rounds: usize) -> Vec<(String, f64)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/py/pool_bench.py");
    let out = match StdCommand::new("python3")
        .arg(script)
        .args([n.to_string(), rounds.to_string(), "2".into()])
        .output()
    {
        Ok(out) if out.status.success() => out,
        Ok(out) => {
            eprintln!(
                "python benchmark failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return Vec::new();
        }
        Err(err) => {
            eprintln!("python3 not available ({err}); skipping the Python comparison");
            return Vec::new();
        }
    };
    let mut by_name: Vec<(String, Vec<f64>)> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((name, rate)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(rate) = rate.parse::<f64>() else {
            continue;
        };
        match by_name.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(rate),
            None => by_name.push((name.to_string(), vec![rate])),
        }
    }
    by_name.into_iter().map(|(n, v)| (n, median(v))).collect()
}

fn main() {
    if std::env::args().any(|a| a == "--worker") {
        let served = conductor::worker::serve(|body: &[u8]| Ok::<_, Infallible>(body.to_vec()));
        std::process::exit(i32::from(served.is_err()));
    }
    let args = Args {
        quick: std::env::args().any(|a| a == "--quick"),
    };
    let latency_rounds = if args.quick { 5 } else { 15 };
    if std::env::args().any(|a| a == "--latency") {
        report_latency(latency_rounds);
        return;
    }
    if std::env::args().any(|a| a == "--monitoring-pairs") {
        report_monitoring_pairs(args.quick);
        return;
    }
    if std::env::args().any(|a| a == "--monitoring") {
        report_monitoring(args.quick);
        return;
    }
    // The same task count for every row; Python is slow, so it gets fewer rounds.
    let (n, rounds, py_rounds) = if args.quick {
        (50_000, 5, 3)
    } else {
        (200_000, 9, 3)
    };

    println!(
        "pool throughput: 2 workers, {n} echo tasks of 8 bytes per run; median tasks/s \
         ({rounds} rounds conductor, {py_rounds} rounds Python)"
    );
    let mut rows: Vec<(String, f64)> = Vec::new();
    for (threads, rt_name) in [(1, "current-thread"), (2, "multi-thread(2)")] {
        for in_flight in [1, 16] {
            let rate = median(conductor_rates(threads, in_flight, n, rounds));
            let name = format!("conductor {in_flight:>2} in flight/worker, {rt_name}");
            println!("  {name:<52} {rate:>12.0}");
            rows.push((name, rate));
        }
    }
    let py = python_rates(n, py_rounds);
    for (name, rate) in &py {
        let name = format!("python {name} (chunksize=1)");
        println!("  {name:<52} {rate:>12.0}");
    }
    let best = |in_flight: &str| {
        rows.iter()
            .filter(|(n, _)| n.contains(in_flight))
            .map(|(_, r)| *r)
            .fold(0.0, f64::max)
    };
    let (one, sixteen) = (best(" 1 in flight"), best("16 in flight"));
    println!(
        "  targets: 1 in flight >= 60000 tasks/s: {}; 16 in flight >= 1000000 tasks/s: {}",
        if one >= 60_000.0 { "met" } else { "MISSED" },
        if sixteen >= 1_000_000.0 {
            "met"
        } else {
            "MISSED"
        }
    );
    for (name, rate) in &py {
        println!(
            "  vs python {name}: conductor 1 in flight {:.1}x, 16 in flight {:.1}x",
            one / rate,
            sixteen / rate
        );
    }
    report_latency(latency_rounds);
    report_monitoring(args.quick);
}
