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
    /// The child ran but did not exit successfully, and the caller asked for
    /// that to be an error ([`checked`](crate::Command::checked),
    /// [`Output::exit_ok`](crate::Output::exit_ok), [`ExitStatus::exit_ok`](crate::ExitStatus::exit_ok)
    /// with `?`). [`Error::exit_status`] gives the status.
    ExitStatus,
    /// A [`pre_exec`](crate::unix::CommandExt::pre_exec) closure returned an
    /// error in the child (Unix).
    PreExec,
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
            Operation::ExitStatus => "exited unsuccessfully:",
            Operation::PreExec => "a pre_exec closure failed for",
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
    /// For `Operation::ExitStatus`: the status, and the arguments run.
    exit: Option<(crate::ExitStatus, Vec<OsString>)>,
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
            exit: None,
        }
    }

    /// How much of the end of stderr a checked-run error quotes.
    pub(crate) const STDERR_TAIL: usize = 4096;

    /// The error for a child that exited unsuccessfully when the caller
    /// asked for a checked run: program (when known), arguments, status and
    /// the tail of stderr in the message; the whole output in `partial_output`.
    pub(crate) fn exit_failed(
        program: Option<&std::ffi::OsStr>,
        args: &[OsString],
        output: crate::Output,
    ) -> Error {
        let status = output.status;
        let mut detail = match program {
            Some(_) => display_command(program, args),
            None => "the process".to_string(),
        };
        detail.push_str(&format!(" ended with {status}"));
        let tail = stderr_tail(&output.stderr, Error::STDERR_TAIL);
        if !tail.is_empty() {
            detail.push_str("; stderr:\n");
            detail.push_str(&tail);
        }
        let mut e = Error::new(
            Operation::ExitStatus,
            io::Error::other(format!("process exited unsuccessfully: {status}")),
        )
        .with_detail(detail);
        if let Some(p) = program {
            e = e.with_program(p);
        }
        e.exit = Some((status, args.to_vec()));
        e.partial = Some(Box::new(output));
        e
    }

    /// For an [`Operation::ExitStatus`] error: the unsuccessful status.
    ///
    /// ```
    /// # fn main() {
    /// use conductor::blocking::Command;
    /// let err = Command::new("sh").args(["-c", "exit 9"]).checked(true).status().unwrap_err();
    /// assert_eq!(err.exit_status().and_then(|s| s.code()), Some(9));
    /// # }
    /// ```
    pub fn exit_status(&self) -> Option<crate::ExitStatus> {
        self.exit.as_ref().map(|(s, _)| *s)
    }

    /// For an [`Operation::ExitStatus`] error from a checked run: the
    /// arguments the program ran with (empty for `Output::exit_ok`).
    ///
    /// ```
    /// # fn main() {
    /// use conductor::blocking::Command;
    /// let err = Command::new("sh").args(["-c", "exit 1"]).checked(true).output().unwrap_err();
    /// assert_eq!(err.args(), ["-c", "exit 1"]);
    /// # }
    /// ```
    pub fn args(&self) -> &[OsString] {
        self.exit.as_ref().map_or(&[], |(_, a)| a.as_slice())
    }

    /// For an [`Operation::ExitStatus`] error: the end of what the child
    /// wrote to stderr (at most 4 KiB, from the start of a line where one is
    /// near), when stderr was captured.
    ///
    /// ```
    /// # fn main() {
    /// use conductor::blocking::Command;
    /// let err = Command::new("sh").args(["-c", "echo bad >&2; exit 1"]).checked(true).output().unwrap_err();
    /// assert_eq!(err.stderr_tail(), Some("bad\n".to_string()));
    /// # }
    /// ```
    pub fn stderr_tail(&self) -> Option<String> {
        self.exit.as_ref()?;
        let out = self.partial.as_ref()?;
        Some(stderr_tail(&out.stderr, Error::STDERR_TAIL))
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
    /// the status it ended with. For an unsuccessful checked run
    /// ([`Operation::ExitStatus`]): everything captured, and the status.
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

/// Keeps `kind()` and `raw_os_error()`: an error from the OS converts into
/// that OS error (as std's own process functions return it; the program and
/// step are lost, so log the `conductor::Error` first if you want them);
/// any other error is wrapped with its kind, and `get_ref()` gives it back.
impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(e.kind(), e),
        }
    }
}

/// For `?` on conversions that cannot fail (`try_into()` of a pipe into a
/// `Stdio`, as tokio code writes it).
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Error {
        match never {}
    }
}

impl From<crate::status::ExitStatusError> for Error {
    fn from(e: crate::status::ExitStatusError) -> Error {
        Error::exit_failed(
            None,
            &[],
            crate::Output {
                status: e.status(),
                ..Default::default()
            },
        )
    }
}

/// `prog "arg" ...` for messages.
fn display_command(program: Option<&std::ffi::OsStr>, args: &[OsString]) -> String {
    let mut s = format!("{:?}", program.unwrap_or_default());
    for a in args {
        s.push(' ');
        s.push_str(&format!("{a:?}"));
    }
    s
}

/// The last `max` bytes of `stderr` (lossy UTF-8), starting at a line start
/// when one is in the window.
fn stderr_tail(stderr: &[u8], max: usize) -> String {
    let start = stderr.len().saturating_sub(max);
    let mut tail = &stderr[start..];
    if start > 0 {
        if let Some(nl) = tail.iter().position(|&b| b == b'\n') {
            if nl + 1 < tail.len() {
                tail = &tail[nl + 1..];
            }
        }
    }
    String::from_utf8_lossy(tail).into_owned()
}

/// An I/O error from talking to a child (for `?` on pipe reads and writes).
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::new(Operation::Io, e)
    }
}
