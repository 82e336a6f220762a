//! Descriptor plumbing shared by the Unix backends: pipes, `/dev/null`,
//! non-blocking mode, moving descriptors out of the way, the descriptor limit.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
use rustix::io::{fcntl_dupfd_cloexec, Errno};

pub(crate) fn errno_to_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

/// A close-on-exec pipe: (read end, write end).
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pipe::{pipe_with, PipeFlags};
    pipe_with(PipeFlags::CLOEXEC).map_err(errno_to_io)
}

/// A close-on-exec pipe: (read end, write end).
///
/// macOS has no `pipe2`, so the flag is set right after `pipe`: a fork+exec by
/// other code in that instant could inherit the ends (as with std on macOS).
/// conductor's own children cannot: they start with POSIX_SPAWN_CLOEXEC_DEFAULT,
/// or mark every descriptor close-on-exec before exec (the fork path).
#[cfg(target_vendor = "apple")]
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::io::{fcntl_setfd, FdFlags};
    let (rd, wr) = rustix::pipe::pipe().map_err(errno_to_io)?;
    fcntl_setfd(&rd, FdFlags::CLOEXEC).map_err(errno_to_io)?;
    fcntl_setfd(&wr, FdFlags::CLOEXEC).map_err(errno_to_io)?;
    Ok((rd, wr))
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
    let target = match (lim.maximum, max_files_per_process()) {
        (Some(hard), Some(cap)) => Some(hard.min(cap)),
        (None, Some(cap)) => Some(cap),
        (hard, None) => hard,
    };
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

/// The per-process cap on open files, where the system rejects an unlimited
/// soft limit (macOS: `kern.maxfilesperproc`).
#[cfg(target_vendor = "apple")]
fn max_files_per_process() -> Option<u64> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>();
    // SAFETY: a read-only sysctl into a correctly sized, live integer.
    let r = unsafe {
        libc::sysctlbyname(
            c"kern.maxfilesperproc".as_ptr(),
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    (r == 0 && value > 0).then_some(value as u64)
}

#[cfg(not(target_vendor = "apple"))]
fn max_files_per_process() -> Option<u64> {
    None
}

/// Makes a pipe bigger, to cut context switches when capturing lots of output.
/// Failure is harmless (the pipe keeps its size). Linux only: BSD pipes grow
/// on their own.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn grow_pipe(fd: BorrowedFd<'_>, size: usize) {
    let _ = rustix::pipe::fcntl_setpipe_size(fd, size);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn grow_pipe(_fd: BorrowedFd<'_>, _size: usize) {}
