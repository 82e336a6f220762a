//! The parent's ends of a blocking child's pipes, with std `Read`/`Write`.

use crate::stdio::{Stdio, StdioKind};
use crate::sys::unix::io;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            pub(crate) fd: OwnedFd,
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.fd.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.fd.as_raw_fd()
            }
        }

        impl From<$name> for OwnedFd {
            fn from(p: $name) -> OwnedFd {
                p.fd
            }
        }

        impl From<$name> for Stdio {
            /// Hands the pipe to another child, wiring `a | b` without a shell.
            fn from(p: $name) -> Stdio {
                Stdio(StdioKind::Owned(p.fd))
            }
        }
    };
}

pipe_type!(
    /// The write end of a child's stdin pipe (std `Write`). Dropping it closes
    /// the pipe. Writing after the child exited gives `BrokenPipe`; the parent
    /// never gets SIGPIPE.
    ChildStdin
);
pipe_type!(
    /// The read end of a child's stdout pipe (std `Read`).
    ChildStdout
);
pipe_type!(
    /// The read end of a child's stderr pipe (std `Read`).
    ChildStderr
);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        io::write(self.fd.as_fd(), buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        io::read(self.fd.as_fd(), buf)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        io::read(self.fd.as_fd(), buf)
    }
}
