//! [`ChildCore`]: what the async and the blocking `Child` have in common (the
//! process handle, the program name for errors, the limits from the command,
//! kill-on-drop), with the operations that do not depend on how one waits:
//! signalling, events, and finishing a `communicate` or a limited wait from
//! how it [`Ended`]. [`child_passthrough`] generates the `Child` methods that
//! only forward to the core, and [`child_shell`] the ones that wait (over a
//! shell's waiting primitives), so the two `Child` types are thin shells.

mod shell;
pub(crate) use shell::child_shell;

use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::status::{Captured, ExitStatus, Output, ResourceUsage};
use crate::sys::Process;
use crate::tree::Limits;
use std::ffi::OsString;
use std::io;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct ChildCore {
    /// Taken out only by `Drop`.
    process: Option<Process>,
    program: OsString,
    kill_on_drop: bool,
    pub limits: Limits,
    /// A checked run: an unsuccessful exit is an error (with these arguments).
    checked: Option<Vec<OsString>>,
    /// When the child was spawned (for the exit event's duration).
    started: Instant,
    /// The exit event was emitted.
    exit_logged: bool,
}

impl ChildCore {
    pub fn new(process: Process, spec: &CommandSpec) -> ChildCore {
        #[cfg(target_os = "linux")]
        let cgroup = process.cgroup_path().map(|p| p.display().to_string());
        #[cfg(not(target_os = "linux"))]
        let cgroup: Option<String> = None;
        tracing::debug!(
            target: "conductor",
            event = "spawn",
            program = %spec.program.to_string_lossy(),
            pid = process.id(),
            containment = ?spec.containment,
            cgroup = cgroup.as_deref(),
            kill_on_drop = spec.kill_on_drop,
            timeout_ms = spec.limits.timeout.map(|t| t.as_millis() as u64),
            "conductor: spawned"
        );
        ChildCore {
            process: Some(process),
            program: spec.program.clone(),
            kill_on_drop: spec.kill_on_drop,
            limits: spec.limits,
            checked: spec.checked.then(|| spec.args.clone()),
            started: Instant::now(),
            exit_logged: false,
        }
    }

    /// Emits the exit event once, when a wait first sees the status.
    pub fn observed(&mut self, status: ExitStatus) -> ExitStatus {
        if !self.exit_logged {
            self.exit_logged = true;
            let usage = self.resource_usage();
            tracing::debug!(
                target: "conductor",
                event = "exit",
                program = %self.program.to_string_lossy(),
                pid = self.id(),
                status = %status,
                code = status.code(),
                signal = status.signal(),
                duration_ms = self.started.elapsed().as_millis() as u64,
                user_ms = usage.map(|u| u.user_time.as_millis() as u64),
                system_ms = usage.map(|u| u.system_time.as_millis() as u64),
                max_rss_bytes = usage.map(|u| u.max_rss_bytes),
                oom_killed = usage.map(|u| u.oom_killed),
                "conductor: child exited"
            );
        }
        status
    }

    /// A wait's result, with the exit event on success.
    pub fn wait_result(&mut self, res: io::Result<ExitStatus>) -> Result<ExitStatus> {
        match res {
            Ok(s) => Ok(self.observed(s)),
            Err(e) => Err(self.err(Operation::Wait, e)),
        }
    }

    /// A bounded wait's result, with the exit event when it ended.
    pub fn wait_opt_result(
        &mut self,
        res: io::Result<Option<ExitStatus>>,
    ) -> Result<Option<ExitStatus>> {
        match res {
            Ok(s) => Ok(s.map(|s| self.observed(s))),
            Err(e) => Err(self.err(Operation::Wait, e)),
        }
    }

    /// The result of stopping the tree (`terminate`), with its event.
    pub fn stop_result(
        &mut self,
        grace: std::time::Duration,
        res: io::Result<ExitStatus>,
    ) -> Result<ExitStatus> {
        let status = res.map_err(|e| self.err(Operation::Signal, e))?;
        tracing::info!(
            target: "conductor",
            event = "tree_stop",
            program = %self.program.to_string_lossy(),
            pid = self.id(),
            grace_ms = grace.as_millis() as u64,
            status = %status,
            "conductor: process tree stopped"
        );
        Ok(self.observed(status))
    }

    /// For a checked run: `output` unless the child exited unsuccessfully.
    pub fn check(&self, output: Output) -> Result<Output> {
        match &self.checked {
            Some(args) if !output.status.success() => {
                Err(Error::exit_failed(Some(&self.program), args, output))
            }
            _ => Ok(output),
        }
    }

    /// For a checked run: `status` unless it is unsuccessful.
    pub fn check_status(&self, status: ExitStatus) -> Result<ExitStatus> {
        self.check(empty_output(status)).map(|o| o.status)
    }

    pub fn err(&self, op: Operation, e: io::Error) -> Error {
        Error::new(op, e).with_program(&self.program)
    }

    pub fn process(&mut self) -> &mut Process {
        self.process
            .as_mut()
            .expect("process is present until drop")
    }

    /// The process handle (Windows).
    #[cfg(windows)]
    pub fn handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        self.process
            .as_ref()
            .expect("process is present until drop")
            .handle()
    }

    pub fn id(&self) -> u32 {
        self.process.as_ref().map_or(0, |p| p.id())
    }

    #[cfg(target_os = "linux")]
    pub fn pidfd(&self) -> Result<&crate::pidfd::PidFd> {
        match self.process.as_ref().and_then(|p| p.pidfd()) {
            Some(fd) => Ok(fd),
            None => Err(self
                .err(
                    Operation::Pidfd,
                    io::Error::new(io::ErrorKind::Unsupported, "no pidfd"),
                )
                .with_detail(
                    "it was spawned on the SIGCHLD fallback (no pidfd support in the kernel, \
                     CONDUCTOR_NO_PIDFD=1 or unix::force_sigchld_fallback)",
                )),
        }
    }

    /// A descriptor that turns readable when the child exits, where there is one.
    #[cfg(unix)]
    pub fn exit_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        #[cfg(target_os = "linux")]
        return self
            .process
            .as_ref()
            .and_then(|p| p.pidfd())
            .map(std::os::fd::AsFd::as_fd);
        #[cfg(not(target_os = "linux"))]
        None
    }

    #[cfg(target_os = "linux")]
    pub fn cgroup_path(&self) -> Option<&std::path::Path> {
        self.process.as_ref().and_then(|p| p.cgroup_path())
    }

    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let res = self.process().try_wait();
        self.wait_opt_result(res)
    }

    pub fn signal(&mut self, sig: i32) -> Result<()> {
        self.signal_event(sig, false);
        let res = self.process().signal(sig);
        res.map_err(|e| self.err(Operation::Signal, e))
    }

    pub fn signal_tree(&mut self, sig: i32) -> Result<()> {
        self.signal_event(sig, true);
        let res = self.process().signal_tree(sig);
        res.map_err(|e| self.err(Operation::Signal, e))
    }

    fn signal_event(&self, sig: i32, tree: bool) {
        tracing::debug!(
            target: "conductor",
            event = "signal",
            program = %self.program.to_string_lossy(),
            pid = self.id(),
            signal = sig,
            signal_name = crate::status::signal_name(sig),
            tree,
            "conductor: signalling child"
        );
    }

    pub fn resource_usage(&self) -> Option<ResourceUsage> {
        self.process.as_ref().and_then(|p| p.resource_usage())
    }

    /// The `TimedOut` error for this child, carrying `partial` (status and output).
    pub fn timed_out(&self, partial: Output) -> Error {
        tracing::info!(
            target: "conductor",
            event = "timeout",
            program = %self.program.to_string_lossy(),
            pid = self.id(),
            timeout_ms = self.limits.timeout.unwrap_or_default().as_millis() as u64,
            status = %partial.status,
            "conductor: child timed out; its tree was stopped"
        );
        Error::timed_out(
            &self.program,
            self.limits.timeout.unwrap_or_default(),
            partial,
        )
    }
}

/// What `communicate`'s I/O phase gathered (a shell's `gather`).
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Each stream was cut at the capture limit or the I/O grace.
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    /// The command's timeout struck first (the tree is still to be stopped).
    pub timed_out: bool,
}

/// How a wait under the command's limits ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ended {
    /// The child exited on its own, with this status.
    Exited(ExitStatus),
    /// The timeout struck and the tree was stopped; the direct child's status.
    Stopped(ExitStatus),
}

impl ChildCore {
    /// Finishes `communicate`: the captured output for a child that exited
    /// (an error for a checked run that failed), the `TimedOut` error
    /// carrying the partial output for one that was stopped.
    pub fn finish(&self, ended: Ended, got: Gathered) -> Result<Captured> {
        let (Ended::Exited(status) | Ended::Stopped(status)) = ended;
        let output = Output {
            status,
            stdout: got.stdout,
            stderr: got.stderr,
        };
        match ended {
            Ended::Exited(_) => Ok(Captured {
                output: self.check(output)?,
                stdout_truncated: got.stdout_truncated,
                stderr_truncated: got.stderr_truncated,
            }),
            Ended::Stopped(_) => Err(self.timed_out(output)),
        }
    }

    /// Finishes a wait under the command's timeout (`status()`).
    pub fn finish_status(&self, ended: Ended) -> Result<ExitStatus> {
        match ended {
            Ended::Exited(s) => self.check_status(s),
            Ended::Stopped(s) => Err(self.timed_out(empty_output(s))),
        }
    }
}

/// The `Child` struct, the same on both shells but for its pipe types (named
/// `ChildStdin`, `ChildStdout`, `ChildStderr` where it expands) and its
/// pseudo-terminal type; the Windows handle traits come with it.
macro_rules! child_struct {
    ($(#[$doc:meta])* pty: $pty:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct Child {
            core: $crate::child_core::ChildCore,
            /// The parent's end of the child's stdin, when piped.
            pub stdin: Option<ChildStdin>,
            /// The parent's end of the child's stdout, when piped.
            pub stdout: Option<ChildStdout>,
            /// The parent's end of the child's stderr, when piped.
            pub stderr: Option<ChildStderr>,
            /// The parent's end of the child's pseudo-terminal, until taken.
            #[cfg(unix)]
            pty: Option<$pty>,
        }

        #[cfg(windows)]
        $crate::child_core::child_handle_impls!(Child);
    };
}
pub(crate) use child_struct;

/// The `Child` methods that only forward to its [`ChildCore`], the same on
/// the async and the blocking type (their examples use the blocking one).
macro_rules! child_passthrough {
    () => {
        /// The cgroup holding the child's tree, under [`Containment::Cgroup`](crate::Containment::Cgroup) (Linux).
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::blocking::Command::new("true").spawn()?;
        /// assert!(child.cgroup_path().is_none());
        /// child.wait()?;
        /// # Ok(()) }
        /// ```
        #[cfg(target_os = "linux")]
        pub fn cgroup_path(&self) -> Option<&std::path::Path> {
            self.core.cgroup_path()
        }

        /// The child's process id (kept until the handle is dropped, so it
        /// stays meaningful after a wait).
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::blocking::Command::new("true").spawn()?;
        /// assert!(child.id() > 0);
        /// child.wait()?;
        /// # Ok(()) }
        /// ```
        pub fn id(&self) -> u32 {
            self.core.id()
        }

        /// The child's pidfd (Linux), which names it even after its pid is
        /// reused; [`PidFd`](crate::unix::PidFd) implements `AsFd`. Mirrors
        /// std's `ChildExt::pidfd`.
        ///
        /// # Errors
        ///
        /// [`Operation::Pidfd`](crate::Operation::Pidfd) for a child spawned
        /// on the SIGCHLD fallback, which has no pidfd.
        ///
        /// ```
        /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
        /// use std::os::fd::AsFd;
        /// let mut child = conductor::blocking::Command::new("true").spawn()?;
        /// # conductor::unix::force_sigchld_fallback(false);
        /// let kept = child.pidfd()?.as_fd().try_clone_to_owned()?;
        /// child.wait()?;
        /// drop(kept);
        /// # Ok(()) }
        /// ```
        #[cfg(target_os = "linux")]
        pub fn pidfd(&self) -> $crate::error::Result<&crate::unix::PidFd> {
            self.core.pidfd()
        }

        /// Returns the status if the child has exited, without waiting.
        ///
        /// # Errors
        ///
        /// [`Operation::Wait`](crate::Operation::Wait) when the system
        /// refuses the status.
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::blocking::Command::new("sleep").arg("5").kill_on_drop(true).spawn()?;
        /// assert_eq!(child.try_wait()?, None);
        /// # Ok(()) }
        /// ```
        pub fn try_wait(&mut self) -> $crate::error::Result<Option<$crate::status::ExitStatus>> {
            self.core.try_wait()
        }

        /// Sends signal `sig` to the child. On Linux it goes through the
        /// pidfd, so it can never reach an unrelated process that reused the
        /// pid. A child already reaped is not an error. On Windows only
        /// SIGKILL, SIGTERM, SIGBREAK and 0 have a meaning (see the
        /// `conductor::windows` module).
        ///
        /// # Errors
        ///
        /// [`Operation::Signal`](crate::Operation::Signal) when the signal
        /// cannot be sent (`Unsupported` for a signal Windows has no meaning for).
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::blocking::Command::new("sleep").arg("5").spawn()?;
        /// child.signal(libc::SIGTERM)?;
        /// assert_eq!(child.wait()?.signal(), Some(libc::SIGTERM));
        /// # Ok(()) }
        /// ```
        pub fn signal(&mut self, sig: i32) -> $crate::error::Result<()> {
            self.core.signal(sig)
        }

        /// Sends `sig` to the child's whole tree, as its
        /// [`Containment`](crate::Containment) holds it (just the child without one).
        ///
        /// # Errors
        ///
        /// [`Operation::Signal`](crate::Operation::Signal) when the signal
        /// cannot be sent.
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Containment};
        /// let mut child = Command::new("sh").args(["-c", "sleep 300 & wait"])
        ///     .containment(Containment::ProcessGroup).spawn()?;
        /// child.signal_tree(libc::SIGKILL)?;
        /// assert_eq!(child.wait()?.signal(), Some(libc::SIGKILL));
        /// # Ok(()) }
        /// ```
        pub fn signal_tree(&mut self, sig: i32) -> $crate::error::Result<()> {
            self.core.signal_tree(sig)
        }

        /// CPU times and peak memory of the child, once it has been waited for.
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::blocking::Command::new("true").spawn()?;
        /// assert!(child.resource_usage().is_none());
        /// child.wait()?;
        /// assert!(child.resource_usage().is_some());
        /// # Ok(()) }
        /// ```
        pub fn resource_usage(&self) -> Option<$crate::status::ResourceUsage> {
            self.core.resource_usage()
        }
    };
}
pub(crate) use child_passthrough;

/// Windows handle traits on both `Child` types, as std's `Child` has them.
/// `into_raw_handle` returns a duplicate of the process handle and drops the
/// `Child` (so the process is reaped in the background, or killed first with
/// `kill_on_drop`); panics only if the handle cannot be duplicated.
#[cfg(windows)]
macro_rules! child_handle_impls {
    ($ty:ty) => {
        impl std::os::windows::io::AsHandle for $ty {
            fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
                self.core.handle()
            }
        }

        impl std::os::windows::io::AsRawHandle for $ty {
            fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
                std::os::windows::io::AsRawHandle::as_raw_handle(&self.core.handle())
            }
        }

        impl std::os::windows::io::IntoRawHandle for $ty {
            fn into_raw_handle(self) -> std::os::windows::io::RawHandle {
                let own = self
                    .core
                    .handle()
                    .try_clone_to_owned()
                    .expect("the process handle can be duplicated");
                std::os::windows::io::IntoRawHandle::into_raw_handle(own)
            }
        }
    };
}
#[cfg(windows)]
pub(crate) use child_handle_impls;

/// An `Output` with no captured bytes.
pub(crate) fn empty_output(status: ExitStatus) -> Output {
    Output {
        status,
        stdout: Vec::new(),
        stderr: Vec::new(),
    }
}

impl Drop for ChildCore {
    fn drop(&mut self) {
        if let Some(p) = self.process.take() {
            p.orphan(self.kill_on_drop);
        }
    }
}
