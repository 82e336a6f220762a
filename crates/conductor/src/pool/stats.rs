//! Counters the pool keeps and the snapshot [`Pool::stats`](super::Pool::stats) returns.

use std::time::Duration;

use super::events::RespawnCounts;
pub use super::latency::LatencyStats;

/// Running totals, updated under the pool lock in batches.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Counters {
    pub submitted: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub retried: u64,
    pub crashes: u64,
    pub respawns: u64,
    pub timeouts: u64,
    pub violations: u64,
    pub not_run: u64,
    pub respawn_causes: RespawnCounts,
    pub start_failures: u64,
    pub recycles: u64,
    pub oom_kills: u64,
}

/// A snapshot of a pool's activity, from [`Pool::stats`](super::Pool::stats).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conductor::{pool::{Mode, Pool}, Command};
/// let pool = Pool::builder(|| Command::new("cat")).workers(2).mode(Mode::Lines).build().await?;
/// pool.submit(b"x".to_vec()).await?;
/// let stats = pool.stats();
/// assert_eq!((stats.submitted, stats.succeeded, stats.healthy_workers), (1, 1, 2));
/// pool.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Tasks accepted (refused submissions are not counted).
    pub submitted: u64,
    /// Tasks resolved with a result.
    pub succeeded: u64,
    /// Tasks resolved with an error.
    pub failed: u64,
    /// Times a task was put back in the queue for another attempt.
    pub retried: u64,
    /// Workers that exited or closed their output without being asked to.
    pub worker_crashes: u64,
    /// Workers killed for breaking the protocol.
    pub protocol_violations: u64,
    /// Workers started after the first generation.
    pub respawns: u64,
    /// [`respawns`](Self::respawns) by cause; they add up to `respawns`.
    pub respawn_causes: RespawnCounts,
    /// Tasks resolved as [`TaskError::NotRun`](super::TaskError::NotRun)
    /// (queued when dispatch was stopped); counted in neither
    /// `succeeded` nor `failed`.
    pub not_run: u64,
    /// Task attempts that ran past the task timeout.
    pub timeouts: u64,
    /// Tasks waiting for a worker.
    pub queue_depth: usize,
    /// Tasks assigned to workers and not yet answered.
    pub in_flight: usize,
    /// Workers up and accepting tasks.
    pub healthy_workers: usize,
    /// Whether the circuit breaker is open with no healthy worker, so that
    /// tasks fail fast with [`TaskError::Degraded`](super::TaskError::Degraded)
    /// (with [`OpenCircuit::Hold`](super::OpenCircuit::Hold): from when it
    /// gave up until a worker is proven).
    pub degraded: bool,
    /// Whether the circuit breaker is open (workers keep failing at
    /// start-up; with [`OpenCircuit::Hold`](super::OpenCircuit::Hold),
    /// dispatch is paused and tasks wait).
    pub circuit_open: bool,
    /// Worker starts that failed: not spawned, not ready within the start
    /// timeout, or dead before proving themselves.
    pub start_failures: u64,
    /// Workers recycled: task limit, age limit, memory soft limit, rolling
    /// restart (counted when decided; see
    /// [`RespawnCounts::recycles`] for the replacements started).
    pub recycles: u64,
    /// Workers killed for going over the memory hard limit.
    pub oom_kills: u64,
    /// Task latency (submitted to answered) over the pool's life.
    pub latency: LatencyStats,
    /// One entry per worker slot.
    pub workers: Vec<WorkerStats>,
}

/// One worker slot in [`PoolStats`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conductor::{pool::{Mode, Pool}, Command};
/// let pool = Pool::builder(|| Command::new("cat")).workers(1).mode(Mode::Lines).build().await?;
/// pool.submit("x").await?;
/// let worker = &pool.stats().workers[0];
/// assert_eq!((worker.index, worker.completed, worker.spawns), (0, 1, 1));
/// assert!(worker.healthy && worker.pid.is_some());
/// pool.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The slot's index, `0..workers`; replacements keep their slot's index.
    pub index: usize,
    /// The process id of the slot's current worker, if one is running.
    pub pid: Option<u32>,
    /// Whether the worker passed its health check and accepts tasks.
    pub healthy: bool,
    /// Tasks assigned to it and not yet answered.
    pub in_flight: usize,
    /// Tasks it answered (results and task errors), over all its processes.
    pub completed: u64,
    /// Time during which it had at least one task in flight, over all its processes.
    pub busy: Duration,
    /// Processes started in this slot.
    pub spawns: u64,
    /// The current worker tree's resident memory (sum over its processes),
    /// at the last sample; `None` before the first sample or without
    /// monitoring ([`PoolConfig::monitor_interval`](super::PoolConfig::monitor_interval)).
    pub rss_bytes: Option<u64>,
    /// CPU time (user + system) used by the current worker tree, at the last sample.
    pub cpu_time: Option<Duration>,
    /// Open file descriptors in the current worker tree, at the last sample.
    pub open_fds: Option<u64>,
    /// Processes in the current worker tree, at the last sample.
    pub processes: Option<u64>,
}
