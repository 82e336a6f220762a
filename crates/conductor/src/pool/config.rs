//! What a pool is configured with: [`PoolConfig`] (plain values, with
//! defaults and validation) and [`Mode`] (how tasks travel to workers).

use std::time::Duration;

use crate::protocol::DEFAULT_MAX_FRAME_LEN;

use super::error::ConfigError;

/// How tasks and results travel between the pool and a worker.
///
/// ```
/// use conductor::pool::Mode;
/// assert_eq!(Mode::default(), Mode::Framed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// The frame protocol of `docs/protocol.md` ([`crate::protocol`]): task
    /// ids, per-task errors, health checks, several tasks in flight per
    /// worker, acknowledged shutdown.
    #[default]
    Framed,
    /// One task is one line on the worker's stdin, its result the next line
    /// on its stdout (without the newline), one task in flight per worker.
    /// For unmodified filters such as `cat`, `sed -u` or a Python loop that
    /// flushes each line. Task bodies must not contain `\n`. The program
    /// must flush each result line: programs whose stdio is fully buffered
    /// when writing to a pipe (`tr`, most C filters) need `stdbuf -oL`.
    ///
    /// The contract is one line in, one line out, in order: the pool writes
    /// a task's line and the worker's next complete line (ending with `\n`)
    /// is its result. Since lines carry no task ids, the pool enforces what
    /// it can observe:
    ///
    /// * A line arriving while no task is in flight on that worker is a
    ///   protocol violation: the worker is killed and replaced, and the task
    ///   it last answered, if that answer was not handed out yet, is retried
    ///   ([`TaskError::ProtocolViolation`](super::TaskError::ProtocolViolation)
    ///   once its attempts are used up).
    /// * A worker's answer is handed out, and its next task written, only
    ///   once no further output is waiting; a new worker's first answer must
    ///   also be followed by 50 ms of silence. So a program that writes two
    ///   lines (or more) per input line is caught on its first task, before
    ///   any of its answers is handed out.
    /// * A line without its newline at the end of the worker's output is not
    ///   a result: the worker crashed mid-answer, and its task is retried as
    ///   for any crash.
    ///
    /// The limit: a worker that answers correctly for a while and then, on
    /// some input, writes an extra line *after* the pool found it quiet and
    /// sent the next task, cannot be told from a worker answering that next
    /// task. The shift is caught when a line arrives with no task in flight
    /// (at the latest when the worker runs out of tasks), but answers handed
    /// out before then stand. Use [`Mode::Framed`], whose replies carry task
    /// ids, when a worker's output cannot be trusted to be one line per task.
    Lines,
}

/// A pool's settings. Build one with [`PoolBuilder`](super::PoolBuilder)
/// (or start from `PoolConfig::default()` and pass it to
/// [`PoolBuilder::config`](super::PoolBuilder::config)).
///
/// ```
/// use std::time::Duration;
/// let mut config = conductor::pool::PoolConfig::default();
/// config.workers = 2;
/// config.task_timeout = Some(Duration::from_secs(10));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Number of worker processes (at least 1). Default: the number of CPUs.
    pub workers: usize,
    /// Tasks sent to one worker before it answers ([`Mode::Framed`] only;
    /// line mode always uses 1). More in flight means fewer, larger writes.
    /// Default: 1.
    pub tasks_per_worker: usize,
    /// Tasks waiting for a worker; when the queue is full, submitting waits
    /// (backpressure). At least 1. Default: 1024.
    pub queue_capacity: usize,
    /// Longest a task may be in flight on a worker, counted from when it is
    /// written to a worker that is ready to work (so with several tasks in
    /// flight it includes time waiting inside the worker, but never the
    /// worker's start-up; see [`start_timeout`](Self::start_timeout)). On expiry the worker is stopped and
    /// replaced; the oldest expired task is charged an attempt (for a worker
    /// that runs tasks one at a time, the one it was stuck on) and the
    /// worker's other tasks are retried without charge. Default: none.
    pub task_timeout: Option<Duration>,
    /// Attempts per task (at least 1) when workers die, break the protocol
    /// or time out under it. Default: 3.
    pub attempts: u32,
    /// How long a new worker has to become able to work: to answer the
    /// health-check ping ([`Mode::Framed`]), or to read its first task
    /// ([`Mode::Lines`], which has no ping: a line worker is ready once it
    /// has read from its stdin or written a line). A worker that is not
    /// ready in time failed to start: it is replaced, and the tasks it held
    /// are retried without being charged an attempt. A task's
    /// [`task_timeout`](Self::task_timeout) clock starts only once its
    /// worker is ready. Default: 5 s.
    pub start_timeout: Duration,
    /// At shutdown, how long a worker gets to acknowledge and exit, and then
    /// again after SIGTERM, before SIGKILL. Default: 5 s.
    pub shutdown_grace: Duration,
    /// The wire format. Default: [`Mode::Framed`].
    pub mode: Mode,
    /// Largest result accepted from a worker, in bytes (frame payload or
    /// line); larger is a protocol violation. Tasks larger than this are
    /// rejected at submit. Default: 64 MiB.
    pub max_message_len: u32,
    /// Consecutive failed worker starts that open the circuit breaker.
    /// A start fails if the worker cannot be spawned, fails its health
    /// check, or dies within [`startup_window`](Self::startup_window)
    /// without answering a task; "consecutive" means with no task answered
    /// by any worker in between. Default: 5.
    pub circuit_threshold: u32,
    /// See [`circuit_threshold`](Self::circuit_threshold). Default: 1 s.
    pub startup_window: Duration,
    /// First respawn delay after a failed start; doubles with each
    /// consecutive failure of that worker slot. Default: 10 ms.
    pub backoff_base: Duration,
    /// Cap on the respawn delay. Default: 1 s.
    pub backoff_max: Duration,
    /// What tasks do while the circuit breaker is open and no worker is
    /// healthy. Default: [`OpenCircuit::FailFast`].
    pub open_circuit: OpenCircuit,
    /// Recycle a worker once it has been given this many tasks: it finishes
    /// them, is shut down and replaced (the replacement is started before
    /// it leaves). Default: `None` (never).
    pub max_tasks_per_worker: Option<u64>,
    /// Recycle a worker once it has run this long (as for
    /// [`max_tasks_per_worker`](Self::max_tasks_per_worker)). Default: `None`.
    pub max_worker_age: Option<Duration>,
    /// Recycle a worker (gracefully, after its current tasks) once its
    /// process tree's memory goes over this many bytes, as sampled every
    /// [`monitor_interval`](Self::monitor_interval). Default: `None`.
    pub worker_mem_soft: Option<u64>,
    /// Kill a worker whose process tree's memory goes over this many bytes:
    /// an OOM, its in-flight tasks retried under the usual rules and
    /// reported as [`TaskError::OutOfMemory`](super::TaskError::OutOfMemory)
    /// once out of attempts. Enforced by the kernel's memory controller when
    /// it can be (Linux: [`memory_limit`](crate::unix::CommandExt::memory_limit)
    /// on each worker; cgroup v2 or the v1 memory hierarchy), else by
    /// sampling every [`monitor_interval`](Self::monitor_interval) and
    /// killing the tree. Default: `None`.
    pub worker_mem_hard: Option<u64>,
    /// How often each worker's tree is measured (RSS, CPU time, open
    /// descriptors; [`WorkerStats`](super::WorkerStats)); `None` turns
    /// monitoring off (then the memory limits are only enforced by the
    /// kernel). Default: 1 s.
    pub monitor_interval: Option<Duration>,
}

/// What the pool does with tasks while its circuit breaker is open (workers
/// keep failing at start-up) and no worker is healthy. Either way the pool
/// keeps starting workers (with capped exponential backoff) and recovers by
/// itself once one is healthy.
///
/// ```
/// use std::time::Duration;
/// use conductor::pool::{OpenCircuit, Pool};
/// let _ = Pool::builder(|| conductor::Command::new("w"))
///     .open_circuit(OpenCircuit::Hold { give_up_after: Duration::from_secs(60) });
/// assert_eq!(OpenCircuit::default(), OpenCircuit::FailFast);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenCircuit {
    /// Queued and new tasks fail at once with
    /// [`TaskError::Degraded`](super::TaskError::Degraded).
    #[default]
    FailFast,
    /// Dispatch pauses: tasks stay queued (new ones are accepted while the
    /// queue has room) until a worker is healthy again. Only after
    /// `give_up_after` with the circuit open and no healthy worker do the
    /// queued tasks fail with [`TaskError::Degraded`](super::TaskError::Degraded), and new ones too
    /// until a worker is proven: it outlived the start-up window
    /// ([`PoolConfig::startup_window`]) or answered a task (a worker that
    /// merely starts, as a line worker counts as healthy while it starts,
    /// does not end it). The pool checks at each failed start, so
    /// it gives up at most one start attempt (start timeout plus backoff)
    /// later than `give_up_after`.
    Hold {
        /// How long the pool waits for a healthy worker before failing tasks.
        give_up_after: Duration,
    },
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            workers: std::thread::available_parallelism().map_or(4, |n| n.get()),
            tasks_per_worker: 1,
            queue_capacity: 1024,
            task_timeout: None,
            attempts: 3,
            start_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(5),
            mode: Mode::Framed,
            max_message_len: DEFAULT_MAX_FRAME_LEN,
            circuit_threshold: 5,
            startup_window: Duration::from_secs(1),
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_secs(1),
            open_circuit: OpenCircuit::FailFast,
            max_tasks_per_worker: None,
            max_worker_age: None,
            worker_mem_soft: None,
            worker_mem_hard: None,
            monitor_interval: Some(Duration::from_secs(1)),
        }
    }
}

impl PoolConfig {
    /// Checks every value is in range; the error says which is not.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first value out of range.
    ///
    /// ```
    /// let mut config = conductor::pool::PoolConfig::default();
    /// config.attempts = 0;
    /// assert_eq!(config.validate().unwrap_err().to_string(), "attempts must be at least 1, got 0");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        // The first setting whose check fails, in the order given.
        let first = |checks: &[(&'static str, bool)]| {
            checks
                .iter()
                .find(|(_, bad)| *bad)
                .map(|(setting, _)| *setting)
        };
        if self.workers == 0 {
            return Err(ConfigError::NoWorkers);
        }
        if self.tasks_per_worker == 0 {
            return Err(ConfigError::Zero {
                setting: "tasks_per_worker",
            });
        }
        if self.mode == Mode::Lines && self.tasks_per_worker != 1 {
            return Err(ConfigError::LinesNeedOneTask {
                tasks_per_worker: self.tasks_per_worker,
            });
        }
        if let Some(setting) = first(&[
            ("queue_capacity", self.queue_capacity == 0),
            ("attempts", self.attempts == 0),
            ("circuit_threshold", self.circuit_threshold == 0),
            ("max_tasks_per_worker", self.max_tasks_per_worker == Some(0)),
        ]) {
            return Err(ConfigError::Zero { setting });
        }
        let zero = Some(Duration::ZERO);
        if let Some(setting) = first(&[
            ("max_worker_age", self.max_worker_age == zero),
            ("monitor_interval", self.monitor_interval == zero),
        ]) {
            return Err(ConfigError::ZeroDuration { setting });
        }
        if let (Some(soft), Some(hard)) = (self.worker_mem_soft, self.worker_mem_hard) {
            if soft > hard {
                return Err(ConfigError::SoftAboveHard { soft, hard });
            }
        }
        if self.task_timeout == zero {
            return Err(ConfigError::ZeroDuration {
                setting: "task_timeout",
            });
        }
        Ok(())
    }

    /// Tasks in flight per worker, as the mode allows.
    pub(super) fn in_flight_limit(&self) -> usize {
        match self.mode {
            Mode::Framed => self.tasks_per_worker,
            Mode::Lines => 1,
        }
    }

    /// Delay before respawning a slot that failed `failures` starts in a row.
    pub(super) fn backoff(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (failures - 1).min(20);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let config = PoolConfig::default();
        assert_eq!(config.backoff(0), Duration::ZERO);
        assert_eq!(config.backoff(1), Duration::from_millis(10));
        assert_eq!(config.backoff(3), Duration::from_millis(40));
        assert_eq!(config.backoff(40), Duration::from_secs(1));
    }

    #[test]
    fn validation() {
        let mut config = PoolConfig {
            mode: Mode::Lines,
            tasks_per_worker: 4,
            ..PoolConfig::default()
        };
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("line mode"));
        config.tasks_per_worker = 1;
        assert!(config.validate().is_ok());
        config.queue_capacity = 0;
        assert!(config.validate().is_err());
    }
}
