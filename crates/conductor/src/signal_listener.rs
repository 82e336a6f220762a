//! [`SignalListener`]: catch signals and learn where each came from, for
//! supervisors that forward signals to their children (re-exported from
//! [`crate::unix`]).

use crate::sys::signals::{self, Raw, Registration, RECORD};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use tokio::io::unix::AsyncFd;

/// Who sent a signal, from its `siginfo_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignalOrigin {
    /// A process, with `kill(2)`, `sigqueue(3)` or `tgkill(2)` (`si_code` is
    /// `SI_USER`, `SI_QUEUE` or `SI_TKILL`): its pid and real user id.
    Process {
        /// The sender's process id.
        pid: i32,
        /// The sender's real user id.
        uid: u32,
    },
    /// The kernel itself (Linux: `si_code == SI_KERNEL`). This is how a
    /// terminal's Ctrl-C (SIGINT), Ctrl-\ (SIGQUIT), resize (SIGWINCH) and
    /// hang-up arrive: the terminal driver sends them to its whole foreground
    /// process group. Elsewhere, a signal with no sending process.
    Kernel,
    /// SIGCHLD: child `pid` exited, was killed, stopped or continued.
    Child {
        /// The child's process id.
        pid: i32,
        /// What happened: `libc::CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED`,
        /// `CLD_TRAPPED`, `CLD_STOPPED` or `CLD_CONTINUED`.
        code: i32,
        /// The exit code, or the signal that killed, stopped or continued it.
        status: i32,
    },
    /// Anything else (timers, asynchronous I/O, ...): the raw `si_code`.
    Other(i32),
}

/// One signal received by a [`SignalListener`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedSignal {
    /// The signal number.
    pub signal: i32,
    /// Where it came from.
    pub origin: SignalOrigin,
}

impl ReceivedSignal {
    fn from_raw(r: Raw) -> ReceivedSignal {
        if r.signal == libc::SIGCHLD && (libc::CLD_EXITED..=libc::CLD_CONTINUED).contains(&r.code) {
            return ReceivedSignal {
                signal: r.signal,
                origin: SignalOrigin::Child {
                    pid: r.pid,
                    code: r.code,
                    status: r.status,
                },
            };
        }
        #[cfg(target_os = "linux")]
        let origin = match r.code {
            libc::SI_USER | libc::SI_QUEUE | libc::SI_TKILL => SignalOrigin::Process {
                pid: r.pid,
                uid: r.uid,
            },
            libc::SI_KERNEL => SignalOrigin::Kernel,
            c => SignalOrigin::Other(c),
        };
        #[cfg(not(target_os = "linux"))]
        let origin = if r.pid > 0 {
            SignalOrigin::Process {
                pid: r.pid,
                uid: r.uid,
            }
        } else {
            SignalOrigin::Kernel
        };
        ReceivedSignal {
            signal: r.signal,
            origin,
        }
    }
}

/// Catches a set of signals and yields each delivery with its origin, so a
/// supervisor can tell a terminal's Ctrl-C (already delivered by the terminal
/// to its whole foreground process group) from a `kill` aimed at it alone.
///
/// While the listener lives, the signals no longer have their default action
/// (this process does not die of SIGTERM, say); other handlers registered
/// through tokio or signal-hook still run. Each delivery is written from the
/// handler to a self-pipe, so deliveries of the same signal are not merged
/// once caught (the kernel still merges those that arrive while one is
/// pending); past 3,276 unread deliveries new ones are dropped. Dropping the
/// listener stops catching, but does not restore the default actions.
/// SIGKILL, SIGSTOP, SIGILL, SIGFPE and SIGSEGV are refused.
///
/// Must be created inside a tokio runtime with I/O enabled.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use conductor::unix::{SignalListener, SignalOrigin};
/// let mut signals = SignalListener::new(&[libc::SIGUSR1, libc::SIGTERM])?;
/// // A process (here this one) sends SIGUSR1 with kill(2).
/// std::process::Command::new("kill").args(["-USR1", &std::process::id().to_string()]).status()?;
/// let got = signals.recv().await?;
/// assert_eq!(got.signal, libc::SIGUSR1);
/// assert!(matches!(got.origin, SignalOrigin::Process { .. }));
/// # Ok(()) }
/// ```
pub struct SignalListener {
    pipe: AsyncFd<OwnedFd>,
    _registration: Registration,
}

impl SignalListener {
    /// Starts catching `signals`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal that cannot be listened for (SIGKILL, SIGSTOP, SIGILL,
    /// SIGFPE, SIGSEGV); otherwise the `io::Error` of creating the self-pipe, installing a
    /// handler or registering with tokio's reactor (which needs a runtime).
    pub fn new(signals: &[i32]) -> io::Result<SignalListener> {
        let (rd, registration) = signals::listen(signals)?;
        Ok(SignalListener {
            pipe: crate::sys::register_async_fd(rd, tokio::io::Interest::READABLE)?,
            _registration: registration,
        })
    }

    /// Waits for the next delivery (cancel-safe: a delivery is consumed only
    /// when returned).
    ///
    /// # Errors
    ///
    /// The `io::Error` of reading the self-pipe.
    pub async fn recv(&mut self) -> io::Result<ReceivedSignal> {
        loop {
            let mut guard = self.pipe.readable().await?;
            let mut rec = [0u8; RECORD];
            match guard.try_io(|fd| {
                rustix::io::read(fd.get_ref().as_fd(), &mut rec).map_err(crate::sys::errno_to_io)
            }) {
                Ok(Ok(n)) if n == RECORD => {
                    return Ok(ReceivedSignal::from_raw(Raw::decode(&rec)));
                }
                Ok(Ok(n)) => {
                    return Err(io::Error::other(format!(
                        "signal pipe gave {n} bytes, not a whole record"
                    )))
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Returns a delivery already received, without waiting.
    ///
    /// # Errors
    ///
    /// The `io::Error` of reading the self-pipe.
    pub fn try_recv(&mut self) -> io::Result<Option<ReceivedSignal>> {
        let mut rec = [0u8; RECORD];
        match rustix::io::read(self.pipe.get_ref().as_fd(), &mut rec) {
            Ok(n) if n == RECORD => Ok(Some(ReceivedSignal::from_raw(Raw::decode(&rec)))),
            Ok(n) => Err(io::Error::other(format!(
                "signal pipe gave {n} bytes, not a whole record"
            ))),
            Err(rustix::io::Errno::AGAIN) => Ok(None),
            Err(e) => Err(crate::sys::errno_to_io(e)),
        }
    }
}

impl std::fmt::Debug for SignalListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalListener").finish_non_exhaustive()
    }
}

/// Makes process group `pgid` the foreground group of terminal `tty`
/// (`tcsetpgrp`), with SIGTTOU blocked for the call, so that a caller that is
/// itself in a background group (say, taking the terminal back from a child
/// it gave it to) is not stopped.
///
/// # Errors
///
/// The `io::Error` of `tcsetpgrp` (`ENOTTY`: not a terminal; `EPERM`: the group is in another
/// session).
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let tty = std::fs::File::open("/dev/tty")?;
/// let me = rustix::process::getpgrp().as_raw_nonzero().get();
/// conductor::unix::set_terminal_foreground(&tty, me)?;
/// # Ok(()) }
/// ```
pub fn set_terminal_foreground(tty: impl AsFd, pgid: i32) -> io::Result<()> {
    signals::set_foreground(tty.as_fd(), pgid)
}
