//! The blocking [`Child`].

use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::status::{ExitStatus, Output, ResourceUsage};
use crate::sys::{Process, Spawned};
use std::ffi::OsString;
use std::io;
use std::time::Duration;

/// A spawned child process (blocking API). Mirrors [`std::process::Child`].
///
/// Dropping it never leaves a zombie: a child still running is reaped in the
/// background when it exits (or killed first with `kill_on_drop(true)`).
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::{blocking::Command, Stdio};
/// use std::io::{Read, Write};
/// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
/// child.stdin.take().unwrap().write_all(b"ping").unwrap();
/// let mut got = String::new();
/// child.stdout.take().unwrap().read_to_string(&mut got).unwrap();
/// assert_eq!(got, "ping");
/// assert!(child.wait()?.success());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Child {
    process: Option<Process>,
    program: OsString,
    kill_on_drop: bool,
    /// The parent's end of the child's stdin, when piped.
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, when piped.
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, when piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    pub(crate) fn from_spawned(s: Spawned, spec: &CommandSpec) -> Child {
        Child {
            process: Some(s.process),
            program: spec.program.clone(),
            kill_on_drop: spec.kill_on_drop,
            stdin: s.stdin.map(|fd| ChildStdin { fd }),
            stdout: s.stdout.map(|fd| ChildStdout { fd }),
            stderr: s.stderr.map(|fd| ChildStderr { fd }),
        }
    }

    fn err(&self, op: Operation, e: io::Error) -> Error {
        Error::new(op, e).with_program(&self.program)
    }

    fn process(&mut self) -> &mut Process {
        self.process
            .as_mut()
            .expect("process is present until drop")
    }

    /// The child's process id.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("true").spawn()?;
    /// assert!(child.id() > 0);
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> u32 {
        self.process.as_ref().map_or(0, |p| p.id())
    }

    /// The child's pidfd (Linux); `None` on the SIGCHLD fallback.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("true").spawn()?;
    /// let _maybe_fd = child.pidfd();
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    #[cfg(target_os = "linux")]
    pub fn pidfd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.process.as_ref().and_then(|p| p.pidfd())
    }

    /// Waits for the child to exit (closing its stdin first, as std does).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sh").args(["-c", "exit 4"]).spawn()?;
    /// assert_eq!(child.wait()?.code(), Some(4));
    /// # Ok(()) }
    /// ```
    pub fn wait(&mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let res = self.process().wait_blocking();
        res.map_err(|e| self.err(Operation::Wait, e))
    }

    /// Waits at most `timeout`; `Ok(None)` if the child still runs then. Does not kill it.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use std::time::Duration;
    /// let mut child = conductor::blocking::Command::new("sleep").arg("5").kill_on_drop(true).spawn()?;
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
    /// # Ok(()) }
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        drop(self.stdin.take());
        let res = self.process().wait_timeout_blocking(timeout);
        res.map_err(|e| self.err(Operation::Wait, e))
    }

    /// Returns the status if the child has exited, without waiting.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sleep").arg("5").kill_on_drop(true).spawn()?;
    /// assert_eq!(child.try_wait()?, None);
    /// # Ok(()) }
    /// ```
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        let res = self.process().try_wait();
        res.map_err(|e| self.err(Operation::Wait, e))
    }

    /// Sends SIGKILL (does not wait; call [`wait`](Self::wait) to reap).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sleep").arg("5").spawn()?;
    /// child.kill()?;
    /// assert_eq!(child.wait()?.signal(), Some(9));
    /// # Ok(()) }
    /// ```
    pub fn kill(&mut self) -> Result<()> {
        self.signal(libc::SIGKILL)
    }

    /// Sends signal `sig` (through the pidfd on Linux: never to a recycled pid).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sleep").arg("5").spawn()?;
    /// child.signal(libc::SIGTERM)?;
    /// assert_eq!(child.wait()?.signal(), Some(libc::SIGTERM));
    /// # Ok(()) }
    /// ```
    pub fn signal(&mut self, sig: i32) -> Result<()> {
        let res = self.process().signal(sig);
        res.map_err(|e| self.err(Operation::Signal, e))
    }

    /// CPU times and peak memory of the child, once it has been waited for.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("true").spawn()?;
    /// child.wait()?;
    /// assert!(child.resource_usage().is_some());
    /// # Ok(()) }
    /// ```
    pub fn resource_usage(&self) -> Option<ResourceUsage> {
        self.process.as_ref().and_then(|p| p.resource_usage())
    }

    /// Waits for exit while collecting stdout and stderr (those that are piped).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let child = Command::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.wait_with_output()?.stdout, b"x\n");
    /// # Ok(()) }
    /// ```
    pub fn wait_with_output(self) -> Result<Output> {
        self.communicate(&[])
    }

    /// Writes `input` to stdin (then closes it) while collecting stdout and
    /// stderr, and waits: no deadlock whatever the sizes.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let child = Command::new("tr").args(["a-z", "A-Z"])
    ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.communicate(b"shout")?.stdout, b"SHOUT");
    /// # Ok(()) }
    /// ```
    pub fn communicate(mut self, input: &[u8]) -> Result<Output> {
        let stdin = self.stdin.take().map(|s| s.fd);
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        crate::sys::unix::io::communicate(
            stdin,
            input,
            stdout.as_ref().map(|s| &s.fd),
            stderr.as_ref().map(|s| &s.fd),
            &mut out,
            &mut err,
        )
        .map_err(|e| self.err(Operation::Io, e))?;
        drop((stdout, stderr));
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(p) = self.process.take() {
            p.orphan(self.kill_on_drop);
        }
    }
}
