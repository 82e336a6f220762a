//! Pipe ends registered with tokio's reactor: the async `ChildStdin`,
//! `ChildStdout` and `ChildStderr` are thin wrappers around [`AsyncPipe`].

use super::fd::{errno_to_io, set_nonblocking};
use super::io::{drain, write, Drained};
use rustix::io::Errno;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{Interest, ReadBuf};

/// A non-blocking pipe end registered with the current tokio runtime.
///
/// A capture that finds data at every read (a child streaming megabytes)
/// takes the pipe out of the reactor until a read comes back empty: while a
/// pipe is registered, each write the child makes wakes the reactor's thread,
/// which on a multi-thread runtime then competes with the child for a CPU.
/// Out of the reactor, the capture reads in a loop and yields through tokio's
/// cooperative budget, so sibling futures and tasks still run.
#[derive(Debug)]
pub(crate) struct AsyncPipe {
    state: State,
    interest: Interest,
}

#[derive(Debug)]
enum State {
    /// In tokio's reactor.
    Registered(AsyncFd<OwnedFd>),
    /// Out of the reactor while a capture streams (see [`AsyncPipe`]).
    Streaming(OwnedFd),
    /// Transient, while moving between the two.
    Moving,
}

/// Bytes one reactor wakeup must drain, with data still coming, before a
/// capture leaves the reactor: a full pipe's worth.
const STREAMING_FROM: usize = 1 << 20;
/// Bytes read per unit of tokio's cooperative budget.
const PER_BUDGET_UNIT: usize = 1 << 20;

impl AsyncPipe {
    /// Registers `fd` (already non-blocking) for reading or writing.
    pub fn new(fd: OwnedFd, write: bool) -> io::Result<AsyncPipe> {
        let interest = if write {
            Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        Ok(AsyncPipe {
            state: State::Registered(register(fd, interest)?),
            interest,
        })
    }

    /// The registered descriptor, putting it back in the reactor if a
    /// capture had taken it out.
    fn registered(&mut self) -> io::Result<&AsyncFd<OwnedFd>> {
        if let State::Streaming(_) = self.state {
            let State::Streaming(fd) = std::mem::replace(&mut self.state, State::Moving) else {
                unreachable!("matched above")
            };
            match try_register(fd, self.interest) {
                Ok(afd) => self.state = State::Registered(afd),
                Err((fd, e)) => {
                    self.state = State::Streaming(fd);
                    return Err(e);
                }
            }
        }
        match &self.state {
            State::Registered(afd) => Ok(afd),
            _ => Err(io::Error::other("pipe is in an invalid state")),
        }
    }

    /// Takes the pipe out of the reactor (see [`AsyncPipe`]).
    fn stream(&mut self) {
        if let State::Registered(_) = self.state {
            let State::Registered(afd) = std::mem::replace(&mut self.state, State::Moving) else {
                unreachable!("matched above")
            };
            self.state = State::Streaming(afd.into_inner());
        }
    }

    pub fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let afd = self.registered()?;
        loop {
            let mut guard = ready!(afd.poll_read_ready(cx))?;
            // SAFETY: read(2) only writes initialised bytes into the unfilled part,
            // and we mark exactly the `n` bytes it reported as initialised.
            let res = guard.try_io(|fd| unsafe {
                let unfilled = buf.unfilled_mut();
                loop {
                    match rustix::io::read(fd.get_ref(), &mut *unfilled) {
                        Ok((init, _)) => break Ok(init.len()),
                        Err(Errno::INTR) => continue,
                        // A pseudo-terminal's master after the hang-up.
                        Err(Errno::IO) => break Ok(0),
                        Err(e) => break Err(errno_to_io(e)),
                    }
                }
            });
            match res {
                Ok(Ok(n)) => {
                    // SAFETY: the kernel initialised these `n` bytes.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Reads what is there, appending to `out` (at most `cap` bytes kept);
    /// 0 at EOF.
    pub fn poll_read_capped(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        cap: Option<usize>,
        truncated: &mut bool,
    ) -> Poll<io::Result<usize>> {
        loop {
            if let State::Streaming(fd) = &self.state {
                let coop = ready!(tokio::task::coop::poll_proceed(cx));
                match drain(fd.as_fd(), out, cap, truncated, PER_BUDGET_UNIT).and_then(drained) {
                    Ok(n) => {
                        coop.made_progress();
                        return Poll::Ready(Ok(n));
                    }
                    // Empty for now: back to the reactor to wait.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            let afd = self.registered()?;
            let mut guard = ready!(afd.poll_read_ready(cx))?;
            // Keep reading while data is there (a writer refills the pipe as we
            // copy), so a large capture needs few trips through the reactor.
            let res = guard.try_io(|fd| {
                drain(fd.get_ref().as_fd(), out, cap, truncated, 16 << 20).and_then(drained)
            });
            match res {
                Ok(Ok(n)) => {
                    drop(guard);
                    if n >= STREAMING_FROM {
                        self.stream();
                    }
                    return Poll::Ready(Ok(n));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }

    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let afd = self.registered()?;
        loop {
            let mut guard = ready!(afd.poll_write_ready(cx))?;
            match guard.try_io(|fd| write(fd.get_ref().as_fd(), buf)) {
                Ok(res) => return Poll::Ready(res),
                Err(_would_block) => continue,
            }
        }
    }

    /// Deregisters the pipe and hands back a blocking descriptor, e.g. to give
    /// it to another child as its stdin.
    pub fn into_owned(self) -> io::Result<OwnedFd> {
        let fd = match self.state {
            State::Registered(afd) => afd.into_inner(),
            State::Streaming(fd) => fd,
            State::Moving => return Err(io::Error::other("pipe is in an invalid state")),
        };
        set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match &self.state {
            State::Registered(afd) => afd.get_ref().as_fd(),
            State::Streaming(fd) => fd.as_fd(),
            // Only seen inside a method that moves the descriptor, never by callers.
            State::Moving => unreachable!("AsyncPipe observed while moving its descriptor"),
        }
    }
}

/// A [`drain`] as `read` reports it: the bytes read, 0 at EOF, and
/// `WouldBlock` when nothing was there.
fn drained(d: Drained) -> io::Result<usize> {
    if d.bytes == 0 && !d.eof {
        Err(io::ErrorKind::WouldBlock.into())
    } else {
        Ok(d.bytes)
    }
}

/// A value that owns one open descriptor and always reports that same one, as
/// `AsyncFd::register_with_interest` requires.
pub(crate) trait OwnsFd: AsRawFd {}

impl OwnsFd for OwnedFd {}

#[cfg(target_os = "linux")]
impl OwnsFd for crate::pidfd::PidFd {}

/// Registers an owned descriptor with the current tokio reactor.
pub(crate) fn register(fd: OwnedFd, interest: Interest) -> io::Result<AsyncFd<OwnedFd>> {
    try_register(fd, interest).map_err(|(_, e)| e)
}

/// Registers `fd` with the current tokio reactor, handing it back on failure.
pub(crate) fn try_register<T: OwnsFd>(
    fd: T,
    interest: Interest,
) -> Result<AsyncFd<T>, (T, io::Error)> {
    if tokio::runtime::Handle::try_current().is_err() {
        let e = io::Error::other(
            "no tokio runtime is running; use conductor::blocking for code without one",
        );
        return Err((fd, e));
    }
    // SAFETY: an `OwnsFd` value owns an open descriptor, always reports the same
    // one, and closes it only when the AsyncFd (or what `into_inner` returns) is
    // dropped.
    unsafe { AsyncFd::register_with_interest(fd, interest) }.map_err(|e| e.into_parts())
}

impl AsFd for AsyncPipe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd()
    }
}

impl AsRawFd for AsyncPipe {
    fn as_raw_fd(&self) -> RawFd {
        self.fd().as_raw_fd()
    }
}
