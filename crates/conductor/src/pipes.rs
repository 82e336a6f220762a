//! The parent's ends of an async child's pipes: [`ChildStdin`] implements tokio's
//! `AsyncWrite`, [`ChildStdout`] and [`ChildStderr`] implement `AsyncRead`.
//! Each wraps the platform's [`AsyncPipe`]: a
//! descriptor in tokio's reactor on Unix, an overlapped named pipe on Windows.

use crate::stdio::{Stdio, StdioKind};
use crate::sys::AsyncPipe;
use std::io;
#[cfg(unix)]
use std::os::fd::{IntoRawFd, OwnedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{
    AsHandle, BorrowedHandle, IntoRawHandle, OwnedHandle, RawHandle,
};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// A pipe type of either flavour: the struct (a `pipe` field of the
/// shell's platform pipe) with the borrowing traits both flavours share
/// (`AsFd`, `AsRawFd`, `AsRawHandle`).
macro_rules! pipe_struct {
    ($(#[$doc:meta])* $name:ident: $pipe:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            pub(crate) pipe: $pipe,
        }

        #[cfg(unix)]
        impl std::os::fd::AsFd for $name {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.pipe)
            }
        }

        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $name {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&self.pipe)
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawHandle for $name {
            fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
                // The platform's pipe has it inherent (async) or from the trait (blocking).
                #[allow(unused_imports)]
                use std::os::windows::io::AsRawHandle as _;
                self.pipe.as_raw_handle()
            }
        }
    };
}
pub(crate) use pipe_struct;

/// A shell's three pipe types, each from the shell's `pipe_type!` with the
/// docs they share; `$write` and `$read` name the shell's I/O traits.
macro_rules! child_pipe_types {
    ($pipe_type:ident, $write:literal, $read:literal) => {
        $pipe_type!(
            #[doc = concat!("The write end of a child's stdin pipe (", $write, "). Dropping it")]
            /// closes the pipe, so the child sees end of input. Writing after the child
            /// exited gives a `BrokenPipe` error; the parent never gets SIGPIPE.
            ChildStdin
        );
        $pipe_type!(
            #[doc = concat!("The read end of a child's stdout pipe (", $read, ").")]
            ChildStdout
        );
        $pipe_type!(
            #[doc = concat!("The read end of a child's stderr pipe (", $read, ").")]
            ChildStderr
        );
    };
}
pub(crate) use child_pipe_types;

macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident) => {
        $crate::pipes::pipe_struct!($(#[$doc])* $name: AsyncPipe);

        #[cfg(unix)]
        impl $name {
            /// Deregisters the pipe from the reactor and returns it as a
            /// blocking descriptor.
            ///
            /// # Errors
            ///
            /// The `io::Error` of deregistering the descriptor or making it blocking again
            /// (`fcntl`).
            ///
            /// ```
            #[doc = concat!("fn detach(p: conductor::", stringify!($name), ") -> std::io::Result<std::os::fd::OwnedFd> {")]
            ///     p.into_owned_fd()
            /// }
            /// ```
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                self.pipe.into_owned()
            }
        }

        #[cfg(windows)]
        impl $name {
            /// Returns the pipe as a plain handle, for example to hand it to
            /// another process. Only before the first read or write: once
            /// used, the pipe belongs to tokio's reactor (which may already
            /// hold data read ahead), and this fails.
            ///
            /// # Errors
            ///
            /// `io::Error` when the pipe was already read from or written to.
            ///
            /// ```
            #[doc = concat!("fn detach(p: conductor::", stringify!($name), ") -> std::io::Result<std::os::windows::io::OwnedHandle> {")]
            ///     p.into_owned_handle()
            /// }
            /// ```
            pub fn into_owned_handle(self) -> io::Result<OwnedHandle> {
                self.pipe.into_owned()
            }
        }

        /// Deregisters the pipe from the reactor and gives up the descriptor
        /// (in blocking mode, as `tokio::process` pipes' `into_owned_fd`).
        /// Panics only if the descriptor cannot be made blocking again,
        /// which `fcntl` does not refuse on a valid descriptor.
        #[cfg(unix)]
        impl IntoRawFd for $name {
            fn into_raw_fd(self) -> RawFd {
                self.pipe
                    .into_owned()
                    .expect("a pipe descriptor can be made blocking")
                    .into_raw_fd()
            }
        }

        #[cfg(windows)]
        impl AsHandle for $name {
            fn as_handle(&self) -> BorrowedHandle<'_> {
                // SAFETY: the handle stays open as long as `self` is borrowed.
                unsafe { BorrowedHandle::borrow_raw(self.pipe.as_raw_handle()) }
            }
        }

        /// Gives up the handle. Panics when the pipe was already read from
        /// or written to (it then belongs to tokio's reactor); use
        /// `into_owned_handle` to get an error instead.
        #[cfg(windows)]
        impl IntoRawHandle for $name {
            fn into_raw_handle(self) -> RawHandle {
                self.pipe
                    .into_owned()
                    .expect("a pipe not yet used can be detached")
                    .into_raw_handle()
            }
        }

        impl From<$name> for Stdio {
            /// Hands the pipe to another child (for example to build `a | b`).
            /// On Windows, only before the pipe was read from or written to:
            /// otherwise spawning with this `Stdio` fails with the reason.
            fn from(p: $name) -> Stdio {
                match p.pipe.into_owned() {
                    Ok(fd) => Stdio(StdioKind::Owned(fd)),
                    Err(e) => Stdio(StdioKind::Failed(e)),
                }
            }
        }
    };
}

child_pipe_types!(pipe_type, "tokio `AsyncWrite`", "tokio `AsyncRead`");

impl ChildStdin {
    fn poll_write_to(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }
}

/// tokio's `AsyncWrite` for a type that writes through its own
/// `poll_write_to(&mut self, cx, buf)` and has nothing to flush or shut
/// down (`poll_shutdown` gets the docs given, saying why).
macro_rules! async_write_via {
    ($ty:ty, $(#[$shutdown_doc:meta])*) => {
        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().poll_write_to(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            $(#[$shutdown_doc])*
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
    };
}
pub(crate) use async_write_via;

crate::pipes::async_write_via!(
    ChildStdin,
    #[doc = "Does nothing: dropping the `ChildStdin` closes the pipe."]
);

macro_rules! async_read {
    ($($name:ident),*) => {$(
        impl AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.get_mut().pipe.poll_read(cx, buf)
            }
        }
    )*};
}
async_read!(ChildStdout, ChildStderr);

/// Reads a pipe to EOF, appending straight into `out`'s spare capacity, keeping
/// at most `cap` bytes (the rest is read, discarded and flagged in `truncated`).
pub(crate) async fn read_to_end(
    pipe: &mut AsyncPipe,
    out: &mut Vec<u8>,
    cap: Option<usize>,
    truncated: &mut bool,
) -> io::Result<()> {
    loop {
        let n = std::future::poll_fn(|cx| pipe.poll_read_capped(cx, out, cap, truncated)).await?;
        if n == 0 {
            return Ok(());
        }
    }
}

/// Writes all of `input`; a child that stopped reading ends the write quietly.
pub(crate) async fn write_all(pipe: &mut AsyncPipe, input: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < input.len() {
        let end = input.len().min(done + (1 << 20));
        match std::future::poll_fn(|cx| pipe.poll_write(cx, &input[done..end])).await {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
