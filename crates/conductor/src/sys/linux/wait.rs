//! Reaping one child with `waitid`, by pidfd or by pid, collecting its
//! resource usage, and signalling it. Signals and polls go through rustix's
//! safe calls; `waitid` stays a raw syscall because rustix's returns no
//! resource usage, and `PIDFD_GET_INFO` has no rustix wrapper.

use crate::status::{ExitStatus, ResourceUsage};
use crate::sys::unix::status::{from_rusage, from_siginfo};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, Signal};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

const P_PIDFD: libc::idtype_t = 3;
/// Wait for children whatever their exit signal.
const WALL: libc::c_int = 0x4000_0000;

/// Which child to reap.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    Pidfd(RawFd),
    Pid(libc::pid_t),
}

/// Reaps the child if it has exited (`block`: wait until it does).
/// Returns `None` when it still runs (only without `block`).
///
/// When the kernel already discarded the child (this process ignores SIGCHLD,
/// sets SA_NOCLDWAIT, or other code reaped it with `waitpid(-1)`), the status is
/// recovered through the pidfd where the kernel keeps it (Linux 6.15+), without
/// resource usage; otherwise that is an error saying why.
pub(crate) fn waitid(
    target: Target,
    block: bool,
) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
    match waitid_raw(target, block) {
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => match target {
            Target::Pidfd(fd) => match exit_code_from_pidfd(fd) {
                Some(raw) => Ok(Some((ExitStatus::from_raw(raw), ResourceUsage::default()))),
                None if !block && !pidfd_exited(fd) => Ok(None),
                None => Err(io::Error::other(
                    "the child's exit status was discarded before conductor could collect it \
                     (SIGCHLD ignored, SA_NOCLDWAIT, or reaped by other code); \
                     Linux 6.15+ keeps it available through the pidfd",
                )),
            },
            Target::Pid(_) => Err(e),
        },
        r => r,
    }
}

/// `struct pidfd_info` (Linux 6.15 layout, PIDFD_INFO_SIZE_VER0 = 64 bytes).
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    ids: [u32; 11],
    exit_code: i32,
}

const PIDFD_INFO_EXIT: u64 = 1 << 3;
/// `_IOWR(0xFF, 11, struct pidfd_info)`.
const PIDFD_GET_INFO: libc::c_ulong = 0xC040_FF0B;

/// The wait status the kernel kept for an exited child (Linux 6.15+).
fn exit_code_from_pidfd(fd: RawFd) -> Option<i32> {
    let mut info = PidfdInfo {
        mask: PIDFD_INFO_EXIT,
        ..Default::default()
    };
    // SAFETY: the ioctl writes at most size_of::<PidfdInfo>() (64) bytes into `info`.
    let r = unsafe { libc::ioctl(fd, PIDFD_GET_INFO, &mut info as *mut PidfdInfo) };
    (r == 0 && info.mask & PIDFD_INFO_EXIT != 0).then_some(info.exit_code)
}

/// True when the pidfd reports the process gone.
fn pidfd_exited(fd: RawFd) -> bool {
    // SAFETY: `fd` is the caller's open pidfd for the duration of this call.
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    let mut p = [PollFd::new(&fd, PollFlags::IN)];
    matches!(
        rustix::event::poll(&mut p, Some(&Timespec::default())),
        Ok(1)
    )
}

fn waitid_raw(target: Target, block: bool) -> io::Result<Option<(ExitStatus, ResourceUsage)>> {
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

/// `sig` as rustix's type: `None` for 0 (a check only). Realtime signals
/// (`SIGRTMIN..=SIGRTMAX`) are accepted; any other unnamed number is
/// `EINVAL`, as the kernel would answer.
fn to_signal(sig: i32) -> io::Result<Option<Signal>> {
    if sig == 0 {
        return Ok(None);
    }
    if let Some(s) = Signal::from_named_raw(sig) {
        return Ok(Some(s));
    }
    if (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&sig) {
        // SAFETY: a realtime signal above libc's reserved ones (SIGRTMIN
        // already excludes them), which is what `from_raw_unchecked` requires.
        return Ok(Some(unsafe { Signal::from_raw_unchecked(sig) }));
    }
    Err(io::Error::from_raw_os_error(libc::EINVAL))
}

/// Sends `sig` through the pidfd: it can never reach a recycled pid.
pub(crate) fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    match to_signal(sig)? {
        Some(s) => Ok(rustix::process::pidfd_send_signal(pidfd, s)?),
        // rustix has no signal-0 check through a pidfd: the raw call.
        // SAFETY: raw syscall with a valid descriptor, signal 0 and a null siginfo.
        None => match unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        } {
            r if r < 0 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        },
    }
}

/// `kill(2)` by pid (the fallback path); a negative `pid` names a process group.
pub(crate) fn kill(pid: libc::pid_t, sig: i32) -> io::Result<()> {
    let target = Pid::from_raw(pid.saturating_abs())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
    let group = pid < 0;
    Ok(match (to_signal(sig)?, group) {
        (Some(s), false) => rustix::process::kill_process(target, s),
        (Some(s), true) => rustix::process::kill_process_group(target, s),
        (None, false) => rustix::process::test_kill_process(target),
        (None, true) => rustix::process::test_kill_process_group(target),
    }?)
}
