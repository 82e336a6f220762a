//! The async [`Child`]: a running (or finished) child process with its pipes.

use crate::error::Result;
use crate::pipes::{ChildStderr, ChildStdin, ChildStdout};

crate::child_core::child_shell! {
    shell: [async] [.await] waits,
    command: "crate::Command",
    pty: crate::pty::Pty,
    child: {
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
    },
    take_pty: {
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
    },
    wait: {
        /// Cancel-safe: dropping the future loses nothing, and a later call
        /// picks up where it left off.
    } {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::Command::new("sh").args(["-c", "exit 7"]).spawn()?;
        /// assert_eq!(child.wait().await?.code(), Some(7));
        /// # Ok(()) }
        /// ```
    },
    wait_timeout: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use std::time::Duration;
        /// let mut child = conductor::Command::new("sleep").arg("5").kill_on_drop(true).spawn()?;
        /// assert_eq!(child.wait_timeout(Duration::from_millis(10)).await?, None);
        /// # Ok(()) }
        /// ```
    },
    wait_with_output: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::{Command, Stdio};
        /// let child = Command::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
        /// assert_eq!(child.wait_with_output().await?.stdout, b"x\n");
        /// # Ok(()) }
        /// ```
    },
    wait_with_capture: {
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
    },
    communicate: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::{Command, Stdio};
        /// let child = Command::new("tr").args(["a-z", "A-Z"])
        ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        /// assert_eq!(child.communicate(b"shout").await?.stdout, b"SHOUT");
        /// # Ok(()) }
        /// ```
    },
    communicate_captured: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::{Command, Stdio};
        /// let child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        /// let got = child.communicate_captured(b"abc").await?;
        /// assert_eq!((got.output.stdout.as_slice(), got.stdout_truncated), (&b"abc"[..], false));
        /// # Ok(()) }
        /// ```
    },
    terminate: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::{Command, Containment};
        /// use std::time::Duration;
        /// let mut child = Command::new("sleep").arg("300").containment(Containment::ProcessGroup).spawn()?;
        /// assert_eq!(child.terminate(Duration::from_secs(1)).await?.signal(), Some(libc::SIGTERM));
        /// # Ok(()) }
        /// ```
    },
    wait_tree: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::{Command, Containment};
        /// let mut child = Command::new("sh").args(["-c", "sleep 0.2 & exit 0"])
        ///     .containment(Containment::ProcessGroup).spawn()?;
        /// assert!(child.wait_tree().await?.success());
        /// # Ok(()) }
        /// ```
    },
    own: {
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
    },
}

/// How the async `Child` waits: tokio's reactor and timers (the primitives
/// [`child_shell`](crate::child_core::child_shell) builds on).
mod waits {
    use super::Child;
    use crate::child_core::Gathered;
    use crate::error::{Operation, Result};
    use crate::pipes::{read_to_end, write_all};
    use crate::status::ExitStatus;
    use crate::sys::{AsyncPipe, Process};
    use std::io;
    use std::time::{Duration, Instant};

    pub(super) fn pipe(end: crate::stdio::OwnedIo, write: bool) -> io::Result<AsyncPipe> {
        AsyncPipe::new(end, write)
    }

    pub(super) async fn exit(p: &mut Process) -> io::Result<ExitStatus> {
        std::future::poll_fn(|cx| p.poll_wait(cx)).await
    }

    pub(super) async fn exit_within(
        p: &mut Process,
        timeout: Duration,
    ) -> io::Result<Option<ExitStatus>> {
        tokio::time::timeout(timeout, exit(p))
            .await
            .map_or(Ok(None), |r| r.map(Some))
    }

    pub(super) async fn stop_tree(p: &mut Process, grace: Duration) -> io::Result<ExitStatus> {
        crate::stop::terminate(p, grace).await
    }

    pub(super) async fn tree_gone(p: &mut Process) -> io::Result<bool> {
        crate::stop::wait_tree(p, None).await
    }

    /// Feeds stdin and reads stdout and stderr side by side, until they
    /// end, the I/O grace after the exit, or the deadline.
    pub(super) async fn gather(
        child: &mut Child,
        input: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Gathered> {
        let limits = child.core.limits;
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let mut got = Gathered::default();
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
            let (out, out_trunc) = (&mut got.stdout, &mut got.stdout_truncated);
            let read_out = async {
                match &mut stdout {
                    Some(p) => read_to_end(&mut p.pipe, out, cap, out_trunc).await,
                    None => Ok(()),
                }
            };
            let (err, err_trunc) = (&mut got.stderr, &mut got.stderr_truncated);
            let read_err = async {
                match &mut stderr {
                    Some(p) => read_to_end(&mut p.pipe, err, cap, err_trunc).await,
                    None => Ok(()),
                }
            };
            let io = async {
                let (a, b, c) = tokio::join!(feed, read_out, read_err);
                a.and(b).and(c)
            };
            let process = child.core.process();
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
        match end {
            End::Done(r) => r.map_err(|e| child.core.err(Operation::Io, e))?,
            End::IoGrace => {
                got.stdout_truncated |= stdout.is_some();
                got.stderr_truncated |= stderr.is_some();
            }
            End::TimedOut => got.timed_out = true,
        }
        Ok(got)
    }
}
