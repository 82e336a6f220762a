//! The blocking [`Child`]: the shared `Child` (see
//! [`child_shell`](crate::child_core::child_shell)) over the waits that need
//! no runtime: blocking waits on the process and a poll loop for the pipes.

use super::pipes::{ChildStderr, ChildStdin, ChildStdout};

crate::child_core::child_shell! {
    shell: [] [] waits,
    command: "crate::blocking::Command",
    pty: crate::blocking::Pty,
    child: {
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
    },
    take_pty: {
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
    },
    wait: {} {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut child = conductor::blocking::Command::new("sh").args(["-c", "exit 4"]).spawn()?;
        /// assert_eq!(child.wait()?.code(), Some(4));
        /// # Ok(()) }
        /// ```
    },
    wait_timeout: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use std::time::{Duration, Instant};
        /// let mut child = conductor::blocking::Command::new("sleep").arg("5").kill_on_drop(true).spawn()?;
        /// assert_eq!(child.wait_timeout(Duration::from_millis(10))?, None);
        /// # Ok(()) }
        /// ```
    },
    wait_with_output: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Stdio};
        /// let child = Command::new("echo").arg("x").stdout(Stdio::piped()).spawn()?;
        /// assert_eq!(child.wait_with_output()?.stdout, b"x\n");
        /// # Ok(()) }
        /// ```
    },
    wait_with_capture: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Stdio};
        /// let child = Command::new("echo").arg("hello").capture_limit(2).stdout(Stdio::piped()).spawn()?;
        /// let got = child.wait_with_capture()?;
        /// assert_eq!(got.output.stdout, b"he");
        /// assert!(got.stdout_truncated);
        /// # Ok(()) }
        /// ```
    },
    communicate: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Stdio};
        /// let child = Command::new("tr").args(["a-z", "A-Z"])
        ///     .stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        /// assert_eq!(child.communicate(b"shout")?.stdout, b"SHOUT");
        /// # Ok(()) }
        /// ```
    },
    communicate_captured: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Stdio};
        /// let child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
        /// let got = child.communicate_captured(b"abc")?;
        /// assert_eq!((got.output.stdout.as_slice(), got.stdout_truncated), (&b"abc"[..], false));
        /// # Ok(()) }
        /// ```
    },
    terminate: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Containment};
        /// use std::time::Duration;
        /// let mut child = Command::new("sleep").arg("300").containment(Containment::ProcessGroup).spawn()?;
        /// let status = child.terminate(Duration::from_secs(1))?;
        /// assert_eq!(status.signal(), Some(libc::SIGTERM));
        /// # Ok(()) }
        /// ```
    },
    wait_tree: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Containment};
        /// let mut child = Command::new("sh").args(["-c", "sleep 0.2 & exit 0"])
        ///     .containment(Containment::ProcessGroup).spawn()?;
        /// assert!(child.wait_tree()?.success());
        /// # Ok(()) }
        /// ```
    },
    own: {
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
        pub fn kill(&mut self) -> crate::Result<()> {
            self.core.signal(crate::sys::SIGKILL)
        }
    },
}

/// How the blocking `Child` waits, without a runtime (the primitives
/// [`child_shell`](crate::child_core::child_shell) builds on).
mod waits {
    use crate::blocking::Child;
    use crate::child_core::Gathered;
    use crate::error::{Operation, Result};
    use crate::status::ExitStatus;
    use crate::sys::{blocking_pipe, BlockingPipe, CollectOpts, Pipes, Process};
    use std::io;
    use std::time::{Duration, Instant};

    pub(super) fn pipe(end: crate::stdio::OwnedIo, _write: bool) -> io::Result<BlockingPipe> {
        Ok(blocking_pipe(end))
    }

    pub(super) fn exit(p: &mut Process) -> io::Result<ExitStatus> {
        p.wait_blocking()
    }

    pub(super) fn exit_within(p: &mut Process, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        p.wait_timeout_blocking(timeout)
    }

    pub(super) fn stop_tree(p: &mut Process, grace: Duration) -> io::Result<ExitStatus> {
        crate::stop::terminate_blocking(p, grace)
    }

    pub(super) fn tree_gone(p: &mut Process) -> io::Result<bool> {
        crate::stop::wait_tree_blocking(p, None)
    }

    /// One poll loop over the pipes (`sys::communicate`), which also
    /// watches for the exit when there is an I/O grace.
    pub(super) fn gather(child: &mut Child, input: &[u8], at: Option<Instant>) -> Result<Gathered> {
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let pipes = Pipes {
            stdin: child.stdin.take().map(|s| s.pipe),
            input,
            stdout: stdout.as_ref().map(|s| &s.pipe),
            stderr: stderr.as_ref().map(|s| &s.pipe),
        };
        let io_grace = child.core.limits.io_grace;
        // The pidfd tells the poll loop when the child exits (only needed for the io grace).
        #[cfg(unix)]
        let exit_fd = match child.core.exit_fd().filter(|_| io_grace.is_some()) {
            Some(fd) => Some(fd.try_clone_to_owned().map_err(|e| child.core.err(Operation::Io, e))?),
            None => None,
        };
        let opts = CollectOpts {
            deadline: at,
            #[cfg(unix)]
            exit_fd: exit_fd.as_ref().map(std::os::fd::AsFd::as_fd),
            io_grace,
            cap: child.core.limits.capture_limit,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let core = &mut child.core;
        let res = crate::sys::communicate(pipes, &mut out, &mut err, &opts, &mut || {
            matches!(core.process().try_wait(), Ok(Some(_)))
        });
        let done = res.map_err(|e| core.err(Operation::Io, e))?;
        Ok(Gathered {
            stdout: out,
            stderr: err,
            stdout_truncated: done.out_truncated,
            stderr_truncated: done.err_truncated,
            timed_out: done.timed_out,
        })
    }
}
