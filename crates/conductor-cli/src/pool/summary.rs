//! The summary line printed at the end of `conductor pool`.
//!
//! Tasks: succeeded + failed + not run = tasks read. Respawns are broken
//! down by cause, and the causes add up to the respawns. The time is from
//! when the workers were ready to the last result: their start-up is
//! reported apart and not counted in the rate.

use conductor::pool::{PoolStats, TaskError};
use std::time::Duration;

/// Tasks by outcome, as the CLI saw them.
#[derive(Default)]
pub struct Tally {
    /// With a result.
    pub ok: u64,
    /// With an error.
    pub failed: u64,
    /// Never started (after a signal).
    pub not_run: u64,
}

impl Tally {
    /// Counts one outcome.
    pub fn count(&mut self, result: &Result<Vec<u8>, TaskError>) {
        match result {
            Ok(_) => self.ok += 1,
            Err(TaskError::NotRun) => self.not_run += 1,
            Err(_) => self.failed += 1,
        }
    }

    /// Tasks that ran to an outcome.
    pub fn done(&self) -> u64 {
        self.ok + self.failed
    }
}

/// The summary (without the `conductor: ` prefix).
pub fn line(tally: &Tally, stats: &PoolStats, work: Duration, start_up: Duration) -> String {
    let mut s = format!("{} succeeded, {} failed", tally.ok, tally.failed);
    if tally.not_run > 0 {
        s.push_str(&format!(", {} not run", tally.not_run));
    }
    s.push_str(&format!(
        ", {} retried, {} worker crashes, {} respawns",
        stats.retried, stats.worker_crashes, stats.respawns
    ));
    let c = stats.respawn_causes;
    let causes: Vec<String> = [
        (c.crashed, "after crashes"),
        (c.protocol_violation, "after protocol violations"),
        (c.timed_out, "after timeouts"),
        (c.start_failed, "after failed starts"),
        (c.max_tasks, "after task limits"),
        (c.max_age, "after age limits"),
        (c.memory_soft_limit, "after memory soft limits"),
        (c.restart, "by rolling restart"),
        (c.out_of_memory, "after OOM kills"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !causes.is_empty() {
        s.push_str(&format!(" ({})", causes.join(", ")));
    }
    if stats.recycles > 0 || stats.oom_kills > 0 {
        s.push_str(&format!(
            ", {} recycled, {} OOM-killed",
            stats.recycles, stats.oom_kills
        ));
    }
    let secs = work.as_secs_f64();
    s.push_str(&format!(
        ", {} timeouts in {secs:.2}s ({} tasks/s; workers started in {:.2}s)",
        stats.timeouts,
        super::progress::rate_text(tally.done() as f64 / secs.max(1e-9)),
        start_up.as_secs_f64()
    ));
    s
}

/// With `--json`, the summary as one JSON object on stderr: task counts,
/// retries, crashes, respawns, recycles, OOM kills, timeouts and latency
/// percentiles (milliseconds).
pub fn json(tally: &Tally, stats: &PoolStats) -> String {
    let l = &stats.latency;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "{{\"summary\":{{\"succeeded\":{},\"failed\":{},\"not_run\":{},\"retried\":{},\"worker_crashes\":{},\"respawns\":{},\"recycles\":{},\"oom_kills\":{},\"timeouts\":{},\"latency_ms\":{{\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}}}}}",
        tally.ok,
        tally.failed,
        tally.not_run,
        stats.retried,
        stats.worker_crashes,
        stats.respawns,
        stats.recycles,
        stats.oom_kills,
        stats.timeouts,
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.max)
    )
}
