//! Reaping one child by pid with `wait4` (which also yields its resource
//! usage), signalling it, and watching for its exit with a kqueue
//! `EVFILT_PROC`/`NOTE_EXIT` event.

use crate::status::{ExitStatus, ResourceUsage};
use crate::sys::unix::fd::errno_to_io;
use crate::sys::unix::status::from_rusage;
use rustix::event::kqueue::{self, Event, EventFilter, EventFlags, ProcessEvents};
use rustix::io::{fcntl_setfd, Errno, FdFlags};
use rustix::process::Pid;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

/// Reaps child `pid` if it has exited (`block`: wait until it does). `None`
/// while it still runs (only without `block`). ECHILD (the status was
/// discarded or taken by other code) is returned as an error for the caller to
/// explain.
pub(crate) fn wait4(
    pid: libc::pid_t,
    block: bool,
) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
    let opts = if block { 0 } else { libc::WNOHANG };
    loop {
        let mut status = 0;
        // SAFETY: wait4 writes an int and a `struct rusage` through pointers to
        // live locals; a zeroed rusage is a valid value.
        let (ret, ru) = unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            let ret = libc::wait4(pid, &mut status, opts, &mut ru);
            (ret, ru)
        };
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        if ret == 0 {
            return Ok(None);
        }
        return Ok(Some((ExitStatus::from_raw(status), from_rusage(&ru))));
    }
}

/// `kill(2)`. A process that no longer exists (ESRCH: reaped, possibly by
/// other code) is not an error.
pub(crate) fn kill(pid: libc::pid_t, sig: i32) -> io::Result<()> {
    // SAFETY: plain kill syscall.
    if unsafe { libc::kill(pid, sig) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(err)
    }
}

/// A new close-on-exec kqueue.
pub(crate) fn new_kqueue() -> io::Result<OwnedFd> {
    let kq = kqueue::kqueue().map_err(errno_to_io)?;
    // BSD kqueues are not inherited across fork; the flag is for exec paths
    // that keep the descriptor table (and harmless elsewhere).
    fcntl_setfd(&kq, FdFlags::CLOEXEC).map_err(errno_to_io)?;
    Ok(kq)
}

/// The exit notification to ask for: on macOS `NOTE_EXITSTATUS` also puts the
/// wait status in the event (the BSDs always do).
fn exit_flags() -> ProcessEvents {
    #[cfg(target_vendor = "apple")]
    let bits = libc::NOTE_EXIT | libc::NOTE_EXITSTATUS;
    #[cfg(not(target_vendor = "apple"))]
    let bits = libc::NOTE_EXIT;
    ProcessEvents::from_bits_retain(bits)
}

/// Registers a one-shot `NOTE_EXIT` event for `pid` in `kq`. `Ok(false)` when
/// the process is already gone from the kernel's view (ESRCH): it has exited
/// and is a zombie, or about to be one, so the caller reaps it.
pub(crate) fn watch_exit(kq: BorrowedFd<'_>, pid: libc::pid_t) -> io::Result<bool> {
    let Some(pid) = Pid::from_raw(pid) else {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    };
    let change = Event::new(
        EventFilter::Proc {
            pid,
            flags: exit_flags(),
        },
        EventFlags::ADD | EventFlags::ONESHOT,
        std::ptr::null_mut(),
    );
    let mut none: [std::mem::MaybeUninit<Event>; 0] = [];
    // SAFETY: the change names a process, not a descriptor, so nothing it
    // refers to can be closed under the kqueue; the event list is empty.
    match unsafe { kqueue::kevent(kq, &[change], &mut none[..], Some(Duration::ZERO)) } {
        Ok(_) => Ok(true),
        Err(Errno::SRCH) => Ok(false),
        Err(e) => Err(errno_to_io(e)),
    }
}

/// An exit reported by a kqueue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit {
    pub pid: libc::pid_t,
    /// The wait status carried by the event (`NOTE_EXITSTATUS` on macOS, always
    /// on the BSDs); used only when `wait4` cannot report it.
    pub status: Option<i32>,
}

/// Waits up to `timeout` (`None`: forever) for events on `kq` and returns the
/// process exits among them (at most `buf.capacity()`). An interrupted wait
/// returns nothing.
pub(crate) fn take_exits(
    kq: BorrowedFd<'_>,
    buf: &mut Vec<Event>,
    timeout: Option<Duration>,
) -> io::Result<Vec<Exit>> {
    buf.clear();
    // SAFETY: no changes are submitted; the kernel only fills `buf`'s spare capacity.
    match unsafe { kqueue::kevent(kq, &[], rustix::buffer::spare_capacity(buf), timeout) } {
        Ok(_) => {}
        Err(Errno::INTR) => return Ok(Vec::new()),
        Err(e) => return Err(errno_to_io(e)),
    }
    Ok(buf
        .iter()
        .filter_map(|ev| match ev.filter() {
            EventFilter::Proc { pid, flags }
                if flags.contains(ProcessEvents::EXIT)
                    && !ev.flags().contains(EventFlags::ERROR) =>
            {
                Some(Exit {
                    pid: pid.as_raw_nonzero().get(),
                    status: i32::try_from(ev.data()).ok(),
                })
            }
            _ => None,
        })
        .collect())
}
