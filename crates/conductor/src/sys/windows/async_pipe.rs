//! The parent's end of an async child's pipe on Windows: the server end of
//! an overlapped named pipe, handed to tokio (`NamedPipeServer`) on first
//! use. Registering lazily keeps a pipe that is passed on to another child
//! (`a | b`) intact: once registered, mio reads ahead into its own buffer.

use std::io;
use std::os::windows::io::{AsRawHandle, IntoRawHandle, OwnedHandle, RawHandle};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::windows::named_pipe::NamedPipeServer;

#[derive(Debug)]
enum State {
    /// Not yet used: a plain overlapped handle.
    Raw(OwnedHandle),
    /// In tokio's reactor.
    Registered(NamedPipeServer),
    /// Registration failed (the handle is closed).
    Failed,
}

/// An overlapped pipe end for tokio.
#[derive(Debug)]
pub(crate) struct AsyncPipe {
    state: State,
}

impl AsyncPipe {
    /// Wraps an overlapped named-pipe server handle (either direction).
    pub fn new(handle: OwnedHandle, _write: bool) -> io::Result<AsyncPipe> {
        Ok(AsyncPipe {
            state: State::Raw(handle),
        })
    }

    /// The pipe registered with the current runtime's reactor.
    fn server(&mut self) -> io::Result<&mut NamedPipeServer> {
        if let State::Raw(_) = self.state {
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(io::Error::other(
                    "no tokio runtime is running; use conductor::blocking for code without one",
                ));
            }
            let State::Raw(h) = std::mem::replace(&mut self.state, State::Failed) else {
                unreachable!("matched above")
            };
            // SAFETY: an owned, overlapped named-pipe handle, whose ownership
            // passes to the NamedPipeServer (which closes it, also on error).
            self.state = State::Registered(unsafe {
                NamedPipeServer::from_raw_handle(h.into_raw_handle())
            }?);
        }
        match &mut self.state {
            State::Registered(s) => Ok(s),
            _ => Err(io::Error::other(
                "the pipe could not be registered with tokio",
            )),
        }
    }

    pub fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(self.server()?).poll_read(cx, buf)
    }

    /// Reads once, appending to `out` (at most `cap` bytes kept, the rest
    /// read and discarded, flagged in `truncated`); 0 at end of file.
    pub fn poll_read_capped(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<u8>,
        cap: Option<usize>,
        truncated: &mut bool,
    ) -> Poll<io::Result<usize>> {
        let server = &*self.server()?;
        loop {
            ready!(server.poll_read_ready(cx))?;
            let res = match cap {
                None => {
                    if out.capacity() - out.len() < 32 * 1024 {
                        out.reserve(out.len().clamp(64 * 1024, 16 << 20));
                    }
                    server.try_read_buf(out)
                }
                Some(cap) => {
                    let mut scratch = [0u8; 16 * 1024];
                    let room = cap.saturating_sub(out.len()).min(scratch.len());
                    let want = if room == 0 { scratch.len() } else { room };
                    server.try_read(&mut scratch[..want]).inspect(|&n| {
                        if room == 0 {
                            *truncated |= n > 0;
                        } else {
                            out.extend_from_slice(&scratch[..n]);
                        }
                    })
                }
            };
            match res {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(self.server()?).poll_write(cx, buf)
    }

    /// The plain handle, to give to another child; only while unused.
    pub fn into_owned(self) -> io::Result<OwnedHandle> {
        match self.state {
            State::Raw(h) => Ok(h),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "this pipe was already read from or written to asynchronously, so tokio may \
                 hold data of it: hand it on before using it",
            )),
        }
    }

    pub fn as_raw_handle(&self) -> RawHandle {
        match &self.state {
            State::Raw(h) => h.as_raw_handle(),
            State::Registered(s) => s.as_raw_handle(),
            State::Failed => std::ptr::null_mut(),
        }
    }
}
