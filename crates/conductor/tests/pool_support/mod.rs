//! Helpers for the pool tests: worker commands, bounded waits, /proc checks.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use conductor::pool::{Mode, Pool, PoolBuilder};
use conductor::Command;

/// The stdlib Python worker from examples/python (upper-cases bodies;
/// `fail...`, `sleep:S`, `crash` bodies test failures).
pub fn python_worker() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/conductor_worker.py")
}

/// The misbehaving test worker (see its docstring).
pub fn rogue_worker() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/workers/rogue_worker.py")
}

/// A worker factory: `program ARGS`.
pub fn worker(
    program: &'static str,
    args: &'static [&'static str],
) -> impl Fn() -> Command + Send + Sync + 'static {
    move || {
        let mut cmd = Command::new(program);
        cmd.args(args);
        cmd
    }
}

/// A worker factory: `sh -c SCRIPT`.
pub fn sh(script: impl Into<String>) -> impl Fn() -> Command + Send + Sync + 'static {
    let script = script.into();
    move || {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        cmd
    }
}

/// A builder for a pool of `workers` line workers, each `sh -c SCRIPT`.
pub fn sh_lines(script: impl Into<String>, workers: usize) -> PoolBuilder {
    Pool::builder(sh(script)).mode(Mode::Lines).workers(workers)
}

/// Builds the pool `builder` describes, failing the test after `secs`.
pub async fn built(secs: u64, builder: PoolBuilder) -> Pool {
    within(secs, "build", builder.build()).await.unwrap()
}

/// A builder for a pool of Python frame workers.
pub fn python_pool(args: &'static [&'static str]) -> PoolBuilder {
    Pool::builder(move || {
        let mut cmd = Command::new("python3");
        cmd.arg(python_worker()).args(args);
        cmd
    })
}

/// A builder for a pool of rogue workers with `args`.
pub fn rogue_pool(args: Vec<String>) -> PoolBuilder {
    Pool::builder(move || {
        let mut cmd = Command::new("python3");
        cmd.arg(rogue_worker()).args(&args);
        cmd
    })
}

/// Multiplier for time bounds in the pool tests: bounds only catch hangs
/// and must hold on a loaded 2-core machine, so they are this many times
/// what an idle machine needs. Latency targets live in the pool benchmark
/// (`cargo bench -p conductor --bench pool`), which reports them.
pub const SLACK: u32 = 10;

/// Awaits `fut`, failing the test after `secs`.
pub async fn within<F: Future>(secs: u64, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {secs}s: {what}"),
    }
}

/// Polls `cond` every 5 ms until it holds; panics after `limit`. Returns
/// how long it took.
pub async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        if start.elapsed() > limit {
            panic!("not true after {limit:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs `inputs` through `pool` with `run_all` (the test fails after
/// `secs`) and asserts that each task's result is `answer(input)`.
pub async fn assert_answers<T: Clone + Into<Vec<u8>>>(
    pool: &Pool,
    secs: u64,
    inputs: &[T],
    answer: impl Fn(&T) -> Vec<u8>,
) {
    let results = within(secs, "run_all", pool.run_all(inputs.to_vec())).await;
    for (input, result) in inputs.iter().zip(results) {
        assert_eq!(result.unwrap(), answer(input));
    }
}

/// Whether `pid` still exists as a child of this process (running or zombie).
pub fn is_our_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(close) = stat.rfind(')') else {
        return false;
    };
    let ppid = stat[close + 2..].split_whitespace().nth(1);
    ppid.and_then(|p| p.parse::<u32>().ok()) == Some(std::process::id())
}

/// The pids of the pool's current workers.
pub fn worker_pids(pool: &Pool) -> Vec<u32> {
    pool.stats().workers.iter().filter_map(|w| w.pid).collect()
}

/// Inputs `0..n` as decimal strings.
pub fn numbered(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("task-{i}").into_bytes()).collect()
}
