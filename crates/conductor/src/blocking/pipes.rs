//! The parent's ends of a blocking child's pipes, with std `Read`/`Write`.
//! Each wraps the platform's [`BlockingPipe`]: a
//! descriptor on Unix, a pipe handle on Windows.

use crate::stdio::{Stdio, StdioKind};
use crate::sys::{self, BlockingPipe};
use std::io::{Read, Write};
#[cfg(unix)]
use std::os::fd::{OwnedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{AsHandle, BorrowedHandle, OwnedHandle, RawHandle};

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident) => {
        $crate::pipes::pipe_struct!($(#[$doc])* $name: BlockingPipe);

        #[cfg(unix)]
        impl std::os::fd::IntoRawFd for $name {
            fn into_raw_fd(self) -> RawFd {
                std::os::fd::IntoRawFd::into_raw_fd(self.pipe)
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::IntoRawHandle for $name {
            fn into_raw_handle(self) -> RawHandle {
                OwnedHandle::from(self.pipe).into_raw_handle()
            }
        }

        #[cfg(unix)]
        impl From<$name> for OwnedFd {
            fn from(p: $name) -> OwnedFd {
                p.pipe
            }
        }

        #[cfg(windows)]
        impl AsHandle for $name {
            fn as_handle(&self) -> BorrowedHandle<'_> {
                self.pipe.as_handle()
            }
        }

        #[cfg(windows)]
        impl From<$name> for OwnedHandle {
            fn from(p: $name) -> OwnedHandle {
                p.pipe.into()
            }
        }

        impl From<$name> for Stdio {
            /// Hands the pipe to another child, wiring `a | b` without a shell.
            fn from(p: $name) -> Stdio {
                Stdio(StdioKind::Owned(sys::blocking_pipe_into_owned(p.pipe)))
            }
        }
    };
}

crate::pipes::child_pipe_types!(pipe_type, "std `Write`", "std `Read`");

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sys::pipe_write(&self.pipe, buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes through a shared reference, as std's `impl Write for &ChildStdin`.
impl Write for &ChildStdin {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sys::pipe_write(&self.pipe, buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        sys::pipe_read(&self.pipe, buf)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        sys::pipe_read(&self.pipe, buf)
    }
}
