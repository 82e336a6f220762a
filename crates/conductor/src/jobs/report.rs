//! What the runner reports: one [`TaskReport`] per task, and the events of a run.

use super::Captured;
use crate::{Error, ExitStatus, ResourceUsage};
use std::ffi::OsString;
use std::time::{Duration, SystemTime};

/// How a task ended.
#[derive(Debug)]
pub enum Outcome {
    /// It exited on its own (a code, or a signal not sent by the runner).
    Exited(ExitStatus),
    /// It ran past the timeout; its tree was stopped.
    TimedOut(ExitStatus),
    /// The run was stopped (`halt now`, or [`Control::stop_all`](super::Control::stop_all))
    /// and its tree with it: it did not finish.
    Stopped(ExitStatus),
    /// It could not be started.
    SpawnFailed(Error),
}

/// One finished task.
#[derive(Debug)]
pub struct TaskReport {
    /// The input's sequence number (1-based, as given in [`Input`](super::Input)).
    pub seq: u64,
    /// The input item.
    pub item: OsString,
    /// The command that ran (the template expanded).
    pub argv: Vec<OsString>,
    /// The slot it ran in (1..=concurrency).
    pub slot: usize,
    /// How its last attempt ended.
    pub outcome: Outcome,
    /// Attempts made (1 plus retries).
    pub attempts: u32,
    /// When the first attempt started.
    pub start: SystemTime,
    /// From the first attempt's start to the last one's end.
    pub duration: Duration,
    /// The host it ran on.
    pub host: String,
    /// The last attempt's stdout (empty unless captured).
    pub stdout: Captured,
    /// The last attempt's stderr (empty unless captured).
    pub stderr: Captured,
    /// Bytes the last attempt wrote on both streams (captured or streamed).
    pub output_bytes: u64,
    /// CPU and memory of the last attempt, when known.
    pub usage: Option<ResourceUsage>,
}

impl TaskReport {
    /// True when the task exited with status 0.
    pub fn succeeded(&self) -> bool {
        matches!(&self.outcome, Outcome::Exited(s) if s.success())
    }

    /// The exit status, when the task ran.
    pub fn status(&self) -> Option<ExitStatus> {
        match &self.outcome {
            Outcome::Exited(s) | Outcome::TimedOut(s) | Outcome::Stopped(s) => Some(*s),
            Outcome::SpawnFailed(_) => None,
        }
    }

    /// True when the kernel's OOM killer killed a process of the task's tree
    /// (known with a memory limit).
    pub fn oom_killed(&self) -> bool {
        self.usage.is_some_and(|u| u.oom_killed)
    }

    /// The status as a shell would give it: the code, 128+N for signal N;
    /// 127 for a program not found, 126 for one that cannot run, 125 for
    /// other spawn failures.
    pub fn exit_code(&self) -> i32 {
        match &self.outcome {
            Outcome::SpawnFailed(e) => spawn_failure_code(e),
            _ => {
                let s = self.status().expect("ran");
                super::task_exit_code(s.code(), s.signal())
            }
        }
    }
}

/// 127 for not found, 126 for not executable, else 125.
pub(crate) fn spawn_failure_code(e: &Error) -> i32 {
    use std::io::ErrorKind;
    if e.operation() == crate::Operation::Exec {
        match e.kind() {
            ErrorKind::NotFound => return 127,
            ErrorKind::PermissionDenied => return 126,
            _ => {}
        }
        if e.raw_os_error() == Some(libc::ENOEXEC) {
            return 126;
        }
    }
    125
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltReason {
    /// The halt policy triggered.
    Policy,
    /// The program is not found (or cannot be executed); no further task is
    /// started, since every one would fail the same way.
    CommandNotFound,
}

/// What a run reports, in the order it happens.
#[derive(Debug)]
pub enum Event {
    /// A task started (its first attempt).
    Started {
        /// Its sequence number.
        seq: u64,
        /// Its item.
        item: std::ffi::OsString,
        /// Its slot.
        slot: usize,
    },
    /// A line of output ([`OutputMode::Lines`](super::OutputMode::Lines) only).
    Line {
        /// The task's sequence number.
        seq: u64,
        /// Which stream.
        stream: Stream,
        /// The line, with its newline (the last one of a stream may lack it).
        line: Vec<u8>,
    },
    /// A task finished.
    Finished(Box<TaskReport>),
    /// The run stops early: no task starts after this.
    Halted {
        /// Why.
        reason: HaltReason,
        /// The task that caused it.
        seq: u64,
        /// Its exit status (as [`TaskReport::exit_code`]).
        code: i32,
    },
}
