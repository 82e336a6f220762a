//! Pipe ends registered with tokio's reactor: the async `ChildStdin`,
//! `ChildStdout` and `ChildStderr` are thin wrappers around [`AsyncPipe`].

use super::fd::{errno_to_io, set_nonblocking};
use super::io::{read_capped, write};
use rustix::io::Errno;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{Interest, ReadBuf};

/// A non-blocking pipe end registered with the current tokio runtime.
#[derive(Debug)]
pub(crate) struct AsyncPipe {
    fd: AsyncFd<OwnedFd>,
}

impl AsyncPipe {
    /// Registers `fd` (already non-blocking) for reading or writing.
    pub fn new(fd: OwnedFd, write: bool) -> io::Result<AsyncPipe> {
        let interest = if write {
            Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        Ok(AsyncPipe {
            fd: register(fd, interest)?,
        })
    }

    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            // SAFETY: read(2) only writes initialised bytes into the unfilled part,
            // and we mark exactly the `n` bytes it reported as initialised.
            let res = guard.try_io(|fd| unsafe {
                let unfilled = buf.unfilled_mut();
                loop {
                    match rustix::io::read(fd.get_ref(), &mut *unfilled) {
                        Ok((init, _)) => break Ok(init.len()),
                        Err(Errno::INTR) => continue,
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

    /// Reads once, appending to `out` (at most `cap` bytes kept); 0 at EOF.
    pub fn poll_read_capped(
        &self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        cap: Option<usize>,
        truncated: &mut bool,
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            // Keep reading while data is there (a writer refills the pipe as we
            // copy), so a large capture needs few trips through the reactor.
            let mut total = 0;
            let res = guard.try_io(|fd| loop {
                match read_capped(fd.get_ref().as_fd(), out, cap, truncated) {
                    Ok(0) => return Ok(total),
                    Ok(n) => {
                        total += n;
                        if total >= 16 << 20 {
                            return Ok(total);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && total > 0 => {
                        return Ok(total)
                    }
                    Err(e) => return Err(e),
                }
            });
            match res {
                Ok(res) => return Poll::Ready(res),
                Err(_would_block) => continue,
            }
        }
    }

    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| write(fd.get_ref().as_fd(), buf)) {
                Ok(res) => return Poll::Ready(res),
                Err(_would_block) => continue,
            }
        }
    }

    /// Deregisters the pipe and hands back a blocking descriptor, e.g. to give
    /// it to another child as its stdin.
    pub fn into_owned(self) -> io::Result<OwnedFd> {
        let fd = self.fd.into_inner();
        set_nonblocking(fd.as_fd(), false)?;
        Ok(fd)
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
        self.fd.get_ref().as_fd()
    }
}

impl AsRawFd for AsyncPipe {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}
