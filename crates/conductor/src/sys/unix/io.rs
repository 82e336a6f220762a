//! Blocking pipe I/O for the Unix backends: reads straight into a `Vec`'s spare
//! capacity, writes that can never raise SIGPIPE in the parent, and the poll loop
//! that feeds stdin while draining stdout and stderr (`output`, `communicate`).

use super::fd::{errno_to_io, set_nonblocking};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Reads once into the spare capacity of `buf` (growing it when nearly full);
/// returns the bytes read, 0 at EOF.
pub(crate) fn read_append(fd: BorrowedFd<'_>, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.capacity() - buf.len() < 32 * 1024 {
        let more = buf.len().clamp(64 * 1024, 16 << 20);
        buf.reserve(more);
    }
    loop {
        match rustix::io::read(fd, rustix::buffer::spare_capacity(buf)) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(errno_to_io(e)),
        }
    }
}

/// Reads into `buf`; EINTR is retried.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(errno_to_io(e)),
        }
    }
}

/// Is SIGPIPE ignored by this process (as Rust programs arrange at start)?
fn sigpipe_ignored() -> bool {
    // SAFETY: querying the disposition only.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Writes to a pipe; a reader that has gone away gives `BrokenPipe`, never a
/// SIGPIPE that would kill the parent (whatever its SIGPIPE disposition).
pub(crate) fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    if sigpipe_ignored() {
        return write_raw(fd, buf);
    }
    // SAFETY: block SIGPIPE for this thread around the write; if the write raised
    // one, consume it (it is thread-directed) before restoring the old mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        let res = write_raw(fd, buf);
        if matches!(&res, Err(e) if e.kind() == io::ErrorKind::BrokenPipe) && !was_pending {
            take_pending_sigpipe(&set);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        res
    }
}

/// Takes a pending SIGPIPE without waiting.
///
/// # Safety
/// `set` holds SIGPIPE only, and is blocked in the calling thread.
#[cfg(not(any(target_vendor = "apple", target_os = "openbsd")))]
unsafe fn take_pending_sigpipe(set: &libc::sigset_t) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a zero timeout never blocks; the signal is blocked, so it is only dequeued.
    unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &zero) };
}

/// Takes a pending SIGPIPE without waiting. No `sigtimedwait` here: `sigwait`
/// only once `sigpending` shows the signal, so it returns at once.
///
/// # Safety
/// `set` holds SIGPIPE only, and is blocked in the calling thread.
#[cfg(any(target_vendor = "apple", target_os = "openbsd"))]
unsafe fn take_pending_sigpipe(set: &libc::sigset_t) {
    // SAFETY: plain sigset operations on local sets; `sigwait` only runs when
    // SIGPIPE (all of `set`) is pending, so it does not block.
    unsafe {
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pending);
        if libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1 {
            let mut sig = 0;
            libc::sigwait(set, &mut sig);
        }
    }
}

fn write_raw(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match rustix::io::write(fd, buf) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(errno_to_io(e)),
        }
    }
}

/// Writes `input` to `stdin` (then closes it) while reading `stdout` and
/// `stderr` to EOF, all at once through `poll`, so no pipe can fill up and
/// deadlock. The descriptors are switched to non-blocking mode.
pub(crate) fn communicate(
    mut stdin: Option<OwnedFd>,
    input: &[u8],
    stdout: Option<&OwnedFd>,
    stderr: Option<&OwnedFd>,
    out: &mut Vec<u8>,
    err: &mut Vec<u8>,
) -> io::Result<()> {
    for fd in [stdin.as_ref(), stdout, stderr].into_iter().flatten() {
        set_nonblocking(fd.as_fd(), true)?;
    }
    let mut written = 0;
    if input.is_empty() {
        stdin = None;
    }
    let (mut out_open, mut err_open) = (stdout.is_some(), stderr.is_some());
    while stdin.is_some() || out_open || err_open {
        let mut fds = Vec::with_capacity(3);
        let mut slots = [usize::MAX; 3];
        if let Some(fd) = &stdin {
            slots[0] = fds.len();
            fds.push(PollFd::new(fd, PollFlags::OUT));
        }
        if let (true, Some(fd)) = (out_open, stdout) {
            slots[1] = fds.len();
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        if let (true, Some(fd)) = (err_open, stderr) {
            slots[2] = fds.len();
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        match poll(&mut fds, None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(errno_to_io(e)),
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let is_ready = |slot: usize| ready.get(slot).copied().unwrap_or(false);
        if is_ready(slots[0]) {
            if let Some(fd) = &stdin {
                let chunk = &input[written..input.len().min(written + (1 << 20))];
                match write(fd.as_fd(), chunk) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The child stopped reading: keep collecting its output.
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => written = input.len(),
                    Err(e) => return Err(e),
                }
                if written >= input.len() {
                    stdin = None;
                }
            }
        }
        for (slot, open, fd, buf) in [
            (slots[1], &mut out_open, stdout, &mut *out),
            (slots[2], &mut err_open, stderr, &mut *err),
        ] {
            if let (true, Some(fd)) = (is_ready(slot), fd) {
                match drain(fd.as_fd(), buf) {
                    Ok(true) => *open = false,
                    Ok(false) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(())
}

/// Reads what is available; true at EOF.
fn drain(fd: BorrowedFd<'_>, buf: &mut Vec<u8>) -> io::Result<bool> {
    loop {
        match read_append(fd, buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => return Err(e),
        }
    }
}
