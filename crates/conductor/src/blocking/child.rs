//! The blocking [`Child`].

use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::status::{ExitStatus, Output, ResourceUsage};
use crate::sys::unix::io::{communicate, CollectOpts, Pipes};
use crate::sys::{Process, Spawned};
use crate::tree::Limits;
use std::ffi::OsString;
use std::io;
use std::time::{Duration, Instant};

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
    limits: Limits,
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
            limits: spec.limits,
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
        self.process.as_ref().and_then(|p| p.cgroup_path())
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
    /// use std::time::{Duration, Instant};
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
    /// stderr, and waits: no deadlock whatever the sizes. The limits of the
    /// command that spawned the child apply: [`timeout`](super::Command::timeout)
    /// (stops the tree and returns a `TimedOut` error carrying the partial
    /// output), [`io_grace`](super::Command::io_grace) and
    /// [`capture_limit`](super::Command::capture_limit).
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
        let limits = self.limits;
        let deadline = limits.timeout.map(|t| Instant::now() + t);
        let stdin = self.stdin.take().map(|s| s.fd);
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let process = self
            .process
            .as_mut()
            .expect("process is present until drop");
        let exit_fd = process
            .pidfd()
            .map(|fd| fd.try_clone_to_owned())
            .transpose();
        let exit_fd =
            exit_fd.map_err(|e| Error::new(Operation::Io, e).with_program(&self.program))?;
        let opts = CollectOpts {
            deadline,
            exit_fd: exit_fd.as_ref().map(|f| std::os::fd::AsFd::as_fd(f)),
            io_grace: limits.io_grace,
            cap: limits.capture_limit,
        };
        let pipes = Pipes {
            stdin,
            input,
            stdout: stdout.as_ref().map(|s| &s.fd),
            stderr: stderr.as_ref().map(|s| &s.fd),
        };
        let collected = communicate(pipes, &mut out, &mut err, &opts, &mut || {
            matches!(process.try_wait(), Ok(Some(_)))
        })
        .map_err(|e| self.err(Operation::Io, e))?;
        drop((stdout, stderr));
        let status = if collected.timed_out {
            None
        } else {
            match deadline {
                Some(d) => self.wait_timeout(d.saturating_duration_since(Instant::now()))?,
                None => Some(self.wait()?),
            }
        };
        let mut output = Output {
            status: ExitStatus::from_raw(0),
            stdout: out,
            stderr: err,
            stdout_truncated: collected.out_truncated,
            stderr_truncated: collected.err_truncated,
        };
        match status {
            Some(s) => {
                output.status = s;
                Ok(output)
            }
            None => {
                output.status = self.terminate(limits.grace)?;
                Err(Error::timed_out(
                    &self.program,
                    limits.timeout.unwrap_or_default(),
                    output,
                ))
            }
        }
    }

    /// Runs to completion under the command's timeout (used by `status()`).
    pub(crate) fn wait_limited(&mut self) -> Result<ExitStatus> {
        let Some(limit) = self.limits.timeout else {
            return self.wait();
        };
        match self.wait_timeout(limit)? {
            Some(s) => Ok(s),
            None => {
                let status = self.terminate(self.limits.grace)?;
                let partial = Output {
                    status,
                    stdout: Vec::new(),
                    stderr: Vec::new(),
                    stdout_truncated: false,
                    stderr_truncated: false,
                };
                Err(Error::timed_out(&self.program, limit, partial))
            }
        }
    }

    /// Sends `sig` to the child's whole tree, as its
    /// [`Containment`](crate::Containment) holds it (just the child without one).
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
    pub fn signal_tree(&mut self, sig: i32) -> Result<()> {
        let res = self.process().signal_tree(sig);
        res.map_err(|e| self.err(Operation::Signal, e))
    }

    /// Stops the whole tree gracefully: SIGTERM (and SIGCONT) to every member,
    /// up to `grace` for all of them to exit, then SIGKILL (`cgroup.kill` for a
    /// cgroup); reaps the direct child and returns its status. A zero grace
    /// sends SIGKILL at once. A child that exits cleanly on SIGTERM within the
    /// grace is not killed.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Containment};
    /// use std::time::Duration;
    /// let mut child = Command::new("sleep").arg("300").containment(Containment::ProcessGroup).spawn()?;
    /// let status = child.terminate(Duration::from_secs(1))?;
    /// assert_eq!(status.signal(), Some(libc::SIGTERM));
    /// # Ok(()) }
    /// ```
    pub fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let res = crate::stop::terminate_blocking(self.process(), grace);
        res.map_err(|e| self.err(Operation::Signal, e))
    }

    /// Waits for the direct child, then until every member of its tree is gone
    /// (the cgroup is empty, or the process group has no members left).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Containment};
    /// let mut child = Command::new("sh").args(["-c", "sleep 0.2 & exit 0"])
    ///     .containment(Containment::ProcessGroup).spawn()?;
    /// assert!(child.wait_tree()?.success());
    /// # Ok(()) }
    /// ```
    pub fn wait_tree(&mut self) -> Result<ExitStatus> {
        let status = self.wait()?;
        let res = crate::stop::wait_tree_blocking(self.process(), None);
        res.map_err(|e| self.err(Operation::Wait, e))?;
        Ok(status)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Some(p) = self.process.take() {
            p.orphan(self.kill_on_drop);
        }
    }
}
