//! How a child ended ([`ExitStatus`]), what it printed ([`Output`]) and what it cost
//! ([`ResourceUsage`]).

use std::fmt;
use std::time::Duration;

/// How a child process ended: an exit code, or (on Unix) the signal that killed it.
///
/// Mirrors [`std::process::ExitStatus`]: the same methods, `Display` and
/// `Debug` output identical to std's for every raw status, conversions both
/// ways, and the Unix `ExitStatusExt` surface ([`crate::unix::ExitStatusExt`];
/// the methods are inherent too, so no import is needed). `Default` is a
/// successful exit.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// let status = conductor::blocking::Command::new("sh").args(["-c", "exit 3"]).status()?;
/// assert_eq!(status.code(), Some(3));
/// assert!(!status.success());
/// assert_eq!(status.to_string(), "exit status: 3");
/// assert!(status.exit_ok().is_err());
/// let std_status: std::process::ExitStatus = status.into();
/// assert_eq!(std_status.code(), Some(3));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExitStatus {
    /// Unix: the wait status as `waitpid` reports it. Windows: the exit code.
    raw: i32,
}

/// `ExitStatus` methods that are std's `ExitStatusExt` ones on Unix and a
/// fixed answer on Windows: `name() -> Type, else windows_value;`.
macro_rules! unix_status_methods {
    ($($(#[$meta:meta])* $name:ident() -> $ty:ty, else $windows:expr;)*) => {
        $(
            $(#[$meta])*
            pub fn $name(&self) -> $ty {
                #[cfg(unix)]
                return std::os::unix::process::ExitStatusExt::$name(&self.to_std());
                #[cfg(windows)]
                $windows
            }
        )*
    };
}

impl ExitStatus {
    /// Builds a status from a raw value: the `waitpid` status on Unix, the exit code on Windows.
    ///
    /// ```
    /// let s = conductor::ExitStatus::from_raw(0);
    /// assert!(s.success());
    /// ```
    pub fn from_raw(raw: i32) -> ExitStatus {
        ExitStatus { raw }
    }

    /// The raw value: the `waitpid` status on Unix, the exit code on Windows.
    ///
    /// ```
    /// assert_eq!(conductor::ExitStatus::from_raw(256).into_raw(), 256);
    /// ```
    pub fn into_raw(self) -> i32 {
        self.raw
    }

    /// The same status as a [`std::process::ExitStatus`].
    fn to_std(self) -> std::process::ExitStatus {
        #[cfg(unix)]
        return std::os::unix::process::ExitStatusExt::from_raw(self.raw);
        #[cfg(windows)]
        return std::os::windows::process::ExitStatusExt::from_raw(self.raw as u32);
    }

    /// True when the child exited with code 0.
    ///
    /// ```
    /// assert!(conductor::ExitStatus::default().success());
    /// ```
    pub fn success(&self) -> bool {
        // std's rule: only the all-zero raw status is a success.
        self.raw == 0
    }

    /// `Ok(())` for a successful exit; otherwise an [`ExitStatusError`]
    /// carrying this status (std's unstable `exit_ok`). It converts into
    /// [`crate::Error`] and `io::Error`, so `?` works.
    ///
    /// # Errors
    ///
    /// [`ExitStatusError`] carrying this status when the exit was not successful.
    ///
    /// ```
    /// let failed = conductor::ExitStatus::from_raw(if cfg!(unix) { 2 << 8 } else { 2 });
    /// let err = failed.exit_ok().unwrap_err();
    /// assert_eq!(err.status(), failed);
    /// assert_eq!(err.code(), Some(2));
    /// ```
    pub fn exit_ok(self) -> Result<(), ExitStatusError> {
        if self.success() {
            Ok(())
        } else {
            Err(ExitStatusError { status: self })
        }
    }

    /// The exit code, or `None` when the child was killed (or stopped) by a signal.
    ///
    /// ```
    /// assert_eq!(conductor::ExitStatus::default().code(), Some(0));
    /// ```
    pub fn code(&self) -> Option<i32> {
        self.to_std().code()
    }

    unix_status_methods! {
        /// The signal that killed the child, if any (always `None` on Windows).
        ///
        /// ```
        /// # #[cfg(unix)]
        /// assert_eq!(conductor::ExitStatus::from_raw(9).signal(), Some(9));
        /// ```
        signal() -> Option<i32>, else None;

        /// True when the child was killed by a signal and dumped core.
        ///
        /// ```
        /// # #[cfg(unix)]
        /// assert!(conductor::ExitStatus::from_raw(0x80 | 11).core_dumped());
        /// ```
        core_dumped() -> bool, else false;

        /// The signal that stopped the child, for a status from a `WUNTRACED`
        /// wait (never returned by conductor's own waits).
        ///
        /// ```
        /// # #[cfg(unix)]
        /// assert_eq!(conductor::ExitStatus::from_raw(0x137f).stopped_signal(), Some(0x13));
        /// ```
        stopped_signal() -> Option<i32>, else None;

        /// True for a "continued" status (`WIFCONTINUED`), from a `WCONTINUED`
        /// wait (never returned by conductor's own waits).
        ///
        /// ```
        /// # #[cfg(target_os = "linux")]
        /// assert!(conductor::ExitStatus::from_raw(0xffff).continued());
        /// ```
        continued() -> bool, else false;
    }
}

/// Identical to std's (`exit status: 3`, `signal: 9 (SIGKILL)`, `stopped (not
/// terminated) by signal: ...`, `unrecognised wait status: ...`).
impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_std(), f)
    }
}

/// Identical to std's.
impl fmt::Debug for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_std(), f)
    }
}

impl From<std::process::ExitStatus> for ExitStatus {
    fn from(s: std::process::ExitStatus) -> ExitStatus {
        #[cfg(unix)]
        let raw = std::os::unix::process::ExitStatusExt::into_raw(s);
        #[cfg(windows)]
        let raw = s.code().unwrap_or(0);
        ExitStatus { raw }
    }
}

impl From<ExitStatus> for std::process::ExitStatus {
    fn from(s: ExitStatus) -> std::process::ExitStatus {
        s.to_std()
    }
}

impl PartialEq<std::process::ExitStatus> for ExitStatus {
    fn eq(&self, other: &std::process::ExitStatus) -> bool {
        self.to_std() == *other
    }
}

/// A non-successful [`ExitStatus`], from [`ExitStatus::exit_ok`] (std's
/// unstable `ExitStatusError`). Displays as std's does:
/// `process exited unsuccessfully: exit status: 1`.
///
/// ```
/// # fn main() {
/// fn run() -> std::io::Result<()> {
///     conductor::blocking::Command::new("false").status()?.exit_ok()?;
///     Ok(())
/// }
/// assert!(run().is_err());
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExitStatusError {
    status: ExitStatus,
}

impl ExitStatusError {
    /// The unsuccessful status.
    pub fn status(&self) -> ExitStatus {
        self.status
    }

    /// Its exit code, when it exited (rather than being killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The exit code as a non-zero value, when there is one.
    pub fn code_nonzero(&self) -> Option<std::num::NonZeroI32> {
        self.code().and_then(std::num::NonZeroI32::new)
    }

    /// The status (std's `into_status`).
    pub fn into_status(self) -> ExitStatus {
        self.status
    }
}

impl fmt::Display for ExitStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process exited unsuccessfully: {}", self.status)
    }
}

impl std::error::Error for ExitStatusError {}

impl From<ExitStatusError> for std::io::Error {
    fn from(e: ExitStatusError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

impl From<ExitStatusError> for ExitStatus {
    fn from(e: ExitStatusError) -> ExitStatus {
        e.status
    }
}

/// The conventional name of a signal number (`SIGKILL` for 9), if it has one,
/// from the platform's own constants (numbering differs between Linux
/// architectures, the BSDs and macOS). Always `None` on Windows.
///
/// ```
/// # #[cfg(unix)]
/// assert_eq!(conductor::signal_name(libc::SIGKILL), Some("SIGKILL"));
/// # #[cfg(unix)]
/// assert_eq!(conductor::signal_name(libc::SIGUSR1), Some("SIGUSR1"));
/// ```
pub fn signal_name(sig: i32) -> Option<&'static str> {
    #[cfg(unix)]
    return crate::sys::signal_names::name(sig);
    #[cfg(windows)]
    {
        let _ = sig;
        None
    }
}

/// What a child printed, and how it ended. Mirrors [`std::process::Output`]:
/// exactly its three public fields, so `let Output { status, stdout, stderr } = ...`
/// works, and conversions both ways. Whether a capped capture was cut is
/// reported by [`Captured`] (from `capture()`), not here.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::Output;
/// let Output { status, stdout, stderr } = conductor::blocking::Command::new("echo").arg("hi").output()?;
/// assert!(status.success());
/// assert_eq!(stdout, b"hi\n");
/// assert!(stderr.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// How the child ended.
    pub status: ExitStatus,
    /// Everything the child wrote to stdout (when it was piped).
    pub stdout: Vec<u8>,
    /// Everything the child wrote to stderr (when it was piped).
    pub stderr: Vec<u8>,
}

impl Output {
    /// `Ok(self)` when the child exited successfully; otherwise an
    /// [`Error`](crate::Error) with [`Operation::ExitStatus`](crate::Operation::ExitStatus)
    /// that carries the status ([`Error::exit_status`](crate::Error::exit_status)),
    /// the tail of stderr in its message, and this output
    /// ([`Error::partial_output`](crate::Error::partial_output)). For an error
    /// that also names the program and its arguments, use the
    /// [`checked`](crate::Command::checked) builder flag.
    ///
    /// # Errors
    ///
    /// [`Operation::ExitStatus`](crate::Operation::ExitStatus) when the child did not exit
    /// successfully; the error carries the status and the output's tail.
    ///
    /// ```
    /// # fn main() {
    /// let err = conductor::blocking::Command::new("sh").args(["-c", "echo boom >&2; exit 4"])
    ///     .output().unwrap().exit_ok().unwrap_err();
    /// assert_eq!(err.exit_status().unwrap().code(), Some(4));
    /// assert!(err.to_string().contains("boom"), "{err}");
    /// # }
    /// ```
    pub fn exit_ok(self) -> crate::Result<Output> {
        if self.status.success() {
            Ok(self)
        } else {
            Err(crate::Error::exit_failed(None, &[], self))
        }
    }
}

impl From<std::process::Output> for Output {
    fn from(o: std::process::Output) -> Output {
        Output {
            status: o.status.into(),
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

impl From<Output> for std::process::Output {
    fn from(o: Output) -> std::process::Output {
        std::process::Output {
            status: o.status.into(),
            stdout: o.stdout,
            stderr: o.stderr,
        }
    }
}

/// Identical to std's: each stream as a string when it is UTF-8, else as bytes.
impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stdout_utf8 = std::str::from_utf8(&self.stdout);
        let stdout: &dyn fmt::Debug = match &stdout_utf8 {
            Ok(s) => s,
            Err(_) => &self.stdout,
        };
        let stderr_utf8 = std::str::from_utf8(&self.stderr);
        let stderr: &dyn fmt::Debug = match &stderr_utf8 {
            Ok(s) => s,
            Err(_) => &self.stderr,
        };
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("stdout", stdout)
            .field("stderr", stderr)
            .finish()
    }
}

/// An [`Output`] with whether each stream was cut short, from `capture()`
/// (on [`crate::Command`], [`crate::blocking::Command`] and both `Child`
/// types): a stream is cut at the [`capture_limit`](crate::Command::capture_limit)
/// or when the [`io_grace`](crate::Command::io_grace) ran out.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// let got = conductor::blocking::Command::new("head").args(["-c", "100000", "/dev/zero"])
///     .capture_limit(10)
///     .capture()?;
/// assert_eq!(got.output.stdout.len(), 10);
/// assert!(got.stdout_truncated && !got.stderr_truncated);
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Captured {
    /// Status and the bytes kept.
    pub output: Output,
    /// True when `output.stdout` was cut at the capture limit (or at the I/O grace).
    pub stdout_truncated: bool,
    /// True when `output.stderr` was cut at the capture limit (or at the I/O grace).
    pub stderr_truncated: bool,
}

impl From<Captured> for Output {
    fn from(c: Captured) -> Output {
        c.output
    }
}

/// CPU time and memory a child used, read when it was reaped.
///
/// Where each figure comes from is in [`cpu_source`](Self::cpu_source) and
/// [`memory_source`](Self::memory_source). On Linux, a child in a cgroup
/// (`Containment::Cgroup`, `Containment::BestAvailable` where a cgroup is
/// usable, or a [`memory_limit`](crate::unix::CommandExt::memory_limit)) is
/// measured by the kernel's accounting for that cgroup: its whole tree, and
/// only its tree. Otherwise the figures are `getrusage`'s, whose peak is an
/// upper bound that may include the parent's own size (see [`UsageSource`]).
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// let mut child = conductor::blocking::Command::new("true").spawn()?;
/// child.wait()?;
/// let usage = child.resource_usage().expect("known after wait");
/// assert!(usage.max_rss_bytes > 0);
/// assert!(!usage.oom_killed);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ResourceUsage {
    /// CPU time spent in user mode.
    pub user_time: Duration,
    /// CPU time spent in the kernel on the child's behalf.
    pub system_time: Duration,
    /// Peak memory, in bytes: the cgroup's peak usage, or the peak resident
    /// set size (see [`memory_source`](Self::memory_source)).
    pub max_rss_bytes: u64,
    /// Where `user_time` and `system_time` come from.
    pub cpu_source: UsageSource,
    /// Where `max_rss_bytes` comes from.
    pub memory_source: UsageSource,
    /// True when the kernel's OOM killer killed a process of the child's
    /// memory cgroup (Linux, when the child had one: always the case with a
    /// [`memory_limit`](crate::unix::CommandExt::memory_limit)).
    pub oom_killed: bool,
}

/// Where a figure of [`ResourceUsage`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UsageSource {
    /// The operating system's per-process accounting.
    ///
    /// Unix (`wait4`/`waitid` rusage): the child plus the descendants it
    /// waited for; descendants it left behind are not counted. Its peak RSS
    /// is an **upper bound that may include the parent's**: conductor spawns
    /// with `CLONE_VM` (as `fork` would copy it), so until `exec` the child
    /// runs in the parent's address space, and at `exec` Linux folds that
    /// address space's peak into the child's `ru_maxrss`. A 1 GiB parent
    /// spawning `/bin/true` sees about 1 GiB here. Use a cgroup
    /// (`Containment::Cgroup`) for the child's own figure.
    ///
    /// Windows: the process's own times and peak working set.
    #[default]
    Process,
    /// The kernel's accounting for the child's own cgroup (Linux): every
    /// process of its tree, from exec on, whether or not it was waited for.
    /// CPU from `cpu.stat`; memory from cgroup v2 `memory.peak`, or the v1
    /// memory hierarchy's `memory.max_usage_in_bytes` on hybrid systems
    /// (both include page cache the tree brought in).
    Cgroup,
}

impl UsageSource {
    /// A short description for reports: `"cgroup"` or `"rusage"`.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Process => "rusage",
            UsageSource::Cgroup => "cgroup",
        }
    }
}
