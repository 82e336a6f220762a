//! Reaping one child with `waitid`, by pidfd or by pid, collecting its resource usage.

use crate::status::{ExitStatus, ResourceUsage};
use crate::sys::unix::status::{from_rusage, from_siginfo};
use std::io;
use std::os::fd::RawFd;

const P_PIDFD: libc::idtype_t = 3;
/// Wait for children whatever their exit signal (ours have none).
const WALL: libc::c_int = 0x4000_0000;

/// Which child to reap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Pidfd(RawFd),
    Pid(libc::pid_t),
}

/// Reaps the child if it has exited (`block`: wait until it does).
/// Returns `None` when it still runs (only without `block`).
pub(crate) fn waitid(target: Target, block: bool) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
    let (idtype, id) = match target {
        Target::Pidfd(fd) => (P_PIDFD, fd as libc::id_t),
        Target::Pid(pid) => (libc::P_PID, pid as libc::id_t),
    };
    let mut opts = libc::WEXITED | WALL;
    if !block {
        opts |= libc::WNOHANG;
    }
    loop {
        // SAFETY: zeroed siginfo/rusage are valid out-parameters for the raw waitid
        // syscall, whose fifth argument is a `struct rusage *`.
        let (ret, info, ru) = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let mut ru: libc::rusage = std::mem::zeroed();
            let ret = libc::syscall(
                libc::SYS_waitid,
                idtype,
                id,
                &mut info as *mut libc::siginfo_t,
                opts,
                &mut ru as *mut libc::rusage,
            );
            (ret, info, ru)
        };
        if ret < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        // SAFETY: after a successful waitid the pid/status union members are initialised.
        let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
        if pid == 0 {
            return Ok(None);
        }
        return Ok(Some((from_siginfo(info.si_code, status), from_rusage(&ru))));
    }
}

/// Sends `sig` through the pidfd: it can never reach a recycled pid.
pub(crate) fn pidfd_send_signal(pidfd: RawFd, sig: i32) -> io::Result<()> {
    // SAFETY: raw syscall with a valid descriptor and a null siginfo.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `kill(2)` by pid (the fallback path, and process groups).
pub(crate) fn kill(pid: libc::pid_t, sig: i32) -> io::Result<()> {
    // SAFETY: plain kill syscall.
    if unsafe { libc::kill(pid, sig) } < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
