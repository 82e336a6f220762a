//! The blocking [`Child`].

use super::pipes::{ChildStderr, ChildStdin, ChildStdout};
use crate::child_core::{ChildCore, Ended};
use crate::error::{Operation, Result};
use crate::spec::CommandSpec;
use crate::status::{Captured, ExitStatus, Output};
use crate::sys::{communicate, CollectOpts, Pipes, Spawned};

use std::time::{Duration, Instant};

crate::child_core::child_struct!(
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
    pty: crate::blocking::Pty
);

impl Child {
    crate::child_core::child_passthrough!();

    pub(crate) fn from_spawned(s: Spawned, spec: &CommandSpec) -> Child {
        Child {
            core: ChildCore::new(s.process, spec),
            stdin: s.stdin.map(|h| ChildStdin {
                pipe: crate::sys::blocking_pipe(h),
            }),
            stdout: s.stdout.map(|h| ChildStdout {
                pipe: crate::sys::blocking_pipe(h),
            }),
            stderr: s.stderr.map(|h| ChildStderr {
                pipe: crate::sys::blocking_pipe(h),
            }),
            #[cfg(unix)]
            pty: None,
        }
    }

    /// Gives the child its pseudo-terminal's master: read as its stdout
    /// when `capture` (`output()`) and stdout is on the terminal,
    /// otherwise kept for [`take_pty`](Self::take_pty).
    #[cfg(unix)]
    pub(crate) fn attach_pty(&mut self, master: std::os::fd::OwnedFd, capture: bool) -> Result<()> {
        let pty =
            crate::blocking::Pty::new(master).map_err(|e| self.core.err(Operation::Stdio, e))?;
        if capture && self.stdout.is_none() {
            self.stdout = Some(ChildStdout {
                pipe: crate::sys::blocking_pipe(pty.into()),
            });
        } else {
            self.pty = Some(pty);
        }
        Ok(())
    }

    /// The parent's end of the child's pseudo-terminal, when it was spawned
    /// with [`pty`](crate::blocking::Command::pty) (once; `None` after).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{blocking::Command, pty::PtySize};
    /// use std::io::Read;
    /// let mut child = Command::new("tty").pty(PtySize::default()).spawn()?;
    /// let mut name = String::new();
    /// child.take_pty().expect("on a pty").read_to_string(&mut name)?;
    /// assert!(name.starts_with("/dev/"));
    /// assert!(child.take_pty().is_none());
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    #[cfg(unix)]
    pub fn take_pty(&mut self) -> Option<crate::blocking::Pty> {
        self.pty.take()
    }

    /// Waits for the child to exit (closing its stdin first, as std does).
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sh").args(["-c", "exit 4"]).spawn()?;
    /// assert_eq!(child.wait()?.code(), Some(4));
    /// # Ok(()) }
    /// ```
    pub fn wait(&mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let res = self.core.process().wait_blocking();
        self.core.wait_result(res)
    }

    /// Waits at most `timeout`; `Ok(None)` if the child still runs then. Does not kill it.
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it).
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
        let res = self.core.process().wait_timeout_blocking(timeout);
        self.core.wait_opt_result(res)
    }

    /// Sends SIGKILL (does not wait; call [`wait`](Self::wait) to reap).
    ///
    /// # Errors
    ///
    /// [`Operation::Signal`](crate::Operation::Signal) when the signal cannot be sent.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::blocking::Command::new("sleep").arg("5").spawn()?;
    /// child.kill()?;
    /// assert_eq!(child.wait()?.signal(), Some(9));
    /// # Ok(()) }
    /// ```
    pub fn kill(&mut self) -> Result<()> {
        self.signal(crate::sys::SIGKILL)
    }

    /// Waits for exit while collecting stdout and stderr (those that are piped).
    ///
    /// # Errors
    ///
    /// As [`communicate`](Self::communicate).
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

    /// Like [`wait_with_output`](Self::wait_with_output), also saying
    /// whether each stream was cut at the capture limit or the I/O grace.
    ///
    /// # Errors
    ///
    /// As [`communicate`](Self::communicate).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let child = Command::new("echo").arg("hello").capture_limit(2).stdout(Stdio::piped()).spawn()?;
    /// let got = child.wait_with_capture()?;
    /// assert_eq!(got.output.stdout, b"he");
    /// assert!(got.stdout_truncated);
    /// # Ok(()) }
    /// ```
    pub fn wait_with_capture(self) -> Result<Captured> {
        self.communicate_captured(&[])
    }

    /// Writes `input` to stdin (then closes it) while collecting stdout and
    /// stderr, and waits: no deadlock whatever the sizes. The limits of the
    /// command that spawned the child apply: [`timeout`](super::Command::timeout)
    /// (stops the tree and returns a `TimedOut` error carrying the partial
    /// output), [`io_grace`](super::Command::io_grace) and
    /// [`capture_limit`](super::Command::capture_limit).
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when a pipe fails (a child that stops reading
    /// stdin is not an error), [`Operation::Wait`](crate::Operation::Wait) when the wait fails,
    /// [`Operation::Timeout`](crate::Operation::Timeout) (carrying the partial output) when the
    /// command's timeout stopped the tree,
    /// [`Operation::ExitStatus`](crate::Operation::ExitStatus) for a checked run that exited
    /// unsuccessfully.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let child = Command::new("tr").args(["a-z", "A-Z"])
    ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.communicate(b"shout")?.stdout, b"SHOUT");
    /// # Ok(()) }
    /// ```
    pub fn communicate(self, input: &[u8]) -> Result<Output> {
        self.communicate_captured(input).map(|c| c.output)
    }

    /// [`communicate`](Self::communicate), also saying whether each stream
    /// was cut (see [`Captured`]).
    ///
    /// # Errors
    ///
    /// As [`communicate`](Self::communicate).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let got = child.communicate_captured(b"abc")?;
    /// assert_eq!((got.output.stdout.as_slice(), got.stdout_truncated), (&b"abc"[..], false));
    /// # Ok(()) }
    /// ```
    pub fn communicate_captured(mut self, input: &[u8]) -> Result<Captured> {
        let limits = self.core.limits;
        let deadline = limits.timeout.map(|t| Instant::now() + t);
        let stdin = self.stdin.take().map(|s| s.pipe);
        let stdout = self.stdout.take();
        let stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // The pidfd tells the poll loop when the child exits (only needed for the io grace).
        #[cfg(unix)]
        let exit_fd = match (limits.io_grace, self.core.exit_fd()) {
            (Some(_), Some(fd)) => Some(
                fd.try_clone_to_owned()
                    .map_err(|e| self.core.err(Operation::Io, e))?,
            ),
            _ => None,
        };
        let opts = CollectOpts {
            deadline,
            #[cfg(unix)]
            exit_fd: exit_fd.as_ref().map(|f| std::os::fd::AsFd::as_fd(f)),
            io_grace: limits.io_grace,
            cap: limits.capture_limit,
        };
        let pipes = Pipes {
            stdin,
            input,
            stdout: stdout.as_ref().map(|s| &s.pipe),
            stderr: stderr.as_ref().map(|s| &s.pipe),
        };
        let process = self.core.process();
        let res = communicate(pipes, &mut out, &mut err, &opts, &mut || {
            matches!(process.try_wait(), Ok(Some(_)))
        });
        let collected = res.map_err(|e| self.core.err(Operation::Io, e))?;
        drop((stdout, stderr));
        let ended = if collected.timed_out {
            Ended::Stopped(self.terminate(limits.grace)?)
        } else {
            self.wait_or_stop(deadline)?
        };
        self.core.finish(
            ended,
            out,
            err,
            (collected.out_truncated, collected.err_truncated),
        )
    }

    /// Runs to completion under the command's timeout (used by `status()`).
    pub(crate) fn wait_limited(&mut self) -> Result<ExitStatus> {
        let deadline = self.core.limits.timeout.map(|t| Instant::now() + t);
        let ended = self.wait_or_stop(deadline)?;
        self.core.finish_status(ended)
    }

    /// Waits until `deadline`; past it, stops the tree (with the command's grace).
    fn wait_or_stop(&mut self, deadline: Option<Instant>) -> Result<Ended> {
        let status = match deadline {
            Some(d) => self.wait_timeout(d.saturating_duration_since(Instant::now()))?,
            None => Some(self.wait()?),
        };
        Ok(match status {
            Some(s) => Ended::Exited(s),
            None => Ended::Stopped(self.terminate(self.core.limits.grace)?),
        })
    }

    /// Stops the whole tree gracefully: SIGTERM (and SIGCONT) to every member,
    /// up to `grace` for all of them to exit, then SIGKILL (`cgroup.kill` for a
    /// cgroup); reaps the direct child and returns its status. A zero grace
    /// sends SIGKILL at once. A child that exits cleanly on SIGTERM within the
    /// grace is not killed.
    ///
    /// # Errors
    ///
    /// [`Operation::Signal`](crate::Operation::Signal) when the tree cannot be signalled or
    /// reaped.
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
        let res = crate::stop::terminate_blocking(self.core.process(), grace);
        self.core.stop_result(grace, res)
    }

    /// Waits for the direct child, then until every member of its tree is gone
    /// (the cgroup is empty, or the process group has no members left).
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it), or when the tree's
    /// membership cannot be read.
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
        let res = crate::stop::wait_tree_blocking(self.core.process(), None);
        res.map_err(|e| self.core.err(Operation::Wait, e))?;
        Ok(status)
    }
}
