//! The async [`Pty`]: the parent's end of a child's pseudo-terminal,
//! registered with tokio's reactor.

use super::{pty_err, PtySize};
use crate::error::Result;
use crate::sys::pty;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, Interest, ReadBuf};

/// The parent's end (master) of a child's pseudo-terminal (async API):
/// reading gets what the child writes to the terminal, writing is typing
/// at it. Reads keep returning what the child wrote until no process holds
/// the terminal any more, then end of stream, even after the child has
/// exited and been reaped. Split it with `tokio::io::split` to read and
/// write from two tasks.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), conductor::Error> {
/// use conductor::{pty::PtySize, Command};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// let mut child = Command::new("sh")
///     .args(["-c", "read -r name; echo \"hello $name\""])
///     .pty(PtySize::new(24, 80))
///     .spawn()?;
/// let mut pty = child.take_pty().expect("spawned on a pty");
/// pty.write_all(b"world\n").await?;
/// let mut seen = Vec::new();
/// pty.read_to_end(&mut seen).await?; // the echoed input, then the answer
/// assert!(String::from_utf8_lossy(&seen).ends_with("hello world\r\n"));
/// assert!(child.wait().await?.success());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pty {
    fd: AsyncFd<OwnedFd>,
}

impl Pty {
    /// The master read as the child's stdout instead (`output()` with stdout
    /// on the terminal): a plain async pipe, in non-blocking mode.
    pub(crate) fn master_as_stdout(master: OwnedFd) -> io::Result<crate::pipes::ChildStdout> {
        pty::set_nonblocking(master.as_fd(), true)?;
        let pipe = crate::sys::AsyncPipe::new(master, false)?;
        Ok(crate::pipes::ChildStdout { pipe })
    }

    /// Registers a master with the current runtime.
    pub(crate) fn new(master: OwnedFd) -> io::Result<Pty> {
        pty::set_nonblocking(master.as_fd(), true)?;
        Ok(Pty {
            fd: crate::sys::register_async_fd(master, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Sets the terminal's window size: the child's foreground process
    /// group gets SIGWINCH.
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when the terminal refuses the request (`ioctl`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{pty::PtySize, Command};
    /// let mut child = Command::new("true").pty(PtySize::new(24, 80)).spawn()?;
    /// let pty = child.take_pty().unwrap();
    /// pty.resize(PtySize::new(40, 100))?;
    /// assert_eq!(pty.size()?, PtySize::new(40, 100));
    /// child.wait().await?;
    /// # Ok(()) }
    /// ```
    pub fn resize(&self, size: PtySize) -> Result<()> {
        pty::resize(self.fd.get_ref().as_fd(), size).map_err(pty_err)
    }

    /// The terminal's window size.
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when the terminal refuses the request (`ioctl`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{pty::PtySize, Command};
    /// let mut child = Command::new("true").pty(PtySize::new(30, 90)).spawn()?;
    /// assert_eq!(child.take_pty().unwrap().size()?, PtySize::new(30, 90));
    /// child.wait().await?;
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> Result<PtySize> {
        pty::size(self.fd.get_ref().as_fd()).map_err(pty_err)
    }
}

impl AsyncRead for Pty {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            match guard.try_io(|fd| pty::read(fd.get_ref().as_fd(), buf.initialize_unfilled())) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Pty {
    fn poll_write_to(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| pty::write(fd.get_ref().as_fd(), buf)) {
                Ok(res) => return Poll::Ready(res),
                Err(_would_block) => continue,
            }
        }
    }
}

crate::pipes::async_write_via!(
    Pty,
    /// A terminal cannot be half-closed: write the end-of-file character
    /// (Ctrl-D, `b"\x04"`) at the start of a line instead. Does nothing.
);

impl AsFd for Pty {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

impl AsRawFd for Pty {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }
}
