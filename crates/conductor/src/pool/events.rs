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
    /// A replacement worker was started in a slot.
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
}

impl std::fmt::Display for RespawnCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RespawnCause::Crashed => "crashed",
            RespawnCause::ProtocolViolation => "protocol violation",
            RespawnCause::TimedOut => "timed out",
            RespawnCause::StartFailed => "start failed",
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
        }
    }

    /// All causes together.
    ///
    /// ```
    /// assert_eq!(conductor::pool::RespawnCounts::default().total(), 0);
    /// ```
    pub fn total(&self) -> u64 {
        self.crashed + self.protocol_violation + self.timed_out + self.start_failed
    }

    pub(super) fn count(&mut self, cause: RespawnCause) {
        let n = match cause {
            RespawnCause::Crashed => &mut self.crashed,
            RespawnCause::ProtocolViolation => &mut self.protocol_violation,
            RespawnCause::TimedOut => &mut self.timed_out,
            RespawnCause::StartFailed => &mut self.start_failed,
        };
        *n += 1;
    }
}
