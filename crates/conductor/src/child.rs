//! The async [`Child`]: a running (or finished) child process with its pipes.

use crate::child_core::{ChildCore, Ended};
use crate::error::{Operation, Result};
use crate::pipes::{read_to_end, write_all, ChildStderr, ChildStdin, ChildStdout};
use crate::spec::CommandSpec;
use crate::status::{Captured, ExitStatus, Output};
use crate::sys::{AsyncPipe, Spawned};
use std::io;
use std::time::{Duration, Instant};

crate::child_core::child_struct!(
    /// A spawned child process (async API). Mirrors `tokio::process::Child`.
    ///
    /// Dropping a `Child` never leaves a zombie: a child still running is reaped
    /// in the background when it exits, or killed first with
    /// [`kill_on_drop`](crate::Command::kill_on_drop).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let mut stdin = child.stdin.take().unwrap();
    /// stdin.write_all(b"ping").await?;
    /// drop(stdin);
    /// let mut got = String::new();
    /// child.stdout.take().unwrap().read_to_string(&mut got).await?;
    /// assert_eq!(got, "ping");
    /// assert!(child.wait().await?.success());
    /// # Ok(()) }
    /// ```
    pty: crate::pty::Pty
);

impl Child {
    crate::child_core::child_passthrough!();

    pub(crate) fn from_spawned(s: Spawned, spec: &CommandSpec) -> Result<Child> {
        let mut child = Child {
            core: ChildCore::new(s.process, spec),
            stdin: None,
            stdout: None,
            stderr: None,
            #[cfg(unix)]
            pty: None,
        };
        let reg =
            |fd, write| AsyncPipe::new(fd, write).map_err(|e| child.core.err(Operation::Stdio, e));
        let stdin = s.stdin.map(|fd| reg(fd, true)).transpose()?;
        let stdout = s.stdout.map(|fd| reg(fd, false)).transpose()?;
        let stderr = s.stderr.map(|fd| reg(fd, false)).transpose()?;
        child.stdin = stdin.map(|pipe| ChildStdin { pipe });
        child.stdout = stdout.map(|pipe| ChildStdout { pipe });
        child.stderr = stderr.map(|pipe| ChildStderr { pipe });
        Ok(child)
    }

    /// Gives the child its pseudo-terminal's master: read as its stdout
    /// when `capture` (`output()`) and stdout is on the terminal,
    /// otherwise kept for [`take_pty`](Self::take_pty).
    #[cfg(unix)]
    pub(crate) fn attach_pty(&mut self, master: std::os::fd::OwnedFd, capture: bool) -> Result<()> {
        if capture && self.stdout.is_none() {
            crate::sys::pty::set_nonblocking(std::os::fd::AsFd::as_fd(&master), true)
                .map_err(|e| self.core.err(Operation::Stdio, e))?;
            let pipe =
                AsyncPipe::new(master, false).map_err(|e| self.core.err(Operation::Stdio, e))?;
            self.stdout = Some(ChildStdout { pipe });
        } else {
            let pty =
                crate::pty::Pty::new(master).map_err(|e| self.core.err(Operation::Stdio, e))?;
            self.pty = Some(pty);
        }
        Ok(())
    }

    /// The parent's end of the child's pseudo-terminal, when it was spawned
    /// with [`pty`](crate::Command::pty) (once; `None` after).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pty::PtySize, Command};
    /// use tokio::io::AsyncReadExt;
    /// let mut child = Command::new("tty").pty(PtySize::default()).spawn()?;
    /// let mut name = String::new();
    /// child.take_pty().expect("on a pty").read_to_string(&mut name).await?;
    /// assert!(name.starts_with("/dev/"));
    /// assert!(child.take_pty().is_none());
    /// child.wait().await?;
    /// # Ok(()) }
    /// ```
    #[cfg(unix)]
    pub fn take_pty(&mut self) -> Option<crate::pty::Pty> {
        self.pty.take()
    }

    /// Waits for the child to exit. Cancel-safe: dropping the future loses
    /// nothing, and a later call picks up where it left off. The child's stdin
    /// is closed first, so a child reading it to EOF cannot deadlock the wait.
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::Command::new("sh").args(["-c", "exit 7"]).spawn()?;
    /// assert_eq!(child.wait().await?.code(), Some(7));
    /// # Ok(()) }
    /// ```
    pub async fn wait(&mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let res = std::future::poll_fn(|cx| self.core.process().poll_wait(cx)).await;
        self.core.wait_result(res)
    }

    /// Sends SIGKILL without waiting (see [`kill`](Self::kill) to also wait).
    ///
    /// # Errors
    ///
    /// [`Operation::Signal`](crate::Operation::Signal) when the signal cannot be sent.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::Command::new("sleep").arg("5").spawn()?;
    /// child.start_kill()?;
    /// assert_eq!(child.wait().await?.signal(), Some(9));
    /// # Ok(()) }
    /// ```
    pub fn start_kill(&mut self) -> Result<()> {
        self.signal(crate::sys::SIGKILL)
    }

    /// Kills the child with SIGKILL and waits for it to exit.
    ///
    /// # Errors
    ///
    /// [`Operation::Signal`](crate::Operation::Signal) when the signal cannot be sent.
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut child = conductor::Command::new("sleep").arg("5").spawn()?;
    /// child.kill().await?;
    /// # Ok(()) }
    /// ```
    pub async fn kill(&mut self) -> Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }

    /// Waits for exit while collecting all of stdout and stderr (those that are piped).
    ///
    /// # Errors
    ///
    /// As [`communicate`](Self::communicate).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// let child = Command::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.wait_with_output().await?.stdout, b"x\n");
    /// # Ok(()) }
    /// ```
    pub async fn wait_with_output(self) -> Result<Output> {
        self.communicate(&[]).await
    }

    /// Like [`wait_with_output`](Self::wait_with_output), also saying
    /// whether each stream was cut at the capture limit or the I/O grace.
    ///
    /// # Errors
    ///
    /// As [`communicate`](Self::communicate).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// let child = Command::new("echo").arg("hello").capture_limit(2).stdout(Stdio::piped()).spawn()?;
    /// let got = child.wait_with_capture().await?;
    /// assert_eq!(got.output.stdout, b"he");
    /// assert!(got.stdout_truncated);
    /// # Ok(()) }
    /// ```
    pub async fn wait_with_capture(self) -> Result<Captured> {
        self.communicate_captured(&[]).await
    }

    /// Writes `input` to the child's stdin (then closes it) while collecting
    /// stdout and stderr, and waits for exit: no deadlock whatever the sizes.
    /// A child that stops reading early is not an error. The limits of the
    /// command that spawned the child apply ([`timeout`](crate::Command::timeout),
    /// [`io_grace`](crate::Command::io_grace), [`capture_limit`](crate::Command::capture_limit)).
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// let child = Command::new("tr").args(["a-z", "A-Z"])
    ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(child.communicate(b"shout").await?.stdout, b"SHOUT");
    /// # Ok(()) }
    /// ```
    pub async fn communicate(self, input: &[u8]) -> Result<Output> {
        self.communicate_captured(input).await.map(|c| c.output)
    }

    /// [`communicate`](Self::communicate), also saying whether each stream
    /// was cut (see [`Captured`]).
    ///
    /// # Errors
    ///
    /// As [`communicate`](Self::communicate).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// let child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    /// let got = child.communicate_captured(b"abc").await?;
    /// assert_eq!((got.output.stdout.as_slice(), got.stdout_truncated), (&b"abc"[..], false));
    /// # Ok(()) }
    /// ```
    pub async fn communicate_captured(mut self, input: &[u8]) -> Result<Captured> {
        let limits = self.core.limits;
        let deadline = limits.timeout.map(|t| Instant::now() + t);
        let stdin = self.stdin.take();
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let (mut out_trunc, mut err_trunc) = (false, false);
        let cap = limits.capture_limit;
        enum End {
            Done(io::Result<()>),
            IoGrace,
            TimedOut,
        }
        let end = {
            let feed = async {
                if let Some(mut s) = stdin {
                    write_all(&mut s.pipe, input).await?;
                }
                Ok::<(), io::Error>(())
            };
            let read_out = async {
                match &mut stdout {
                    Some(p) => read_to_end(&mut p.pipe, &mut out, cap, &mut out_trunc).await,
                    None => Ok(()),
                }
            };
            let read_err = async {
                match &mut stderr {
                    Some(p) => read_to_end(&mut p.pipe, &mut err, cap, &mut err_trunc).await,
                    None => Ok(()),
                }
            };
            let io = async {
                let (a, b, c) = tokio::join!(feed, read_out, read_err);
                a.and(b).and(c)
            };
            let process = self.core.process();
            let exit_then_grace = async {
                match limits.io_grace {
                    Some(g) => {
                        let _ = std::future::poll_fn(|cx| process.poll_wait(cx)).await;
                        tokio::time::sleep(g).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let timeout = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                r = io => End::Done(r),
                _ = exit_then_grace => End::IoGrace,
                _ = timeout => End::TimedOut,
            }
        };
        let timed_out = match end {
            End::Done(r) => {
                r.map_err(|e| self.core.err(Operation::Io, e))?;
                false
            }
            End::IoGrace => {
                out_trunc |= stdout.is_some();
                err_trunc |= stderr.is_some();
                false
            }
            End::TimedOut => true,
        };
        drop((stdout, stderr));
        let ended = if timed_out {
            Ended::Stopped(self.terminate(limits.grace).await?)
        } else {
            self.wait_or_stop(deadline).await?
        };
        self.core.finish(ended, out, err, (out_trunc, err_trunc))
    }

    /// Runs to completion under the command's timeout (used by `status()`).
    pub(crate) async fn wait_limited(&mut self) -> Result<ExitStatus> {
        let deadline = self.core.limits.timeout.map(|t| Instant::now() + t);
        let ended = self.wait_or_stop(deadline).await?;
        self.core.finish_status(ended)
    }

    /// Waits until `deadline`; past it, stops the tree (with the command's grace).
    async fn wait_or_stop(&mut self, deadline: Option<Instant>) -> Result<Ended> {
        let status = match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), self.wait())
                .await
                .ok()
                .transpose()?,
            None => Some(self.wait().await?),
        };
        Ok(match status {
            Some(s) => Ended::Exited(s),
            None => Ended::Stopped(self.terminate(self.core.limits.grace).await?),
        })
    }

    /// Waits at most `timeout`; `Ok(None)` if the child still runs then (it is not killed).
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use std::time::Duration;
    /// let mut child = conductor::Command::new("sleep").arg("5").kill_on_drop(true).spawn()?;
    /// assert_eq!(child.wait_timeout(Duration::from_millis(10)).await?, None);
    /// # Ok(()) }
    /// ```
    pub async fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        match tokio::time::timeout(timeout, self.wait()).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Stops the whole tree gracefully: SIGTERM (and SIGCONT) to every member,
    /// up to `grace` for all to exit, then SIGKILL (`cgroup.kill` for a
    /// cgroup); reaps the direct child and returns its status. A zero grace
    /// kills at once.
    ///
    /// # Errors
    ///
    /// [`Operation::Signal`](crate::Operation::Signal) when the tree cannot be signalled or
    /// reaped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Containment};
    /// use std::time::Duration;
    /// let mut child = Command::new("sleep").arg("300").containment(Containment::ProcessGroup).spawn()?;
    /// assert_eq!(child.terminate(Duration::from_secs(1)).await?.signal(), Some(libc::SIGTERM));
    /// # Ok(()) }
    /// ```
    pub async fn terminate(&mut self, grace: Duration) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let res = crate::stop::terminate(self.core.process(), grace).await;
        self.core.stop_result(grace, res)
    }

    /// Waits for the direct child, then until every member of its tree is gone.
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
    /// example the status was discarded by other code reaping it), or when the tree's
    /// membership cannot be read.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Containment};
    /// let mut child = Command::new("sh").args(["-c", "sleep 0.2 & exit 0"])
    ///     .containment(Containment::ProcessGroup).spawn()?;
    /// assert!(child.wait_tree().await?.success());
    /// # Ok(()) }
    /// ```
    pub async fn wait_tree(&mut self) -> Result<ExitStatus> {
        let status = self.wait().await?;
        let res = crate::stop::wait_tree(self.core.process(), None).await;
        res.map_err(|e| self.core.err(Operation::Wait, e))?;
        Ok(status)
    }
}
