//! The blocking [`Pty`]: the parent's end of a child's pseudo-terminal,
//! with std's `Read` and `Write`.

use super::{pty_err, PtySize};
use crate::error::Result;
use crate::sys::pty;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The parent's end (master) of a child's pseudo-terminal (blocking API):
/// reading gets what the child writes to the terminal, writing is typing at
/// it. Reads keep returning what the child wrote until no process holds the
/// terminal any more, then end of stream (`Ok(0)`), even after the child has
/// exited and been reaped. [`try_clone`](Pty::try_clone) gives a second
/// handle, to read and write from two threads.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conductor::{blocking::Command, pty::PtySize};
/// use std::io::{Read, Write};
/// let mut child = Command::new("sh")
///     .args(["-c", "read -r name; echo \"hello $name\""])
///     .pty(PtySize::new(24, 80))
///     .spawn()?;
/// let mut pty = child.take_pty().expect("spawned on a pty");
/// pty.write_all(b"world\n")?;
/// let mut seen = String::new();
/// pty.read_to_string(&mut seen)?; // the echoed input, then the answer
/// assert!(seen.ends_with("hello world\r\n"));
/// assert!(child.wait()?.success());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pty {
    fd: OwnedFd,
}

impl Pty {
    /// The master read as the child's stdout instead (`output()` with stdout
    /// on the terminal): a plain blocking pipe.
    pub(crate) fn master_as_stdout(master: OwnedFd) -> io::Result<crate::blocking::ChildStdout> {
        let pipe = crate::sys::blocking_pipe(Pty::new(master)?.into());
        Ok(crate::blocking::ChildStdout { pipe })
    }

    pub(crate) fn new(master: OwnedFd) -> io::Result<Pty> {
        pty::set_nonblocking(master.as_fd(), false)?;
        Ok(Pty { fd: master })
    }

    /// Sets the terminal's window size: the child's foreground process
    /// group gets SIGWINCH.
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when the terminal refuses the request (`ioctl`).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, pty::PtySize};
    /// let mut child = Command::new("true").pty(PtySize::new(24, 80)).spawn()?;
    /// let pty = child.take_pty().unwrap();
    /// pty.resize(PtySize::new(40, 100))?;
    /// assert_eq!(pty.size()?, PtySize::new(40, 100));
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    pub fn resize(&self, size: PtySize) -> Result<()> {
        pty::resize(self.fd.as_fd(), size).map_err(pty_err)
    }

    /// The terminal's window size.
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when the terminal refuses the request (`ioctl`).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, pty::PtySize};
    /// let mut child = Command::new("true").pty(PtySize::new(30, 90)).spawn()?;
    /// assert_eq!(child.take_pty().unwrap().size()?, PtySize::new(30, 90));
    /// child.wait()?;
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> Result<PtySize> {
        pty::size(self.fd.as_fd()).map_err(pty_err)
    }

    /// A second handle on the same terminal (one thread reads, another writes).
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when the descriptor cannot be duplicated.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, pty::PtySize};
    /// let mut child = Command::new("true").pty(PtySize::default()).spawn()?;
    /// let pty = child.take_pty().unwrap();
    /// let writer = pty.try_clone()?;
    /// # drop((pty, writer)); child.wait()?;
    /// # Ok(()) }
    /// ```
    pub fn try_clone(&self) -> Result<Pty> {
        Ok(Pty {
            fd: pty::try_clone(self.fd.as_fd()).map_err(pty_err)?,
        })
    }
}

impl io::Read for Pty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        pty::read(self.fd.as_fd(), buf)
    }
}

impl io::Read for &Pty {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        pty::read(self.fd.as_fd(), buf)
    }
}

impl io::Write for Pty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        pty::write(self.fd.as_fd(), buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Write for &Pty {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        pty::write(self.fd.as_fd(), buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Pty {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Pty {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl From<Pty> for OwnedFd {
    fn from(p: Pty) -> OwnedFd {
        p.fd
    }
}
