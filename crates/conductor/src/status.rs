//! How a child ended ([`ExitStatus`]), what it printed ([`Output`]) and what it cost
//! ([`ResourceUsage`]).

use std::fmt;
use std::time::Duration;

/// How a child process ended: an exit code, or (on Unix) the signal that killed it.
///
/// Mirrors [`std::process::ExitStatus`].
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// let status = conductor::blocking::Command::new("sh").args(["-c", "exit 3"]).status()?;
/// assert_eq!(status.code(), Some(3));
/// assert!(!status.success());
/// assert_eq!(status.to_string(), "exit status: 3");
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExitStatus {
    /// Unix: the wait status as `waitpid` reports it. Windows: the exit code.
    raw: i32,
}

impl ExitStatus {
    /// Builds a status from a raw value: the `waitpid` status on Unix, the exit code on Windows.
    pub fn from_raw(raw: i32) -> ExitStatus {
        ExitStatus { raw }
    }

    /// The raw value: the `waitpid` status on Unix, the exit code on Windows.
    pub fn into_raw(self) -> i32 {
        self.raw
    }

    /// True when the child exited with code 0.
    pub fn success(&self) -> bool {
        self.code() == Some(0)
    }

    /// The exit code, or `None` when the child was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        if cfg!(unix) {
            (self.raw & 0x7f == 0).then_some((self.raw >> 8) & 0xff)
        } else {
            Some(self.raw)
        }
    }

    /// The signal that killed the child, if any (always `None` on Windows).
    pub fn signal(&self) -> Option<i32> {
        let sig = self.raw & 0x7f;
        (cfg!(unix) && sig != 0 && sig != 0x7f).then_some(sig)
    }

    /// True when the child was killed by a signal and dumped core.
    pub fn core_dumped(&self) -> bool {
        self.signal().is_some() && self.raw & 0x80 != 0
    }
}

impl fmt::Debug for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExitStatus({self})")
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.code() {
            return write!(f, "exit status: {code}");
        }
        let sig = self.signal().unwrap_or(0);
        write!(f, "signal: {sig}")?;
        if let Some(name) = signal_name(sig) {
            write!(f, " ({name})")?;
        }
        if self.core_dumped() {
            f.write_str(" (core dumped)")?;
        }
        Ok(())
    }
}

/// The conventional name of a Unix signal number (`SIGKILL` for 9), if it has one.
pub fn signal_name(sig: i32) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    if cfg!(target_os = "linux") {
        usize::try_from(sig)
            .ok()
            .and_then(|i| NAMES.get(i))
            .filter(|n| !n.is_empty())
            .copied()
    } else {
        // Numbering differs past the first few on BSD and macOS; name only the common ones.
        match sig {
            1 => Some("SIGHUP"),
            2 => Some("SIGINT"),
            3 => Some("SIGQUIT"),
            6 => Some("SIGABRT"),
            9 => Some("SIGKILL"),
            15 => Some("SIGTERM"),
            _ => None,
        }
    }
}

/// What a child printed, and how it ended. Mirrors [`std::process::Output`].
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// let out = conductor::blocking::Command::new("echo").arg("hi").output()?;
/// assert!(out.status.success());
/// assert_eq!(out.stdout, b"hi\n");
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Output {
    /// How the child ended.
    pub status: ExitStatus,
    /// Everything the child wrote to stdout (when it was piped).
    pub stdout: Vec<u8>,
    /// Everything the child wrote to stderr (when it was piped).
    pub stderr: Vec<u8>,
    /// True when `stdout` was cut at the capture limit (or at the I/O grace).
    pub stdout_truncated: bool,
    /// True when `stderr` was cut at the capture limit (or at the I/O grace).
    pub stderr_truncated: bool,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |b: &[u8]| match std::str::from_utf8(b) {
            Ok(s) => format!("{s:?}"),
            Err(_) => format!("{b:?}"),
        };
        f.debug_struct("Output")
            .field("status", &self.status)
            .field("stdout", &format_args!("{}", show(&self.stdout)))
            .field("stderr", &format_args!("{}", show(&self.stderr)))
            .field("stdout_truncated", &self.stdout_truncated)
            .field("stderr_truncated", &self.stderr_truncated)
            .finish()
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
