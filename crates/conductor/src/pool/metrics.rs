//! [`PoolStats::prometheus`]: a pool's counters, gauges and latency
//! histogram in the Prometheus text exposition format (version 0.0.4), for
//! node_exporter's textfile collector or any scraper.

use std::fmt::Write;

use super::events::RespawnCause;
use super::stats::PoolStats;

impl PoolStats {
    /// Renders the snapshot in the Prometheus text exposition format: each
    /// metric named `conductor_pool_*`, with `# HELP` and `# TYPE` lines;
    /// per-worker gauges carry a `worker` label, respawns a `cause` label,
    /// and task latency is a histogram in seconds.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(1).build().await?;
    /// pool.submit("x").await?;
    /// let text = pool.stats().prometheus();
    /// assert!(text.contains("conductor_pool_tasks_succeeded_total 1\n"));
    /// assert!(text.contains("conductor_pool_task_latency_seconds_count 1\n"));
    /// # Ok(()) }
    /// ```
    pub fn prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP conductor_pool_{name} {help}");
            let _ = writeln!(out, "# TYPE conductor_pool_{name} {kind}");
            for (suffix_labels, value) in samples {
                let _ = writeln!(out, "conductor_pool_{name}{suffix_labels} {value}");
            }
        };
        let one = |v: u64| vec![(String::new(), v.to_string())];
        let counters = [
            ("tasks_submitted_total", "Tasks accepted.", self.submitted),
            (
                "tasks_succeeded_total",
                "Tasks resolved with a result.",
                self.succeeded,
            ),
            (
                "tasks_failed_total",
                "Tasks resolved with an error.",
                self.failed,
            ),
            (
                "tasks_retried_total",
                "Task attempts put back in the queue.",
                self.retried,
            ),
            (
                "tasks_not_run_total",
                "Tasks never started (dispatch stopped).",
                self.not_run,
            ),
            (
                "task_timeouts_total",
                "Task attempts that ran past the timeout.",
                self.timeouts,
            ),
            (
                "worker_crashes_total",
                "Workers that exited without being asked to.",
                self.worker_crashes,
            ),
            (
                "protocol_violations_total",
                "Workers killed for breaking the protocol.",
                self.protocol_violations,
            ),
            (
                "worker_start_failures_total",
                "Worker starts that failed.",
                self.start_failures,
            ),
            (
                "worker_recycles_total",
                "Workers recycled (task or age limit, memory soft limit, rolling restart).",
                self.recycles,
            ),
            (
                "worker_oom_kills_total",
                "Workers killed over the memory hard limit.",
                self.oom_kills,
            ),
        ];
        for (name, help, v) in counters {
            metric(name, "counter", help, &one(v));
        }
        let c = self.respawn_causes;
        let causes = [
            RespawnCause::Crashed,
            RespawnCause::ProtocolViolation,
            RespawnCause::TimedOut,
            RespawnCause::StartFailed,
            RespawnCause::MaxTasks,
            RespawnCause::MaxAge,
            RespawnCause::MemorySoftLimit,
            RespawnCause::Restart,
            RespawnCause::OutOfMemory,
        ];
        let by_cause: Vec<_> = causes
            .iter()
            .map(|&cause| {
                (
                    format!("{{cause=\"{}\"}}", cause_label(cause)),
                    c.get(cause).to_string(),
                )
            })
            .collect();
        metric(
            "worker_respawns_total",
            "counter",
            "Replacement workers started, by cause.",
            &by_cause,
        );
        let gauges = [
            (
                "queue_depth",
                "Tasks waiting for a worker.",
                self.queue_depth as u64,
            ),
            (
                "tasks_in_flight",
                "Tasks assigned to workers and not yet answered.",
                self.in_flight as u64,
            ),
            (
                "healthy_workers",
                "Workers up and accepting tasks.",
                self.healthy_workers as u64,
            ),
            (
                "degraded",
                "1 while tasks fail fast (circuit open, no healthy worker).",
                u64::from(self.degraded),
            ),
            (
                "circuit_open",
                "1 while the circuit breaker is open.",
                u64::from(self.circuit_open),
            ),
        ];
        for (name, help, v) in gauges {
            metric(name, "gauge", help, &one(v));
        }
        let per_worker =
            |f: &dyn Fn(&super::WorkerStats) -> Option<String>| -> Vec<(String, String)> {
                self.workers
                    .iter()
                    .filter_map(|w| f(w).map(|v| (format!("{{worker=\"{}\"}}", w.index), v)))
                    .collect()
            };
        metric(
            "worker_resident_memory_bytes",
            "gauge",
            "Resident memory of the worker's process tree.",
            &per_worker(&|w| w.rss_bytes.map(|v| v.to_string())),
        );
        metric(
            "worker_cpu_seconds",
            "gauge",
            "CPU time used by the worker's current process tree.",
            &per_worker(&|w| w.cpu_time.map(|v| v.as_secs_f64().to_string())),
        );
        metric(
            "worker_open_fds",
            "gauge",
            "Open file descriptors in the worker's process tree.",
            &per_worker(&|w| w.open_fds.map(|v| v.to_string())),
        );
        metric(
            "worker_tasks_in_flight",
            "gauge",
            "Tasks assigned to the worker and not yet answered.",
            &per_worker(&|w| Some(w.in_flight.to_string())),
        );
        metric(
            "worker_tasks_completed_total",
            "counter",
            "Tasks the worker slot answered.",
            &per_worker(&|w| Some(w.completed.to_string())),
        );
        metric(
            "worker_busy_seconds_total",
            "counter",
            "Time the worker slot had a task in flight.",
            &per_worker(&|w| Some(w.busy.as_secs_f64().to_string())),
        );
        metric(
            "worker_spawns_total",
            "counter",
            "Processes started in the worker slot.",
            &per_worker(&|w| Some(w.spawns.to_string())),
        );
        let l = &self.latency;
        let mut hist: Vec<(String, String)> = l
            .buckets
            .iter()
            .map(|(le, n)| {
                (
                    format!("_bucket{{le=\"{}\"}}", le.as_secs_f64()),
                    n.to_string(),
                )
            })
            .collect();
        hist.push(("_bucket{le=\"+Inf\"}".into(), l.count.to_string()));
        hist.push(("_sum".into(), l.sum.as_secs_f64().to_string()));
        hist.push(("_count".into(), l.count.to_string()));
        metric(
            "task_latency_seconds",
            "histogram",
            "Task latency, from submission to the worker's answer.",
            &hist,
        );
        let quantiles = [
            ("0.5", l.p50),
            ("0.9", l.p90),
            ("0.99", l.p99),
            ("1", l.max),
        ]
        .iter()
        .map(|(q, d)| (format!("{{quantile=\"{q}\"}}"), d.as_secs_f64().to_string()))
        .collect::<Vec<_>>();
        metric(
            "task_latency_quantile_seconds",
            "gauge",
            "Task latency percentiles (within 12.5 %); quantile 1 is the maximum.",
            &quantiles,
        );
        out
    }
}

/// A cause as a label value.
fn cause_label(cause: RespawnCause) -> &'static str {
    match cause {
        RespawnCause::Crashed => "crashed",
        RespawnCause::ProtocolViolation => "protocol_violation",
        RespawnCause::TimedOut => "timed_out",
        RespawnCause::StartFailed => "start_failed",
        RespawnCause::MaxTasks => "max_tasks",
        RespawnCause::MaxAge => "max_age",
        RespawnCause::MemorySoftLimit => "memory_soft_limit",
        RespawnCause::Restart => "restart",
        RespawnCause::OutOfMemory => "out_of_memory",
    }
}
