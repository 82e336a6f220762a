//! Descriptor plumbing shared by the Unix backends: pipes, `/dev/null`,
//! non-blocking mode, moving descriptors out of the way, the descriptor limit.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use rustix::io::{fcntl_dupfd_cloexec, Errno};
use rustix::pipe::{pipe_with, PipeFlags};

pub(crate) fn errno_to_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    pipe_with(PipeFlags::CLOEXEC).map_err(errno_to_io)
}

/// Sets or clears O_NONBLOCK.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let flags = fcntl_getfl(fd).map_err(errno_to_io)?;
    let new = if on {
        flags | OFlags::NONBLOCK
    } else {
        flags - OFlags::NONBLOCK
    };
    if new != flags {
        fcntl_setfl(fd, new).map_err(errno_to_io)?;
    }
    Ok(())
}

/// A process-wide close-on-exec descriptor for `/dev/null`, opened once.
pub(crate) fn dev_null() -> io::Result<BorrowedFd<'static>> {
    static NULL: OnceLock<OwnedFd> = OnceLock::new();
    if let Some(fd) = NULL.get() {
        return Ok(fd.as_fd());
    }
    let fd = rustix::fs::open(
        "/dev/null",
        OFlags::RDWR | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(errno_to_io)?;
    Ok(NULL.get_or_init(|| fd).as_fd())
}

/// Duplicates `fd` to a close-on-exec descriptor numbered at least `min`.
pub(crate) fn dup_above(fd: BorrowedFd<'_>, min: RawFd) -> io::Result<OwnedFd> {
    fcntl_dupfd_cloexec(fd, min).map_err(errno_to_io)
}

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
pub(crate) fn raise_fd_limit() -> io::Result<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let target = lim.maximum;
    if lim.current != target {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: target,
                maximum: lim.maximum,
            },
        )
        .map_err(errno_to_io)?;
    }
    Ok(target.unwrap_or(u64::MAX))
}

/// Makes a pipe bigger, to cut context switches when capturing lots of output.
/// Failure is harmless (the pipe keeps its size).
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, size: usize) {
    let _ = rustix::pipe::fcntl_setpipe_size(fd, size);
}
