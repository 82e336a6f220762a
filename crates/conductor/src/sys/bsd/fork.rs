//! The fork+exec fallback, for the options `posix_spawn` cannot express on
//! this system: the user, group and supplementary groups, the umask, and (where
//! the system lacks the matching spawn flag or file action) `setsid` and the
//! working directory.
//!
//! Everything is prepared in the parent ([`ExecRequest`] only points at memory
//! the parent owns). Between `fork` and `execve` the child runs in a copy of a
//! possibly multi-threaded process, so it makes only async-signal-safe system
//! calls: no allocation, no locks, no panics. A failure is reported as
//! `(step, errno)` through a close-on-exec pipe, which a successful exec closes
//! (the parent then reads EOF).

use super::wait::wait4;
use crate::sys::unix::exec_request::ExecRequest;
use crate::sys::unix::fd::{dup_above, pipe};
use crate::sys::unix::child_steps::{cloexec_from, errno, reset_caught_handlers, run_hooks_and_exec};
use crate::sys::unix::spawn_error::{decode_report, encode_report, read_report, Step};
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

/// How a fork+exec ended.
pub(crate) enum Forked {
    /// The child is running the program.
    Running(libc::pid_t),
    /// The child failed at `step` with `errno`, and has been reaped.
    Failed(Step, i32),
}

/// Forks, sets the child up as `req` says and execs the program.
pub(crate) fn fork_exec(req: &ExecRequest<'_>) -> io::Result<Forked> {
    let (rd, first_wr) = pipe()?;
    // The report pipe's write end sits at or above `close_from`, so no move can
    // clobber it; the child later parks it at exactly `close_from`. Only this
    // copy may stay open: the parent reads until every write end is closed.
    let wr = dup_above(first_wr.as_fd(), req.close_from)?;
    drop(first_wr);
    let err_fd = wr.as_raw_fd();

    // SAFETY: the child runs `child_main`, which only makes async-signal-safe
    // calls on memory prepared above and never returns.
    let pid = unsafe { crate::sys::unix::sigmask::fork_all_blocked(|| child_main(req, err_fd)) }?;
    drop(wr);

    let (report, got) = match read_report(rd.as_fd()) {
        Ok(read) => read,
        Err(e) => {
            // Cannot learn the outcome: do not leave the child behind.
            // SAFETY: plain kill syscall on our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = wait4(pid, true);
            return Err(crate::sys::unix::fd::errno_to_io(e));
        }
    };
    if got == 0 {
        return Ok(Forked::Running(pid));
    }
    // The child reported a failure (or died mid-report) and exits: reap it.
    let _ = wait4(pid, true);
    let (step, errno) = decode_report(&report);
    match (got, Step::from_u32(step)) {
        (8, Some(step)) => Ok(Forked::Failed(step, errno)),
        _ => Ok(Forked::Failed(Step::Spawn, libc::EIO)),
    }
}

/// Reports `(step, err)` to the parent and exits the child.
///
/// # Safety
/// Only in the forked child.
unsafe fn fail(err_fd: RawFd, step: Step, err: i32) -> ! {
    let msg = encode_report(step, err);
    // SAFETY: write(2) and _exit(2) are async-signal-safe; 8 bytes to a pipe are
    // written atomically.
    unsafe {
        libc::write(err_fd, msg.as_ptr().cast(), msg.len());
        libc::_exit(127)
    }
}

/// The highest signal number worth resetting (larger numbers fail harmlessly).
const MAX_SIGNAL: libc::c_int = 128;

/// The child after `fork`: sets it up, then execs.
///
/// # Safety
/// Only in the forked child, with every signal blocked.
unsafe fn child_main(req: &ExecRequest<'_>, err_fd: RawFd) -> ! {
    let mut err_fd = err_fd;
    // SAFETY: forwarded from our caller.
    let (step, errno) = unsafe { steps(req, &mut err_fd) };
    // SAFETY: in the forked child.
    unsafe { fail(err_fd, step, errno) }
}

/// Every step from signal set-up to `execve`. Returns only on failure (the
/// step and errno). `*err_fd` is the report pipe, parked at `close_from`
/// (the forked child), or -1 for an in-place `exec`, where descriptors that
/// must not survive are marked close-on-exec instead of closed.
///
/// # Safety
/// In the forked child with every signal blocked, or in place for `exec`
/// (the caller accepts that this process is changed).
pub(crate) unsafe fn steps(req: &ExecRequest<'_>, err_fd: &mut RawFd) -> (Step, i32) {
    // SAFETY (whole body): each call is a raw, async-signal-safe system call on
    // data the parent prepared before the fork; nothing allocates, locks or
    // unwinds.
    unsafe {
        // Signals: handlers of the parent's become defaults (exec would do that
        // too, but one could run before exec once the mask is cleared); SIGPIPE
        // and SIGXFSZ, which the parent may ignore for its own sake, go back to
        // their defaults. Other ignored signals stay ignored, as on Linux.
        // (In place, exec itself resets caught handlers; this process keeps
        // its own if exec fails.)
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        if *err_fd >= 0 {
            reset_caught_handlers(MAX_SIGNAL);
        }
        for sig in [libc::SIGPIPE, libc::SIGXFSZ] {
            if libc::sigaction(sig, &dfl, std::ptr::null_mut()) != 0 {
                return (Step::Signals, errno());
            }
        }

        // Before the user changes: raising a hard limit needs privilege.
        for &(res, soft, hard) in req.rlimits {
            let lim = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            if libc::setrlimit(res as _, &lim) != 0 {
                return (Step::Rlimit, errno());
            }
        }
        if req.setsid && libc::setsid() < 0 {
            return (Step::Session, errno());
        }
        if req.pgroup >= 0 && libc::setpgid(0, req.pgroup) != 0 {
            return (Step::Session, errno());
        }
        if let Some(groups) = req.groups {
            if libc::setgroups(groups.len() as _, groups.as_ptr()) != 0 {
                return (Step::Groups, errno());
            }
        } else if req.uid.is_some()
            && libc::setgroups(0, std::ptr::null()) != 0
            && errno() != libc::EPERM
        {
            return (Step::Groups, errno());
        }
        if let Some(gid) = req.gid {
            if libc::setgid(gid) != 0 {
                return (Step::Gid, errno());
            }
        }
        if let Some(uid) = req.uid {
            if libc::setuid(uid) != 0 {
                return (Step::Uid, errno());
            }
        }
        if let Some(mask) = req.umask {
            libc::umask(mask);
        }
        if !req.cwd.is_null() && libc::chdir(req.cwd) != 0 {
            return (Step::Chdir, errno());
        }
        for &(src, dst) in req.moves {
            // dup2 leaves the new descriptor without FD_CLOEXEC: it survives exec.
            if libc::dup2(src, dst) < 0 {
                return (Step::Fds, errno());
            }
        }
        if req.ctty >= 0 && libc::ioctl(req.ctty, libc::TIOCSCTTY as _, 0) != 0 {
            return (Step::Session, errno());
        }
        if *err_fd < 0 {
            // In place (`exec`): nothing to report through; what must not
            // survive is marked close-on-exec, so a failed exec keeps it.
            for &(first, last) in req.gaps {
                for fd in first..=last {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            cloexec_from(req.close_from);
        } else {
            // Park the report pipe at `close_from`, then drop everything above it.
            if *err_fd != req.close_from {
                if libc::dup2(*err_fd, req.close_from) < 0 {
                    return (Step::Fds, errno());
                }
                *err_fd = req.close_from;
                libc::fcntl(*err_fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
            for &(first, last) in req.gaps {
                for fd in first..=last {
                    libc::close(fd);
                }
            }
            close_above(*err_fd);
        }

        if libc::sigprocmask(libc::SIG_SETMASK, &req.sigmask, std::ptr::null_mut()) != 0 {
            return (Step::Signals, errno());
        }
        run_hooks_and_exec(req)
    }
}

/// Closes every descriptor above `fd` (the BSDs' `closefrom`, a system call).
///
/// # Safety
/// Only in the forked child.
#[cfg(not(target_vendor = "apple"))]
unsafe fn close_above(fd: RawFd) {
    // SAFETY: closefrom is a system call on these systems; the child owns its
    // descriptor table copy.
    unsafe {
        libc::closefrom(fd + 1);
    }
}

/// Marks every descriptor above `fd` close-on-exec. macOS has no `closefrom`;
/// the loop is bounded by the descriptor limit (descriptors cannot be opened
/// at or above it).
///
/// # Safety
/// Only in the forked child.
#[cfg(target_vendor = "apple")]
unsafe fn close_above(fd: RawFd) {
    // SAFETY: forwarded from our caller.
    unsafe { cloexec_from(fd + 1) }
}
