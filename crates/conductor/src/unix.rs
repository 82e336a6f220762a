//! Unix-only builder options, as the [`CommandExt`] extension trait (mirroring
//! `std::os::unix::process::CommandExt`), implemented by both `Command` types;
//! [`SignalListener`], which catches signals and says who sent each, and
//! [`set_terminal_foreground`], for supervisors that forward signals and share
//! a terminal with their children.

#[cfg(target_os = "linux")]
pub use crate::pidfd::PidFd;
pub use crate::signal_listener::{
    set_terminal_foreground, ReceivedSignal, SignalListener, SignalOrigin,
};
use crate::spec::HasSpec;
pub use crate::spec::Resource;
use std::ffi::OsStr;
use std::os::fd::{OwnedFd, RawFd};

/// No limit, for [`CommandExt::rlimit`].
pub const RLIM_INFINITY: u64 = u64::MAX;

/// Unix-specific options for [`crate::Command`] and [`crate::blocking::Command`].
///
/// ```
/// use conductor::unix::CommandExt;
/// # fn main() -> Result<(), conductor::Error> {
/// let out = conductor::blocking::Command::new("sh")
///     .args(["-c", "echo $0; umask"])
///     .arg0("renamed")
///     .umask(0o077)
///     .output()?;
/// assert_eq!(out.stdout, b"renamed\n0077\n");
/// # Ok(()) }
/// ```
pub trait CommandExt: sealed::Sealed {
    /// Sets `argv[0]` as the child sees it (the program run is unchanged).
    fn arg0<S: AsRef<OsStr>>(&mut self, arg0: S) -> &mut Self;
    /// Puts the child in process group `pgroup`; 0 makes a new group led by the child.
    fn process_group(&mut self, pgroup: i32) -> &mut Self;
    /// Starts the child in a new session (`setsid`), detached from the terminal.
    fn setsid(&mut self, on: bool) -> &mut Self;
    /// Runs the child as user `uid`. Supplementary groups are cleared unless
    /// [`groups`](CommandExt::groups) sets them.
    fn uid(&mut self, uid: u32) -> &mut Self;
    /// Runs the child with group `gid`.
    fn gid(&mut self, gid: u32) -> &mut Self;
    /// Sets the child's supplementary groups.
    fn groups(&mut self, groups: &[u32]) -> &mut Self;
    /// Sets the child's file-creation mask.
    fn umask(&mut self, mask: u32) -> &mut Self;
    /// Gives the child `fd` as descriptor number `child_fd` (which must be 3 or
    /// more; 0-2 are set with `stdin`/`stdout`/`stderr`). Every other descriptor
    /// the parent holds stays out of the child.
    ///
    /// The command owns `fd` until a spawn succeeds; then the parent's copy
    /// is closed at once (the child has its own), so a reader waiting for
    /// end of file on a pipe passed this way sees it when the child closes
    /// its end, whether or not the `Command` is still alive. A later spawn
    /// of the same `Command` does not pass it again; a failed spawn keeps it.
    ///
    /// ```
    /// use conductor::unix::CommandExt;
    /// use std::io::Read;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut reader, writer) = std::io::pipe()?;
    /// let mut cmd = conductor::blocking::Command::new("sh");
    /// cmd.args(["-c", "echo via-fd-3 >&3"]).inherit_fd(3, writer.into());
    /// let mut child = cmd.spawn()?;
    /// let mut got = String::new();
    /// reader.read_to_string(&mut got)?; // EOF although `cmd` still lives
    /// assert_eq!(got, "via-fd-3\n");
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    fn inherit_fd(&mut self, child_fd: RawFd, fd: OwnedFd) -> &mut Self;
    /// Which signals the child starts with blocked. By default, as std
    /// (since Rust 1.66) and tokio do, the child inherits the signal mask of
    /// the thread that spawns it: a program that blocks SIGINT around a spawn
    /// gets a child that ignores Ctrl-C until it unblocks it, exactly as under
    /// std. With `true` the child starts with an empty mask whatever the
    /// spawning thread blocks (what a
    /// thread that blocks signals for `sigwait` usually wants for its
    /// children). Handlers are always reset to their defaults, and SIGPIPE and
    /// SIGXFSZ go back to their defaults if ignored, as std does.
    ///
    /// ```
    /// use conductor::unix::CommandExt;
    /// # fn main() -> Result<(), conductor::Error> {
    /// let status = conductor::blocking::Command::new("true").empty_signal_mask(true).status()?;
    /// assert!(status.success());
    /// # Ok(()) }
    /// ```
    fn empty_signal_mask(&mut self, empty: bool) -> &mut Self;
    /// Schedules a closure to run in the child after every other set-up
    /// (descriptors, directory, credentials, signal mask) and just before
    /// `exec`, as std's `CommandExt::pre_exec`. An error it returns fails the
    /// spawn with [`Operation::PreExec`](crate::Operation::PreExec) and that
    /// error's OS code (`EINVAL` when it has none), and the child never runs
    /// the program.
    ///
    /// **A command with a `pre_exec` closure is spawned with `fork` + `exec`**,
    /// not with conductor's usual `clone(CLONE_VM | CLONE_VFORK)` (Linux) or
    /// `posix_spawn` (macOS, BSD): the closure needs a copy of the parent's
    /// memory, so the spawn costs what a fork of this process costs (page
    /// tables of its whole address space). Such a spawn cannot use cgroup
    /// containment or a `memory_limit` (it fails with `Unsupported`;
    /// `Containment::BestAvailable` uses a process group).
    ///
    /// # Safety
    ///
    /// As with std: the closure runs in the forked child of a possibly
    /// multi-threaded process, so it may only do what is async-signal-safe
    /// (no allocation, no locks another thread may hold, no `println!`),
    /// and whatever it duplicates or changes must not break the child's
    /// descriptors (conductor's own are already in place).
    ///
    /// ```
    /// use conductor::unix::CommandExt;
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut cmd = conductor::blocking::Command::new("sh");
    /// cmd.args(["-c", "ulimit -c"]);
    /// // SAFETY: setrlimit is async-signal-safe; nothing is allocated.
    /// unsafe {
    ///     cmd.pre_exec(|| {
    ///         let lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    ///         if libc::setrlimit(libc::RLIMIT_CORE, &lim) != 0 {
    ///             return Err(std::io::Error::last_os_error());
    ///         }
    ///         Ok(())
    ///     });
    /// }
    /// assert_eq!(cmd.output()?.stdout, b"0\n");
    /// # Ok(()) }
    /// ```
    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> std::io::Result<()> + Send + Sync + 'static;
    /// Replaces this process with the program, as std's `CommandExt::exec`:
    /// the same set-up as a spawn (descriptors: stdio as set, default
    /// inherited; `inherit_fd`; every other descriptor closed on exec;
    /// directory, credentials, limits, signal mask and `pre_exec` closures),
    /// done in this process, then `execve`. Returns only on failure, with the
    /// error (the OS error, as std's). A failure after the set-up began may
    /// leave this process partly changed (for example its stdio replaced), as
    /// with std. Cgroup containment cannot apply (it fails with
    /// `Unsupported`); `Containment::ProcessGroup`/`BestAvailable` make this
    /// process a group leader, `Session` a session leader.
    ///
    /// ```no_run
    /// use conductor::unix::CommandExt;
    /// let err = conductor::blocking::Command::new("ls").arg("/").exec();
    /// eprintln!("could not run ls: {err}");
    /// ```
    fn exec(&mut self) -> std::io::Error;
    /// Sets a resource limit in the child (applied between clone and exec,
    /// without fork and without user code). `soft > hard` is an error at
    /// spawn; raising the hard limit needs privilege (else spawn fails with EPERM).
    ///
    /// ```
    /// use conductor::unix::{CommandExt, Resource};
    /// # fn main() -> Result<(), conductor::Error> {
    /// let out = conductor::blocking::Command::new("sh").args(["-c", "ulimit -n"])
    ///     .rlimit(Resource::OpenFiles, 64, 64)
    ///     .output()?;
    /// assert_eq!(out.stdout, b"64\n");
    /// # Ok(()) }
    /// ```
    fn rlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> &mut Self;
    /// Linux: the child gets `sig` when conductor's process dies, however it
    /// dies (SIGKILL included), so it cannot outlive its parent
    /// (`PR_SET_PDEATHSIG`; checked against a parent that died before it took
    /// effect).
    ///
    /// The kernel ties this signal to the *thread* that cloned the child, and
    /// threads come and go (tokio retires idle blocking threads, a runtime's
    /// workers end with it). So conductor clones such children from one
    /// thread of its own that lives as long as the process: the signal fires
    /// when the process dies, not when the thread that called `spawn` exits.
    ///
    /// Only the child itself gets the signal: its own children are not
    /// signalled (contain the tree with
    /// [`containment`](crate::Command::containment) to stop them too).
    /// The signal is cleared by the kernel when the child runs a set-user-ID
    /// or set-group-ID program.
    ///
    /// ```
    /// use conductor::unix::CommandExt;
    /// # fn main() -> Result<(), conductor::Error> {
    /// // Dies with the calling process, even from a thread that exits.
    /// let mut child = std::thread::spawn(|| {
    ///     conductor::blocking::Command::new("sleep").arg("10")
    ///         .parent_death_signal(libc::SIGKILL)
    ///         .spawn()
    /// }).join().unwrap()?;
    /// assert!(child.try_wait()?.is_none(), "the spawning thread's exit did not kill it");
    /// child.kill()?;
    /// # child.wait()?;
    /// # Ok(()) }
    /// ```
    #[cfg(target_os = "linux")]
    fn parent_death_signal(&mut self, sig: i32) -> &mut Self;
    /// Linux: caps the memory of the child's whole tree at `bytes`, enforced
    /// by the kernel's memory controller: past it the kernel reclaims, then
    /// its OOM killer kills a process of the tree, and
    /// [`ResourceUsage::oom_killed`](crate::ResourceUsage::oom_killed) says so
    /// once the child is reaped. Swap does not extend the cap where the kernel
    /// accounts swap.
    ///
    /// The child gets a fresh memory cgroup, which it is in before its first
    /// instruction: with cgroup v2, the child's cgroup (the containment one,
    /// or one made for this) with `memory.max` set, where the memory controller
    /// is enabled for conductor's cgroup; otherwise, on hybrid systems whose
    /// memory controller is mounted on cgroup v1, a per-child cgroup there with
    /// `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes`), which the
    /// child joins between clone and exec. The cgroup is removed once its
    /// last process has exited. conductor never mounts or reconfigures the
    /// hierarchies: it only makes child cgroups under its own, which needs
    /// write access there (typically root, or a delegated subtree).
    ///
    /// Spawning fails with [`Operation::MemoryLimit`](crate::Operation::MemoryLimit)
    /// (`kind()` is `Unsupported`) when no usable memory controller exists,
    /// and with `InvalidInput` for a limit of 0.
    ///
    /// ```no_run
    /// use conductor::unix::CommandExt;
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sort")
    ///     .arg("huge.txt")
    ///     .memory_limit(512 << 20)
    ///     .spawn()?;
    /// let status = child.wait()?;
    /// let usage = child.resource_usage().expect("known after wait");
    /// if usage.oom_killed {
    ///     eprintln!("sort needed more than 512 MiB ({status})");
    /// }
    /// println!("peak {} MiB", usage.max_rss_bytes >> 20);
    /// # Ok(()) }
    /// ```
    #[cfg(target_os = "linux")]
    fn memory_limit(&mut self, bytes: u64) -> &mut Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Command {}
    impl Sealed for crate::blocking::Command {}
    pub trait SealedStatus {}
    impl SealedStatus for crate::ExitStatus {}
}

/// `CommandExt` methods that set one of the spec's Unix options:
/// `name(arg: Type) => field;`, `via Wrap` wrapping the value (in `Some`).
macro_rules! unix_setters {
    ($($(#[$meta:meta])* $name:ident($arg:ident: $ty:ty) => $field:ident $(via $wrap:path)?;)*) => {
        $(
            $(#[$meta])*
            fn $name(&mut self, $arg: $ty) -> &mut Self {
                self.spec_mut().unix.$field = $($wrap)?($arg);
                self
            }
        )*
    };
}

impl<T: HasSpec + sealed::Sealed> CommandExt for T {
    unix_setters! {
        process_group(pgroup: i32) => process_group via Some;
        setsid(on: bool) => setsid;
        uid(uid: u32) => uid via Some;
        gid(gid: u32) => gid via Some;
        umask(mask: u32) => umask via Some;
        empty_signal_mask(empty: bool) => empty_signal_mask;
        #[cfg(target_os = "linux")]
        parent_death_signal(sig: i32) => pdeathsig via Some;
        #[cfg(target_os = "linux")]
        memory_limit(bytes: u64) => memory_limit via Some;
    }
    fn arg0<S: AsRef<OsStr>>(&mut self, arg0: S) -> &mut Self {
        self.spec_mut().unix.arg0 = Some(arg0.as_ref().to_owned());
        self
    }
    fn groups(&mut self, groups: &[u32]) -> &mut Self {
        self.spec_mut().unix.groups = Some(groups.to_vec());
        self
    }
    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Self
    where
        F: FnMut() -> std::io::Result<()> + Send + Sync + 'static,
    {
        let hooks = self.spec_mut().unix.pre_exec.0.get_mut();
        hooks
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(f));
        self
    }
    fn exec(&mut self) -> std::io::Error {
        let spec = self.spec_mut();
        if let Err(e) = spec.check_program() {
            return e.into();
        }
        crate::sys::exec(spec).into()
    }
    fn rlimit(&mut self, resource: Resource, soft: u64, hard: u64) -> &mut Self {
        let r = &mut self.spec_mut().unix.rlimits;
        r.retain(|(res, _, _)| *res != resource);
        r.push((resource, soft, hard));
        self
    }
    fn inherit_fd(&mut self, child_fd: RawFd, fd: OwnedFd) -> &mut Self {
        let fds = &mut self.spec_mut().unix.fds;
        fds.retain(|(n, _)| *n != child_fd);
        fds.push((child_fd, fd));
        self
    }
}

/// Unix-specific parts of [`ExitStatus`](crate::ExitStatus), mirroring
/// `std::os::unix::process::ExitStatusExt`. The same methods are inherent on
/// `ExitStatus`, so code that imports std's trait keeps compiling; import this
/// one for generic code.
///
/// ```
/// use conductor::unix::ExitStatusExt;
/// let killed = <conductor::ExitStatus as ExitStatusExt>::from_raw(libc::SIGKILL);
/// assert_eq!(ExitStatusExt::signal(&killed), Some(libc::SIGKILL));
/// assert_eq!(ExitStatusExt::into_raw(killed), libc::SIGKILL);
/// ```
pub trait ExitStatusExt: sealed::SealedStatus {
    /// Builds a status from a raw `waitpid` status.
    fn from_raw(raw: i32) -> Self;
    /// The signal that terminated the process, if any.
    fn signal(&self) -> Option<i32>;
    /// True when the process dumped core as it was killed.
    fn core_dumped(&self) -> bool;
    /// The signal that stopped the process (a `WUNTRACED` status).
    fn stopped_signal(&self) -> Option<i32>;
    /// True for a "continued" status (`WIFCONTINUED`).
    fn continued(&self) -> bool;
    /// The raw `waitpid` status.
    fn into_raw(self) -> i32;
}

impl ExitStatusExt for crate::ExitStatus {
    fn from_raw(raw: i32) -> Self {
        crate::ExitStatus::from_raw(raw)
    }
    fn signal(&self) -> Option<i32> {
        crate::ExitStatus::signal(self)
    }
    fn core_dumped(&self) -> bool {
        crate::ExitStatus::core_dumped(self)
    }
    fn stopped_signal(&self) -> Option<i32> {
        crate::ExitStatus::stopped_signal(self)
    }
    fn continued(&self) -> bool {
        crate::ExitStatus::continued(self)
    }
    fn into_raw(self) -> i32 {
        crate::ExitStatus::into_raw(self)
    }
}

/// Chooses how this process learns that its children exited (Linux).
///
/// By default conductor spawns with `CLONE_PIDFD` and waits on the pidfd in
/// the reactor. Passing `true` switches new spawns to the SIGCHLD-driven
/// fallback used on kernels without pidfd support, so it can be exercised on any
/// kernel. The environment variable `CONDUCTOR_NO_PIDFD=1` does the same at start.
///
/// ```
/// conductor::unix::force_sigchld_fallback(false);
/// ```
#[cfg(target_os = "linux")]
pub fn force_sigchld_fallback(on: bool) {
    crate::sys::set_force_fallback(on);
}

/// Raises this process's soft limit on open files (`RLIMIT_NOFILE`) to the
/// hard limit, and returns the new soft limit. Programs that keep thousands of
/// children (each holds a pidfd and pipes) want this at start.
///
/// # Errors
///
/// The `io::Error` of `getrlimit` or `setrlimit`.
///
/// ```
/// let n = conductor::unix::raise_fd_limit().unwrap();
/// assert!(n >= 3);
/// ```
pub fn raise_fd_limit() -> std::io::Result<u64> {
    crate::sys::raise_fd_limit()
}

/// Linux: makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`), so
/// descendants orphaned when their parent exits are re-parented here instead
/// of to init. conductor then reaps those that belonged to trees it contains
/// (process groups and cgroups it made), so they leave no zombies.
///
/// # Errors
///
/// The `io::Error` of `prctl(PR_SET_CHILD_SUBREAPER)`.
///
/// ```
/// conductor::unix::set_child_subreaper(true).unwrap();
/// conductor::unix::set_child_subreaper(false).unwrap();
/// ```
#[cfg(target_os = "linux")]
pub fn set_child_subreaper(on: bool) -> std::io::Result<()> {
    crate::sys::set_child_subreaper(on)
}
