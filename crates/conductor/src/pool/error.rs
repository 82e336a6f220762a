//! The pool's error types: [`TaskError`] (how one task ended without a
//! result), [`BuildError`] (why a pool could not be built), and the typed
//! reasons inside them: [`Violation`] (how a worker broke the protocol),
//! [`StartFailure`] (why a worker was dropped at start), [`ConfigError`]
//! (which setting is out of range) and [`Answer`] (a reply named in them).

use std::time::Duration;

use super::size::ByteSize;
use crate::protocol::ProtocolError;
use crate::ExitStatus;

/// Why a task produced no result.
///
/// Every submitted task resolves exactly once, with its result or with one
/// of these. Variants that mention attempts count every attempt made,
/// including the last one, whose outcome the variant describes.
///
/// ```
/// use conductor::pool::TaskError;
/// let err = TaskError::Failed("bad input".into());
/// assert_eq!(err.to_string(), "worker reported an error: bad input");
/// assert_eq!(TaskError::ShutDown.to_string(), "the pool is shut down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The worker answered the task with a task error frame. Not retried:
    /// the worker is healthy and said no.
    #[error("worker reported an error: {0}")]
    Failed(String),

    /// The task ran longer than the task timeout on its last attempt; that
    /// worker was stopped and replaced.
    #[error("task timed out after {timeout:?} ({attempts} {})", plural(*.attempts))]
    TimedOut {
        /// The configured task timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },

    /// The worker running the task died on its last attempt (it exited,
    /// was killed by a signal, or closed its pipes).
    #[error("worker died ({status}) after {attempts} {}", plural(*.attempts))]
    WorkerDied {
        /// How the worker ended, e.g. `exit status: 3` or `signal: 9 (SIGKILL)`.
        status: ExitStatus,
        /// Attempts made.
        attempts: u32,
    },

    /// The worker running the task broke the protocol on its last attempt
    /// (garbage, an oversized frame, a reply to an unknown or already
    /// answered task...); it was killed and replaced.
    #[error("worker violated the protocol ({detail}) after {attempts} {}", plural(*.attempts))]
    ProtocolViolation {
        /// What the worker did wrong.
        detail: Violation,
        /// Attempts made.
        attempts: u32,
    },

    /// The worker running the task went over the pool's memory hard limit
    /// ([`worker_mem_hard`](super::PoolConfig::worker_mem_hard)) on its last
    /// attempt and was killed (OOM), by the kernel's memory controller or by
    /// the pool.
    #[error("worker ran out of memory (killed over its {} limit) after {attempts} {}", ByteSize(*.limit), plural(*.attempts))]
    OutOfMemory {
        /// The hard limit, in bytes.
        limit: u64,
        /// Attempts made.
        attempts: u32,
    },

    /// The pool is shutting down or gone; the task was not (or no longer) accepted.
    #[error("the pool is shut down")]
    ShutDown,

    /// Workers keep failing at start-up (the circuit breaker is open) and
    /// none is healthy, so tasks fail fast instead of waiting. The pool keeps
    /// trying to start workers and accepts tasks again once one is healthy.
    #[error("pool degraded: workers keep failing at start-up (last: {last_failure})")]
    Degraded {
        /// Why the most recent worker start failed.
        last_failure: StartFailure,
    },

    /// The task was never started: dispatch was stopped with
    /// [`Pool::stop_dispatch`](super::Pool::stop_dispatch) while it waited
    /// in the queue (or after its worker was lost before it ran to its end
    /// without using up an attempt).
    #[error("not run: dispatch was stopped")]
    NotRun,

    /// The task cannot be sent in the pool's mode: too large for a frame,
    /// or a newline inside a line-mode task.
    #[error("task cannot be sent to a worker: {0}")]
    Invalid(ProtocolError),
}

fn plural(attempts: u32) -> &'static str {
    if attempts == 1 {
        "attempt"
    } else {
        "attempts"
    }
}

/// Why [`PoolBuilder::build`](super::PoolBuilder::build) failed.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use conductor::pool::{BuildError, Pool};
/// let err = Pool::builder(|| conductor::Command::new("cat")).workers(0).build().await.unwrap_err();
/// assert!(matches!(err, BuildError::Invalid(_)));
/// assert_eq!(err.to_string(), "invalid pool configuration: a pool needs at least 1 worker, got 0");
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A configuration value is out of range.
    #[error("invalid pool configuration: {0}")]
    Invalid(#[from] ConfigError),

    /// `build` was called outside a tokio runtime.
    #[error("a worker pool needs a tokio runtime; call build() from inside one")]
    NoRuntime,

    /// The first worker could not be spawned (program not found, not
    /// executable...). Later spawn failures are retried instead.
    #[error("cannot start pool workers: {0}")]
    Spawn(#[from] crate::Error),
}

/// A reply a worker sent, as named in a [`Violation`] or [`StartFailure`].
///
/// ```
/// use conductor::pool::Answer;
/// assert_eq!(Answer::Pong { nonce: 7 }.to_string(), "pong (nonce 7)");
/// assert_eq!(Answer::Result { id: 3 }.to_string(), "result frame for task id 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Answer {
    /// A result frame.
    #[error("result frame for task id {id}")]
    Result {
        /// The task id it answered.
        id: u64,
    },
    /// A task error frame.
    #[error("task error frame for task id {id}")]
    TaskError {
        /// The task id it answered.
        id: u64,
    },
    /// A pong frame.
    #[error("pong (nonce {nonce})")]
    Pong {
        /// The nonce it carried.
        nonce: u64,
    },
    /// A shutdown acknowledgement.
    #[error("shutdown ack frame")]
    ShutdownAck,
}

/// How a worker broke the protocol (see [`TaskError::ProtocolViolation`]).
///
/// ```
/// use conductor::pool::Violation;
/// let v = Violation::NotInFlight { id: 4 };
/// assert_eq!(
///     v.to_string(),
///     "answered task id 4, which is not in flight (unknown or already answered)"
/// );
/// assert_eq!(Violation::ClosedOutput.to_string(), "closed its output but kept running");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// Line mode: the worker wrote a line while no task was in flight.
    #[error(
        "wrote a line while no task was in flight: \
         line mode needs exactly one output line per input line"
    )]
    UnsolicitedLine,
    /// The worker answered a task id that is not in flight: unknown, or
    /// already answered (a duplicate reply).
    #[error("answered task id {id}, which is not in flight (unknown or already answered)")]
    NotInFlight {
        /// The task id it answered.
        id: u64,
    },
    /// The worker sent a frame only the pool may send (task, ping, shutdown).
    #[error("worker sent a {kind} frame, which only the pool may send")]
    WrongSide {
        /// The frame type, e.g. `ping`.
        kind: crate::protocol::MessageType,
    },
    /// The worker's output could not be decoded (garbage, an oversized
    /// frame or line, bad header bytes...).
    #[error("{0}")]
    BadFrame(ProtocolError),
    /// A reply nobody asked for, e.g. a pong outside the health check.
    #[error("unexpected {0}")]
    Unsolicited(Answer),
    /// The worker closed its output but did not exit.
    #[error("closed its output but kept running")]
    ClosedOutput,
    /// Reading the worker's output failed, and it did not exit.
    #[error("cannot read the worker's output: {error} but kept running")]
    ReadFailed {
        /// The I/O error's message.
        error: String,
    },
    /// Writing to the worker's input failed (e.g. it closed it), and it did
    /// not exit.
    #[error("cannot write to the worker: {error} but kept running")]
    WriteFailed {
        /// The I/O error's message.
        error: String,
    },
    /// Waiting for the worker process failed.
    #[error("cannot wait for the worker: {error}")]
    WaitFailed {
        /// The error's message.
        error: String,
    },
}

/// Why a worker was dropped at start (see [`TaskError::Degraded`]): it
/// could not be spawned, failed its health check, or died or misbehaved
/// before it was proven.
///
/// ```
/// use conductor::pool::StartFailure;
/// let f = StartFailure::NoPong { limit: std::time::Duration::from_millis(100) };
/// assert_eq!(f.to_string(), "health check failed: no pong within 100ms");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartFailure {
    /// The worker program could not be spawned.
    #[error("cannot spawn: {error}")]
    Spawn {
        /// The spawn error's message.
        error: String,
    },
    /// The spawned worker has no stdin or stdout pipe.
    #[error("the worker's pipes are missing")]
    MissingPipes,
    /// The worker exited during its health check (or, line mode, before it).
    #[error("exited during start-up ({0})")]
    Exited(ExitStatus),
    /// Checking on or waiting for the worker process failed.
    #[error("cannot {action} the worker: {error}")]
    WaitFailed {
        /// `check` or `wait for`.
        action: &'static str,
        /// The error's message.
        error: String,
    },
    /// Frame mode: no pong within the start timeout.
    #[error("health check failed: no pong within {limit:?}")]
    NoPong {
        /// The start timeout.
        limit: Duration,
    },
    /// Frame mode: the ping could not be sent.
    #[error("health check failed: cannot send the ping: {error}")]
    PingNotSent {
        /// The error's message.
        error: String,
    },
    /// Frame mode: reading the answer to the ping failed.
    #[error("health check failed: cannot read: {error}")]
    PongNotRead {
        /// The error's message.
        error: String,
    },
    /// Frame mode: the worker closed its output before answering the ping.
    #[error("health check failed: closed its output before answering the ping")]
    ClosedBeforePong,
    /// Frame mode: the worker answered the ping with something else.
    #[error("health check failed: answered the ping with {0}")]
    WrongPingAnswer(Answer),
    /// Frame mode: the worker's answer to the ping broke the protocol.
    #[error("health check failed: {0}")]
    PingViolation(Violation),
    /// The worker died soon after passing its health check, without
    /// answering a task.
    #[error("worker died {after:.0?} after starting ({status})")]
    DiedAfterStart {
        /// How long after spawning.
        after: Duration,
        /// How it ended.
        status: ExitStatus,
    },
    /// Line mode: the worker died before reading its first task.
    #[error("worker died {after:.0?} after starting, before reading its first task ({status})")]
    DiedBeforeReading {
        /// How long after spawning.
        after: Duration,
        /// How it ended.
        status: ExitStatus,
    },
    /// The worker broke the protocol right after start, without answering
    /// a task.
    #[error("protocol violation right after start: {0}")]
    ViolationAfterStart(Violation),
    /// Line mode: the worker broke the protocol before reading its first task.
    #[error("protocol violation at start: {0}")]
    ViolationAtStart(Violation),
    /// Line mode: the worker did not read its first task within the start timeout.
    #[error("did not read its first task within {limit:?}")]
    NotReady {
        /// The start timeout.
        limit: Duration,
    },
}

/// Which [`PoolConfig`](super::PoolConfig) value is out of range (see
/// [`PoolConfig::validate`](super::PoolConfig::validate)).
///
/// ```
/// use conductor::pool::ConfigError;
/// assert_eq!(
///     ConfigError::NoWorkers.to_string(),
///     "a pool needs at least 1 worker, got 0"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `workers` is 0.
    #[error("a pool needs at least 1 worker, got 0")]
    NoWorkers,
    /// A count that must be at least 1 is 0.
    #[error("{setting} must be at least 1, got 0")]
    Zero {
        /// The setting's name, e.g. `attempts`.
        setting: &'static str,
    },
    /// A duration that must be positive is zero.
    #[error("{setting} must be positive")]
    ZeroDuration {
        /// The setting's name, e.g. `task_timeout`.
        setting: &'static str,
    },
    /// Line mode with more than 1 task per worker.
    #[error("line mode matches results to tasks by order, so it runs 1 task per worker, got tasks_per_worker = {tasks_per_worker}")]
    LinesNeedOneTask {
        /// The configured value.
        tasks_per_worker: usize,
    },
    /// The memory soft limit is above the hard limit.
    #[error("worker_mem_soft ({soft} bytes) must not be above worker_mem_hard ({hard} bytes)")]
    SoftAboveHard {
        /// The soft limit, in bytes.
        soft: u64,
        /// The hard limit, in bytes.
        hard: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let died = TaskError::WorkerDied {
            status: ExitStatus::from_raw(9),
            attempts: 3,
        };
        // Unix's words, else Windows's.
        let os = |unix, windows| if cfg!(unix) { unix } else { windows };
        // A raw status is a wait status on Unix, an exit code on Windows.
        let how = os("signal: 9 (SIGKILL)", "exit code: 9");
        assert_eq!(
            died.to_string(),
            format!("worker died ({how}) after 3 attempts")
        );
        let timed_out = TaskError::TimedOut {
            timeout: Duration::from_millis(200),
            attempts: 1,
        };
        assert_eq!(
            timed_out.to_string(),
            "task timed out after 200ms (1 attempt)"
        );
        let oom = TaskError::OutOfMemory {
            limit: 200 << 20,
            attempts: 3,
        };
        assert_eq!(
            oom.to_string(),
            "worker ran out of memory (killed over its 200 MiB limit) after 3 attempts"
        );
        let degraded = TaskError::Degraded {
            last_failure: StartFailure::Exited(ExitStatus::from_raw(if cfg!(unix) {
                1 << 8
            } else {
                1
            })),
        };
        // std's wording: "exit status" on Unix, "exit code" on Windows.
        let exited = os("exit status: 1", "exit code: 1");
        assert_eq!(
            degraded.to_string(),
            format!(
                "pool degraded: workers keep failing at start-up (last: exited during start-up ({exited}))"
            )
        );
    }
}
