//! The async [`Command`] builder: spawns children whose pipes and exit are
//! driven by tokio's reactor.

use crate::builder::CAPTURE;
use crate::child::Child;
use crate::error::{Error, Operation, Result};
use crate::status::{Captured, ExitStatus, Output};
use crate::sys::StdioDefault;
#[cfg(unix)]
use std::ffi::OsStr;

crate::builder::command_type! {
    /// A process builder for the async API, mirroring [`std::process::Command`]
    /// (and `tokio::process::Command`).
    ///
    /// `spawn` needs to run inside a tokio runtime (the child's pipes and exit are
    /// registered with its reactor); for code without a runtime use
    /// [`crate::blocking::Command`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::Command;
    /// let out = Command::new("echo").arg("hello").output().await?;
    /// assert_eq!(out.stdout, b"hello\n");
    /// # Ok(()) }
    /// ```
    nonblocking: true,
    new: {
        /// ```
        /// let cmd = conductor::Command::new("ls");
        /// ```
    }
}

impl Command {
    /// Sets `argv[0]` (Unix), as `tokio::process::Command::arg0` (the same
    /// as [`CommandExt::arg0`](crate::unix::CommandExt::arg0), inherent so
    /// tokio code needs no extra import).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let out = conductor::Command::new("sh").arg0("renamed").args(["-c", "echo $0"]).output().await?;
    /// assert_eq!(out.stdout, b"renamed\n");
    /// # Ok(()) }
    /// ```
    #[cfg(unix)]
    pub fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        crate::unix::CommandExt::arg0(self, arg)
    }

    /// Runs the child as user `uid` (Unix), as `tokio::process::Command::uid`.
    ///
    /// ```
    /// let mut cmd = conductor::Command::new("id");
    /// cmd.uid(rustix::process::getuid().as_raw());
    /// ```
    #[cfg(unix)]
    pub fn uid(&mut self, id: u32) -> &mut Command {
        crate::unix::CommandExt::uid(self, id)
    }

    /// Runs the child with group `gid` (Unix), as `tokio::process::Command::gid`.
    ///
    /// ```
    /// let mut cmd = conductor::Command::new("id");
    /// cmd.gid(rustix::process::getgid().as_raw());
    /// ```
    #[cfg(unix)]
    pub fn gid(&mut self, id: u32) -> &mut Command {
        crate::unix::CommandExt::gid(self, id)
    }

    /// Schedules a closure to run in the child just before `exec` (Unix), as
    /// `tokio::process::Command::pre_exec`: the same as
    /// [`CommandExt::pre_exec`](crate::unix::CommandExt::pre_exec), whose
    /// documentation says what it costs (a fork) and what it may do.
    ///
    /// # Safety
    ///
    /// The closure runs in a forked child of a possibly multi-threaded
    /// process: only async-signal-safe operations.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut cmd = conductor::Command::new("true");
    /// // SAFETY: does nothing.
    /// unsafe { cmd.pre_exec(|| Ok(())) };
    /// assert!(cmd.status().await?.success());
    /// # Ok(()) }
    /// ```
    #[cfg(unix)]
    pub unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> std::io::Result<()> + Send + Sync + 'static,
    {
        self.spec
            .unix
            .pre_exec
            .0
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Box::new(f));
        self
    }

    /// Puts the child in process group `pgroup` (Unix; 0: a new group), as
    /// `tokio::process::Command::process_group`.
    ///
    /// ```
    /// conductor::Command::new("sleep").arg("1").process_group(0);
    /// ```
    #[cfg(unix)]
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        crate::unix::CommandExt::process_group(self, pgroup)
    }

    pub(crate) fn spawn_with(&mut self, defaults: [StdioDefault; 3], grow: bool) -> Result<Child> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                Operation::Spawn,
                std::io::Error::other(
                    "no tokio runtime is running; use conductor::blocking for code without one",
                ),
            )
            .with_program(&self.spec.program));
        }
        self.spawn_wired(defaults, grow)
    }

    /// Starts the child; its stdio defaults to the parent's.
    ///
    /// Errors from `exec` (program not found, permission denied, not an
    /// executable) are returned here, never as an exit code.
    ///
    /// # Errors
    ///
    /// As [`blocking::Command::spawn`](crate::blocking::Command::spawn);
    /// also `Spawn`, with a message saying so, outside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::Command::new("true").spawn()?;
    /// assert!(child.wait().await?.success());
    /// # Ok(()) }
    /// ```
    pub fn spawn(&mut self) -> Result<Child> {
        self.spawn_with([StdioDefault::Inherit; 3], false)
    }

    /// Runs the child to completion with inherited stdio and returns how it ended.
    /// On a [`pty`](Self::pty), what the child writes to the terminal is
    /// read and discarded (so it never blocks on a full terminal).
    ///
    /// # Errors
    ///
    /// The spawn's failure, naming the program and the step ([`Operation`](crate::Operation)):
    /// invalid input (`Validate`), stdio, containment, credentials, working directory,
    /// descriptors, resource limits, `pre_exec`, or `exec` itself (program not found,
    /// permission denied, not an executable); then the run's: `Wait` or `Io` when the system
    /// refuses a wait or the pipes fail, `Timeout` (carrying the output so far) when the
    /// command's [`timeout`](crate::Command::timeout) stopped the tree, `ExitStatus` for a
    /// [`checked`](crate::Command::checked) run that exited unsuccessfully. The async `Command`
    /// also fails (`Spawn`) outside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let status = conductor::Command::new("false").status().await?;
    /// assert_eq!(status.code(), Some(1));
    /// # Ok(()) }
    /// ```
    pub async fn status(&mut self) -> Result<ExitStatus> {
        if self.spec.pty.is_some() {
            return Ok(self.output().await?.status);
        }
        let mut child = self.spawn()?;
        child.wait_limited().await
    }

    /// Runs the child to completion, capturing stdout and stderr (stdin is the
    /// null device unless set). Both pipes are drained while waiting, so any
    /// amount of output is safe.
    ///
    /// # Errors
    ///
    /// As [`status`](Self::status).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let out = conductor::Command::new("sh").args(["-c", "echo out; echo err >&2"]).output().await?;
    /// assert_eq!((&out.stdout[..], &out.stderr[..]), (&b"out\n"[..], &b"err\n"[..]));
    /// # Ok(()) }
    /// ```
    pub async fn output(&mut self) -> Result<Output> {
        let child = self.spawn_with(CAPTURE, true)?;
        child.wait_with_output().await
    }

    /// [`output`](Self::output), also saying whether each stream was cut
    /// at the [`capture_limit`](Self::capture_limit) or the
    /// [`io_grace`](Self::io_grace) (see [`Captured`](crate::Captured)).
    ///
    /// # Errors
    ///
    /// As [`status`](Self::status).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let got = conductor::Command::new("echo").arg("hello").capture_limit(3).capture().await?;
    /// assert_eq!(got.output.stdout, b"hel");
    /// assert!(got.stdout_truncated && !got.stderr_truncated);
    /// # Ok(()) }
    /// ```
    pub async fn capture(&mut self) -> Result<Captured> {
        let child = self.spawn_with(CAPTURE, true)?;
        child.wait_with_capture().await
    }

    /// Runs the child to completion capturing stdout and stderr together,
    /// in the order the child wrote them, in `stdout` (Go's
    /// `CombinedOutput`, Python's `stderr=STDOUT`): stderr is
    /// [`Stdio::merged_with_stdout`](crate::Stdio::merged_with_stdout) for
    /// this run whatever was set, and `stderr` comes back empty. Stdin is the
    /// null device unless set.
    ///
    /// # Errors
    ///
    /// As [`status`](Self::status).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let out = conductor::Command::new("sh").args(["-c", "echo 1; echo 2 >&2; echo 3"])
    ///     .combined_output().await?;
    /// assert_eq!(out.stdout, b"1\n2\n3\n");
    /// # Ok(()) }
    /// ```
    pub async fn combined_output(&mut self) -> Result<Output> {
        let saved = self.spec.stderr.replace(crate::Stdio::merged_with_stdout());
        let child = self.spawn_with(CAPTURE, true);
        self.spec.stderr = saved;
        child?.wait_with_output().await
    }
}
