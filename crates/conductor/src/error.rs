//! The crate's one error type: what failed, for which program, and the OS error behind it.

use std::ffi::OsString;
use std::fmt;
use std::io;

/// The operation that failed, carried by every [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Checking the builder's input (NUL bytes, sizes) before spawning.
    Validate,
    /// Creating pipes or opening files for the child's stdio.
    Stdio,
    /// Creating the child process (clone, vfork, CreateProcess).
    Spawn,
    /// Changing into the requested working directory in the child.
    ChangeDirectory,
    /// Setting the child's user, group, session or process group.
    Credentials,
    /// Arranging the child's file descriptors.
    FileDescriptors,
    /// Replacing the child's image with the program (execve).
    Exec,
    /// Waiting for the child to exit.
    Wait,
    /// Sending a signal to the child.
    Signal,
    /// Reading from or writing to the child's pipes.
    Io,
    /// Setting up process-tree containment (process group, cgroup, job object).
    Containment,
    /// Applying resource limits in the child.
    ResourceLimits,
    /// The command ran past its timeout and was stopped.
    Timeout,
    /// Asking for the child's pidfd when it has none (Linux SIGCHLD fallback).
    Pidfd,
    /// Setting up the child's memory cgroup for
    /// [`memory_limit`](crate::unix::CommandExt::memory_limit) (Linux): no
    /// usable memory controller (`kind()` is `Unsupported`), or the cgroup
    /// could not be made, limited or joined.
    MemoryLimit,
}

impl Operation {
    fn describe(self) -> &'static str {
        match self {
            Operation::Validate => "invalid command",
            Operation::Stdio => "cannot set up stdio",
            Operation::Spawn => "cannot spawn",
            Operation::ChangeDirectory => "cannot change directory",
            Operation::Credentials => "cannot set credentials",
            Operation::FileDescriptors => "cannot arrange file descriptors",
            Operation::Exec => "cannot execute",
            Operation::Wait => "cannot wait for",
            Operation::Signal => "cannot signal",
            Operation::Io => "i/o error talking to",
            Operation::Containment => "cannot contain",
            Operation::ResourceLimits => "cannot apply resource limits to",
            Operation::Timeout => "timed out:",
            Operation::Pidfd => "no pidfd for",
            Operation::MemoryLimit => "cannot limit the memory of",
        }
    }
}

/// Why an operation failed, when conductor knows more than the OS error says:
/// a typed cause that callers can act on (and render in their own terms, as
/// the `conductor` CLI does with its `--containment best`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// [`Containment::Cgroup`](crate::Containment::Cgroup) was asked for and no
    /// cgroup can be made here: no writable cgroup2 mount, or a platform
    /// without cgroups. [`Containment::BestAvailable`](crate::Containment::BestAvailable)
    /// falls back to a process group instead of failing.
    ///
    /// ```
    /// # fn main() {
    /// use conductor::{blocking::Command, Containment, Reason};
    /// match Command::new("true").containment(Containment::Cgroup).status() {
    ///     Ok(status) => assert!(status.success()),
    ///     Err(e) => assert_eq!(e.reason(), Some(Reason::CgroupUnavailable)),
    /// }
    /// # }
    /// ```
    CgroupUnavailable,
}

/// An error from conductor: the operation, the program it concerned, a detail
/// and the underlying OS error.
///
/// It converts into [`std::io::Error`] (so `?` works in functions returning
/// `io::Result`) and exposes [`Error::kind`] and [`Error::raw_os_error`] like one.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let err = conductor::Command::new("/definitely/not/here").spawn().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(err.operation(), conductor::Operation::Exec);
/// assert!(err.to_string().contains("/definitely/not/here"));
/// # }
/// ```
#[derive(Debug)]
pub struct Error {
    op: Operation,
    program: Option<OsString>,
    detail: Option<String>,
    source: io::Error,
    reason: Option<Reason>,
    partial: Option<Box<crate::Output>>,
}

/// `Result` with conductor's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(op: Operation, source: io::Error) -> Error {
        Error {
            op,
            program: None,
            detail: None,
            source,
            reason: None,
            partial: None,
        }
    }

    pub(crate) fn with_program(mut self, program: impl Into<OsString>) -> Error {
        self.program = Some(program.into());
        self
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Error {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn with_reason(mut self, reason: Reason) -> Error {
        self.reason = Some(reason);
        self
    }

    pub(crate) fn invalid_input(program: &std::ffi::OsStr, detail: impl Into<String>) -> Error {
        Error::new(
            Operation::Validate,
            io::Error::new(io::ErrorKind::InvalidInput, "invalid input"),
        )
        .with_program(program)
        .with_detail(detail)
    }

    /// The error for a command stopped at its timeout, with what it printed so far.
    pub(crate) fn timed_out(
        program: &std::ffi::OsStr,
        limit: std::time::Duration,
        partial: crate::Output,
    ) -> Error {
        let mut e = Error::new(
            Operation::Timeout,
            io::Error::new(io::ErrorKind::TimedOut, "timed out"),
        )
        .with_program(program)
        .with_detail(format!(
            "still running after {limit:?}; its process tree was stopped ({})",
            partial.status
        ));
        e.partial = Some(Box::new(partial));
        e
    }

    /// True when this is a timeout (`kind() == TimedOut`).
    pub fn is_timeout(&self) -> bool {
        self.op == Operation::Timeout
    }

    /// For a timeout: the output collected before the child was stopped, and
    /// the status it ended with.
    ///
    /// ```
    /// # fn main() {
    /// use std::time::Duration;
    /// let err = conductor::blocking::Command::new("sh").args(["-c", "echo early; sleep 300"])
    ///     .timeout(Duration::from_millis(300))
    ///     .output()
    ///     .unwrap_err();
    /// assert!(err.is_timeout());
    /// assert_eq!(err.partial_output().unwrap().stdout, b"early\n");
    /// # }
    /// ```
    pub fn partial_output(&self) -> Option<&crate::Output> {
        self.partial.as_deref()
    }

    /// The operation that failed.
    pub fn operation(&self) -> Operation {
        self.op
    }

    /// The program concerned, when known.
    pub fn program(&self) -> Option<&std::ffi::OsStr> {
        self.program.as_deref()
    }

    /// The typed cause, when conductor knows one (see [`Reason`]).
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }

    /// A human-readable detail (for example which argument held a NUL byte).
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The `io::ErrorKind` of the underlying error.
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The OS error code, when the failure came from the OS.
    pub fn raw_os_error(&self) -> Option<i32> {
        self.source.raw_os_error()
    }

    /// The underlying `io::Error`.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.op.describe())?;
        if let Some(p) = &self.program {
            write!(f, " `{}`", p.to_string_lossy())?;
        }
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if self.source.raw_os_error().is_some() || self.detail.is_none() {
            write!(f, ": {}", self.source)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

/// An I/O error from talking to a child (for `?` on pipe reads and writes).
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::new(Operation::Io, e)
    }
}
