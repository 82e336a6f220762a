//! The blocking [`Command`] builder.

use super::child::Child;
use crate::builder::CAPTURE;
use crate::error::Result;
use crate::status::{Captured, ExitStatus, Output};
use crate::sys::StdioDefault;

crate::builder::command_type! {
    /// A process builder for blocking code, mirroring [`std::process::Command`].
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let status = Command::new("sh").args(["-c", "exit 2"]).status()?;
    /// assert_eq!(status.code(), Some(2));
    /// # Ok(()) }
    /// ```
    nonblocking: false,
    new: {
        /// ```
        /// let cmd = conductor::blocking::Command::new("ls");
        /// ```
    }
}

impl Command {
    pub(crate) fn spawn_with(&mut self, defaults: [StdioDefault; 3], grow: bool) -> Result<Child> {
        self.spawn_wired(defaults, grow)
    }

    /// Starts the child; its stdio defaults to the parent's. Errors from
    /// `exec` are returned here, never as an exit code.
    ///
    /// # Errors
    ///
    /// The spawn's failure, naming the program and the step ([`Operation`](crate::Operation)):
    /// invalid input (`Validate`), stdio, containment, credentials, working directory,
    /// descriptors, resource limits, `pre_exec`, or `exec` itself (program not found,
    /// permission denied, not an executable).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("true").spawn()?;
    /// assert!(child.wait()?.success());
    /// # Ok(()) }
    /// ```
    pub fn spawn(&mut self) -> Result<Child> {
        self.spawn_with([StdioDefault::Inherit; 3], false)
    }

    /// Runs the child to completion with inherited stdio. On a
    /// [`pty`](Self::pty), what the child writes to the terminal is read
    /// and discarded (so it never blocks on a full terminal).
    ///
    /// # Errors
    ///
    /// The spawn's failure, naming the program and the step ([`Operation`](crate::Operation)):
    /// invalid input (`Validate`), stdio, containment, credentials, working directory,
    /// descriptors, resource limits, `pre_exec`, or `exec` itself (program not found,
    /// permission denied, not an executable); then the run's: `Wait` or `Io` when the system
    /// refuses a wait or the pipes fail, `Timeout` (carrying the output so far) when the
    /// command's [`timeout`](crate::Command::timeout) stopped the tree, `ExitStatus` for a
    /// [`checked`](crate::Command::checked) run that exited unsuccessfully.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// assert!(conductor::blocking::Command::new("true").status()?.success());
    /// # Ok(()) }
    /// ```
    pub fn status(&mut self) -> Result<ExitStatus> {
        if self.spec.pty.is_some() {
            return Ok(self.output()?.status);
        }
        self.spawn()?.wait_limited()
    }

    /// Runs the child to completion capturing stdout and stderr (stdin is the
    /// null device unless set); both are drained while waiting.
    ///
    /// # Errors
    ///
    /// As [`status`](Self::status).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let out = conductor::blocking::Command::new("echo").arg("hi").output()?;
    /// assert_eq!(out.stdout, b"hi\n");
    /// # Ok(()) }
    /// ```
    pub fn output(&mut self) -> Result<Output> {
        self.spawn_with(CAPTURE, true)?.wait_with_output()
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
    /// # fn main() -> Result<(), conductor::Error> {
    /// let got = conductor::blocking::Command::new("echo").arg("hello").capture_limit(3).capture()?;
    /// assert_eq!(got.output.stdout, b"hel");
    /// assert!(got.stdout_truncated && !got.stderr_truncated);
    /// # Ok(()) }
    /// ```
    pub fn capture(&mut self) -> Result<Captured> {
        let child = self.spawn_with(CAPTURE, true)?;
        child.wait_with_capture()
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
    /// # fn main() -> Result<(), conductor::Error> {
    /// let out = conductor::blocking::Command::new("sh").args(["-c", "echo 1; echo 2 >&2; echo 3"])
    ///     .combined_output()?;
    /// assert_eq!(out.stdout, b"1\n2\n3\n");
    /// # Ok(()) }
    /// ```
    pub fn combined_output(&mut self) -> Result<Output> {
        let saved = self.spec.stderr.replace(crate::Stdio::merged_with_stdout());
        let child = self.spawn_with(CAPTURE, true);
        self.spec.stderr = saved;
        child?.wait_with_output()
    }
}
