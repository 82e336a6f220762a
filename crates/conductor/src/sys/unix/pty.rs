//! Pseudo-terminal primitives (Unix): open a master/slave pair with a window
//! size, resize it, and read or write the master, where the `EIO` a master
//! returns once every slave descriptor is closed (the hang-up) is end of
//! stream. Both descriptors are close-on-exec: no other child inherits them.

use super::fd::errno_to_io;
use crate::pty::PtySize;
use rustix::termios::Winsize;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

fn winsize(size: PtySize) -> Winsize {
    Winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// Opens a new pseudo-terminal of `size`: (master, slave), both close-on-exec,
/// neither the caller's controlling terminal.
pub(crate) fn open(size: PtySize) -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::OpenptFlags;
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY;
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd"))]
    let flags = flags | OpenptFlags::CLOEXEC;
    let master = rustix::pty::openpt(flags).map_err(errno_to_io)?;
    // Where openpt cannot set it atomically (another thread's fork+exec in
    // this window would be the only way to leak it; conductor never forks
    // without closing everything above the child's descriptors).
    rustix::io::fcntl_setfd(&master, rustix::io::FdFlags::CLOEXEC).map_err(errno_to_io)?;
    rustix::pty::grantpt(&master).map_err(errno_to_io)?;
    rustix::pty::unlockpt(&master).map_err(errno_to_io)?;
    let name = ptsname(&master)?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_to_io)?;
    rustix::termios::tcsetwinsize(&slave, winsize(size)).map_err(errno_to_io)?;
    Ok((master, slave))
}

/// Sets the terminal's window size; the kernel sends SIGWINCH to the
/// terminal's foreground process group.
pub(crate) fn resize(master: BorrowedFd<'_>, size: PtySize) -> io::Result<()> {
    rustix::termios::tcsetwinsize(master, winsize(size)).map_err(errno_to_io)
}

/// The terminal's window size.
pub(crate) fn size(master: BorrowedFd<'_>) -> io::Result<PtySize> {
    let ws = rustix::termios::tcgetwinsize(master).map_err(errno_to_io)?;
    Ok(PtySize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Reads from the master: 0 at the hang-up (`EIO`), after every byte the
/// terminal still held; EINTR is retried.
pub(crate) fn read(master: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    super::io::read(master, buf)
}

/// Writes to the master; EINTR is retried.
pub(crate) fn write(master: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    super::io::write_raw(master, buf)
}

/// A second descriptor for the same master.
pub(crate) fn try_clone(master: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    master.as_fd().try_clone_to_owned()
}

/// Sets or clears `O_NONBLOCK` on the master.
pub(crate) fn set_nonblocking(master: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    super::fd::set_nonblocking(master, on)
}

/// The window size of the terminal `fd` is on (None: not a terminal).
pub(crate) fn terminal_size(fd: BorrowedFd<'_>) -> Option<PtySize> {
    if !rustix::termios::isatty(fd) {
        return None;
    }
    size(fd).ok()
}

/// A terminal's settings, saved to be put back.
pub(crate) type Saved = rustix::termios::Termios;

/// Puts the terminal `fd` is on in raw mode (no echo, no line editing, no
/// signals from keys, bytes passed through); returns the settings before.
pub(crate) fn make_raw(fd: BorrowedFd<'_>) -> io::Result<Saved> {
    use rustix::termios::{tcgetattr, tcsetattr, OptionalActions};
    let saved = tcgetattr(fd).map_err(errno_to_io)?;
    let mut raw = saved.clone();
    raw.make_raw();
    tcsetattr(fd, OptionalActions::Flush, &raw).map_err(errno_to_io)?;
    Ok(saved)
}

/// Puts back settings from [`make_raw`], at once (never waits for output
/// to drain: a terminal nobody reads would block that forever).
pub(crate) fn restore(fd: BorrowedFd<'_>, saved: &Saved) -> io::Result<()> {
    rustix::termios::tcsetattr(fd, rustix::termios::OptionalActions::Now, saved)
        .map_err(errno_to_io)
}

/// The path of the terminal device that `master` controls.
#[cfg(not(target_os = "netbsd"))]
fn ptsname(master: &OwnedFd) -> io::Result<std::ffi::CString> {
    rustix::pty::ptsname(master, Vec::new()).map_err(errno_to_io)
}

/// The path of the terminal device that `master` controls. rustix has no
/// `ptsname` for NetBSD: libc's, which returns a static buffer, under a lock.
#[cfg(target_os = "netbsd")]
fn ptsname(master: &OwnedFd) -> io::Result<std::ffi::CString> {
    use std::os::fd::AsRawFd;
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _held = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    // SAFETY: `master` is an open descriptor; the returned pointer is libc's
    // static buffer (or null on error), read and copied before the lock is
    // released, so no other conductor thread overwrites it meanwhile.
    unsafe {
        let p = libc::ptsname(master.as_raw_fd());
        if p.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(std::ffi::CStr::from_ptr(p).to_owned())
    }
}
