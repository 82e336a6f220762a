//! What a pool tells its owner as it happens ([`PoolEvent`], through
//! [`PoolBuilder::on_event`](super::PoolBuilder::on_event)) and why workers
//! were replaced ([`RespawnCause`], counted in [`RespawnCounts`]).

use std::sync::Arc;

/// Called for every [`PoolEvent`]; must be quick and must not block (it runs
/// on the pool's tasks).
pub(super) type EventHook = Arc<dyn Fn(PoolEvent) + Send + Sync>;

/// Something that happened in a pool, passed to the hook set with
/// [`PoolBuilder::on_event`](super::PoolBuilder::on_event).
///
/// ```
/// use conductor::pool::PoolEvent;
/// let event = PoolEvent::WorkerStderr { worker: 0, pid: 42, line: b"oops".to_vec() };
/// if let PoolEvent::WorkerStderr { worker, line, .. } = &event {
///     eprintln!("[worker {worker}] {}", String::from_utf8_lossy(line));
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolEvent {
    /// A line a worker wrote on its stderr (without the newline, and without
    /// a CR before it). Lines longer than 16 KiB come in pieces.
    WorkerStderr {
        /// The worker slot, `0..workers`.
        worker: usize,
        /// The worker's process id.
        pid: u32,
        /// The line's bytes.
        line: Vec<u8>,
    },
    /// A replacement worker was started in a slot (after a loss, a failed
    /// start or a recycle).
    WorkerRespawned {
        /// The worker slot.
        worker: usize,
        /// Why the slot's previous worker had to be replaced.
        cause: RespawnCause,
    },
}

/// Why a worker was replaced.
///
/// ```
/// use conductor::pool::RespawnCause;
/// assert_eq!(RespawnCause::Crashed.to_string(), "crashed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RespawnCause {
    /// The previous worker exited or closed its pipes without being asked to.
    Crashed,
    /// The previous worker was killed for breaking the protocol.
    ProtocolViolation,
    /// The previous worker was killed because a task ran past the timeout.
    TimedOut,
    /// The previous start failed: the worker could not be spawned, failed
    /// its health check, or died right after starting.
    StartFailed,
    /// Recycled: the previous worker had been given
    /// [`max_tasks_per_worker`](super::PoolConfig::max_tasks_per_worker) tasks.
    MaxTasks,
    /// Recycled: the previous worker reached
    /// [`max_worker_age`](super::PoolConfig::max_worker_age).
    MaxAge,
    /// Recycled: the previous worker's tree used more memory than
    /// [`worker_mem_soft`](super::PoolConfig::worker_mem_soft).
    MemorySoftLimit,
    /// Recycled by a rolling restart ([`Pool::restart_workers`](super::Pool::restart_workers)).
    Restart,
    /// The previous worker's tree went over
    /// [`worker_mem_hard`](super::PoolConfig::worker_mem_hard) and was
    /// killed (by the kernel's memory controller or by the pool).
    OutOfMemory,
}

impl RespawnCause {
    /// Whether this is a planned replacement (the worker finished its tasks
    /// and was shut down), not a failure.
    ///
    /// ```
    /// use conductor::pool::RespawnCause;
    /// assert!(RespawnCause::MaxTasks.is_recycle());
    /// assert!(!RespawnCause::OutOfMemory.is_recycle());
    /// ```
    pub fn is_recycle(self) -> bool {
        matches!(
            self,
            RespawnCause::MaxTasks
                | RespawnCause::MaxAge
                | RespawnCause::MemorySoftLimit
                | RespawnCause::Restart
        )
    }
}

impl std::fmt::Display for RespawnCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RespawnCause::Crashed => "crashed",
            RespawnCause::ProtocolViolation => "protocol violation",
            RespawnCause::TimedOut => "timed out",
            RespawnCause::StartFailed => "start failed",
            RespawnCause::MaxTasks => "recycled after its task limit",
            RespawnCause::MaxAge => "recycled at its age limit",
            RespawnCause::MemorySoftLimit => "recycled over its memory soft limit",
            RespawnCause::Restart => "rolling restart",
            RespawnCause::OutOfMemory => "out of memory",
        })
    }
}

/// Respawns by cause, in [`PoolStats::respawn_causes`](super::PoolStats::respawn_causes);
/// the fields add up to [`PoolStats::respawns`](super::PoolStats::respawns).
///
/// ```
/// use conductor::pool::{RespawnCause, RespawnCounts};
/// let counts = RespawnCounts::default();
/// assert_eq!((counts.total(), counts.get(RespawnCause::TimedOut)), (0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RespawnCounts {
    /// After a crash.
    pub crashed: u64,
    /// After a protocol violation.
    pub protocol_violation: u64,
    /// After a task timeout.
    pub timed_out: u64,
    /// After a failed start.
    pub start_failed: u64,
    /// Recycled after its task limit.
    pub max_tasks: u64,
    /// Recycled at its age limit.
    pub max_age: u64,
    /// Recycled over its memory soft limit.
    pub memory_soft_limit: u64,
    /// Replaced by a rolling restart.
    pub restart: u64,
    /// After an OOM kill (memory hard limit).
    pub out_of_memory: u64,
}

impl RespawnCounts {
    /// The count for one cause.
    ///
    /// ```
    /// use conductor::pool::{RespawnCause, RespawnCounts};
    /// assert_eq!(RespawnCounts::default().get(RespawnCause::Crashed), 0);
    /// ```
    pub fn get(&self, cause: RespawnCause) -> u64 {
        match cause {
            RespawnCause::Crashed => self.crashed,
            RespawnCause::ProtocolViolation => self.protocol_violation,
            RespawnCause::TimedOut => self.timed_out,
            RespawnCause::StartFailed => self.start_failed,
            RespawnCause::MaxTasks => self.max_tasks,
            RespawnCause::MaxAge => self.max_age,
            RespawnCause::MemorySoftLimit => self.memory_soft_limit,
            RespawnCause::Restart => self.restart,
            RespawnCause::OutOfMemory => self.out_of_memory,
        }
    }

    /// All causes together.
    ///
    /// ```
    /// assert_eq!(conductor::pool::RespawnCounts::default().total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        self.crashed
            + self.protocol_violation
            + self.timed_out
            + self.start_failed
            + self.recycles()
            + self.out_of_memory
    }

    /// Planned replacements: task limit, age limit, memory soft limit and
    /// rolling restarts together.
    ///
    /// ```
    /// assert_eq!(conductor::pool::RespawnCounts::default().recycles(), 0);
    /// ```
    pub fn recycles(&self) -> u64 {
        self.max_tasks + self.max_age + self.memory_soft_limit + self.restart
    }

    pub(super) fn count(&mut self, cause: RespawnCause) {
        let n = match cause {
            RespawnCause::Crashed => &mut self.crashed,
            RespawnCause::ProtocolViolation => &mut self.protocol_violation,
            RespawnCause::TimedOut => &mut self.timed_out,
            RespawnCause::StartFailed => &mut self.start_failed,
            RespawnCause::MaxTasks => &mut self.max_tasks,
            RespawnCause::MaxAge => &mut self.max_age,
            RespawnCause::MemorySoftLimit => &mut self.memory_soft_limit,
            RespawnCause::Restart => &mut self.restart,
            RespawnCause::OutOfMemory => &mut self.out_of_memory,
        };
        *n += 1;
    }
}
