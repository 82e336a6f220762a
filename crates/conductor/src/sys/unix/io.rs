//! Blocking pipe I/O for the Unix backends: reads straight into a `Vec`'s spare
//! capacity, writes that can never raise SIGPIPE in the parent, and the poll loop
//! that feeds stdin while draining stdout and stderr (`output`, `communicate`).

use super::fd::{errno_to_io, set_nonblocking};
use crate::sys::Collected;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// Reads once into the spare capacity of `buf` (growing it when nearly full);
/// returns the bytes read, 0 at EOF.
pub(crate) fn read_append(fd: BorrowedFd<'_>, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.capacity() - buf.len() < 32 * 1024 {
        let more = buf.len().clamp(64 * 1024, 64 << 20);
        buf.reserve(more);
    }
    if buf.capacity() >= POPULATE_FROM {
        // Fault in the window the next read fills in one call, not page by page.
        populate(buf, WINDOW);
    }
    loop {
        match rustix::io::read(fd, rustix::buffer::spare_capacity(buf)) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            // A pseudo-terminal's master after the hang-up: end of stream.
            Err(Errno::IO) => return Ok(0),
            Err(e) => return Err(errno_to_io(e)),
        }
    }
}

/// Capture buffers from this size on are populated ahead of the reads.
const POPULATE_FROM: usize = 4 << 20;
/// How far ahead of the data a big capture buffer is populated (a pipe's worth).
const WINDOW: usize = 1 << 20;

/// Populates the next `window` bytes of a big capture buffer's spare capacity
/// in one call (`MADV_POPULATE_WRITE`, Linux 5.14+) instead of one page fault
/// per 4 KiB as the read lands. Pages already present cost only a page-table
/// walk. Only an optimisation; failure is harmless.
fn populate(buf: &mut Vec<u8>, window: usize) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        let start = buf.as_mut_ptr() as usize + buf.len();
        let end = buf.as_mut_ptr() as usize + buf.capacity().min(buf.len() + window);
        let (lo, hi) = ((start + PAGE - 1) & !(PAGE - 1), end & !(PAGE - 1));
        if hi > lo {
            // SAFETY: the range lies inside the Vec's spare capacity and is page
            // aligned; populating only faults in (zeroed) pages we own.
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, MADV_POPULATE_WRITE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (buf, window);
}

/// Reads into `buf`; EINTR is retried.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(fd, &mut *buf) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            // A pseudo-terminal's master after the hang-up: end of stream.
            Err(Errno::IO) => return Ok(0),
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

/// Writes to `fd` as is (a pipe's SIGPIPE is the caller's concern); EINTR is
/// retried.
pub(crate) fn write_raw(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match rustix::io::write(fd, buf) {
            Ok(n) => return Ok(n),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(errno_to_io(e)),
        }
    }
}

/// Limits for [`communicate`].
pub(crate) struct CollectOpts<'a> {
    /// Give up (timed out) at this instant.
    pub deadline: Option<Instant>,
    /// Readable once the direct child has exited (its pidfd), for `io_grace`.
    pub exit_fd: Option<BorrowedFd<'a>>,
    /// After the child exits, stop reading this long later.
    pub io_grace: Option<Duration>,
    /// Keep at most this many bytes per stream; drain and discard the rest.
    pub cap: Option<usize>,
}

/// The pipes [`communicate`] works on.
pub(crate) type Pipes<'a> = crate::sys::stream::CommunicatePipes<'a, OwnedFd>;

/// Writes `input` to `stdin` (then closes it) while reading `stdout` and
/// `stderr` to EOF, all at once through `poll`, so no pipe can fill up and
/// deadlock. The descriptors are switched to non-blocking mode. `exited`
/// reports whether the child has exited, for `io_grace` when there is no `exit_fd`.
pub(crate) fn communicate(
    pipes: Pipes<'_>,
    out: &mut Vec<u8>,
    err: &mut Vec<u8>,
    opts: &CollectOpts<'_>,
    exited: &mut dyn FnMut() -> bool,
) -> io::Result<Collected> {
    let Pipes {
        mut stdin,
        input,
        stdout,
        stderr,
    } = pipes;
    for fd in [stdin.as_ref(), stdout, stderr].into_iter().flatten() {
        set_nonblocking(fd.as_fd(), true)?;
    }
    let mut res = Collected::default();
    let mut written = 0;
    if input.is_empty() {
        stdin = None;
    }
    let (mut out_open, mut err_open) = (stdout.is_some(), stderr.is_some());
    let mut watch_exit = opts.io_grace.is_some();
    let mut io_deadline: Option<Instant> = None;
    while stdin.is_some() || out_open || err_open {
        let now = Instant::now();
        if opts.deadline.is_some_and(|d| now >= d) {
            res.timed_out = true;
            break;
        }
        if io_deadline.is_some_and(|d| now >= d) {
            res.out_truncated |= out_open;
            res.err_truncated |= err_open;
            break;
        }
        if watch_exit && opts.exit_fd.is_none() && exited() {
            watch_exit = false;
            io_deadline = opts.io_grace.map(|g| Instant::now() + g);
            continue;
        }
        let mut fds = Vec::with_capacity(4);
        let mut slots = [usize::MAX; 4];
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
        let exit_fd = opts.exit_fd.filter(|_| watch_exit);
        if let Some(fd) = &exit_fd {
            slots[3] = fds.len();
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        let mut wake = [opts.deadline, io_deadline].into_iter().flatten().min();
        if watch_exit && opts.exit_fd.is_none() {
            // No descriptor tells us of the exit: look again shortly.
            let soon = Instant::now() + Duration::from_millis(20);
            wake = Some(wake.map_or(soon, |w| w.min(soon)));
        }
        let timeout = wake.map(|w| {
            let left = w.saturating_duration_since(Instant::now());
            Timespec {
                tv_sec: left.as_secs() as i64,
                tv_nsec: left.subsec_nanos() as _,
            }
        });
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return Err(errno_to_io(e)),
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let is_ready = |slot: usize| ready.get(slot).copied().unwrap_or(false);
        if is_ready(slots[3]) {
            watch_exit = false;
            io_deadline = opts.io_grace.map(|g| Instant::now() + g);
        }
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
        for (slot, open, fd, buf, trunc) in [
            (
                slots[1],
                &mut out_open,
                stdout,
                &mut *out,
                &mut res.out_truncated,
            ),
            (
                slots[2],
                &mut err_open,
                stderr,
                &mut *err,
                &mut res.err_truncated,
            ),
        ] {
            if let (true, Some(fd)) = (is_ready(slot), fd) {
                if drain(fd.as_fd(), buf, opts.cap, trunc, usize::MAX)?.eof {
                    *open = false;
                }
            }
        }
    }
    Ok(res)
}

/// Reads once into `buf`, keeping at most `cap` bytes in it: past the cap the
/// data is read and discarded and `truncated` is set. Returns the bytes read
/// (0 at EOF).
pub(crate) fn read_capped(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    cap: Option<usize>,
    truncated: &mut bool,
) -> io::Result<usize> {
    let Some(cap) = cap else {
        return read_append(fd, buf);
    };
    let mut scratch = [0u8; 16 * 1024];
    let room = cap.saturating_sub(buf.len());
    if room == 0 {
        let n = read(fd, &mut scratch)?;
        *truncated |= n > 0;
        return Ok(n);
    }
    let take = room.min(scratch.len());
    let n = read(fd, &mut scratch[..take])?;
    buf.extend_from_slice(&scratch[..n]);
    Ok(n)
}

/// What one [`drain`] read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drained {
    pub bytes: usize,
    /// The writer closed its end and everything has been read.
    pub eof: bool,
}

/// Reads (see [`read_capped`]) until the pipe is empty, at EOF, or once at
/// least `limit` bytes are in.
pub(crate) fn drain(
    fd: BorrowedFd<'_>,
    buf: &mut Vec<u8>,
    cap: Option<usize>,
    truncated: &mut bool,
    limit: usize,
) -> io::Result<Drained> {
    let mut bytes = 0;
    loop {
        match read_capped(fd, buf, cap, truncated) {
            Ok(0) => return Ok(Drained { bytes, eof: true }),
            Ok(n) => {
                bytes += n;
                if bytes >= limit {
                    return Ok(Drained { bytes, eof: false });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(Drained { bytes, eof: false })
            }
            Err(e) => return Err(e),
        }
    }
}
