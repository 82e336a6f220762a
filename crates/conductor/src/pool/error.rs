//! The pool's two error types: [`TaskError`] (how one task ended without a
//! result) and [`BuildError`] (why a pool could not be built).

use std::time::Duration;

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
        detail: String,
        /// Attempts made.
        attempts: u32,
    },

    /// The worker running the task went over the pool's memory hard limit
    /// ([`worker_mem_hard`](super::PoolConfig::worker_mem_hard)) on its last
    /// attempt and was killed (OOM), by the kernel's memory controller or by
    /// the pool.
    #[error("worker ran out of memory (killed over its {} limit) after {attempts} {}", size(*.limit), plural(*.attempts))]
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
        last_failure: String,
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

/// A byte count for messages: `200 MiB`, `1.5 GiB`, `512 bytes`.
fn size(bytes: u64) -> String {
    for (scale, unit) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
        if bytes >= scale {
            let v = bytes as f64 / scale as f64;
            return if v.fract() == 0.0 {
                format!("{v:.0} {unit}")
            } else {
                format!("{v:.1} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
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
    Invalid(String),

    /// `build` was called outside a tokio runtime.
    #[error("a worker pool needs a tokio runtime; call build() from inside one")]
    NoRuntime,

    /// The first worker could not be spawned (program not found, not
    /// executable...). Later spawn failures are retried instead.
    #[error("cannot start pool workers: {0}")]
    Spawn(#[from] crate::Error),
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
        // A raw status is a wait status on Unix, an exit code on Windows.
        let how = if cfg!(unix) {
            "signal: 9 (SIGKILL)"
        } else {
            "exit status: 9"
        };
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
            last_failure: "exited during start-up (exit status: 1)".into(),
        };
        assert_eq!(
            degraded.to_string(),
            "pool degraded: workers keep failing at start-up (last: exited during start-up (exit status: 1))"
        );
    }
}
