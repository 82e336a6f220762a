//! The machinery under [`crate::unix::SignalListener`]: a signal handler (chained
//! through signal-hook-registry, so tokio's and others' handlers still run)
//! that writes each signal's number and origin to a self-pipe, and the
//! terminal hand-over that must not stop a background caller.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// One record in the self-pipe: signal, si_code, sender pid, sender uid,
/// SIGCHLD's status.
pub(crate) const RECORD: usize = 20;

/// What the handler saw, decoded from a record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw {
    pub signal: i32,
    /// Read on Linux only (elsewhere the sender's pid tells the origin).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub code: i32,
    pub pid: i32,
    pub uid: u32,
    /// SIGCHLD only: the exit code, or the signal that killed or stopped the child.
    pub status: i32,
}

impl Raw {
    pub(crate) fn decode(rec: &[u8; RECORD]) -> Raw {
        let word = |i: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&rec[i * 4..i * 4 + 4]);
            i32::from_ne_bytes(w)
        };
        Raw {
            signal: word(0),
            code: word(1),
            pid: word(2),
            uid: word(3) as u32,
            status: word(4),
        }
    }
}

/// Handlers registered for a listener; unregistered on drop (which also
/// closes the write end: signal-hook-registry drops an action only once no
/// handler is running it).
pub(crate) struct Registration {
    ids: Vec<signal_hook_registry::SigId>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}

/// Catches `signals`; returns the non-blocking read end of the self-pipe that
/// receives one record per delivery.
pub(crate) fn listen(signals: &[i32]) -> io::Result<(OwnedFd, Registration)> {
    // signal-hook-registry panics on these: they cannot (or must not) be caught.
    const FORBIDDEN: [i32; 5] = [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGSEGV,
    ];
    if let Some(sig) = signals.iter().find(|s| FORBIDDEN.contains(s)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {sig} cannot be listened for"),
        ));
    }
    let (rd, wr) = super::fd::pipe()?;
    super::fd::set_nonblocking(rd.as_fd(), true)?;
    super::fd::set_nonblocking(wr.as_fd(), true)?;
    let wr = std::sync::Arc::new(wr);
    let mut reg = Registration { ids: Vec::new() };
    for &sig in signals {
        let wr = wr.clone();
        let action = move |info: &libc::siginfo_t| {
            // SAFETY: si_pid/si_uid read the union members every signal sent by
            // a process fills; for other origins the kernel zeroes them.
            let (pid, uid) = unsafe { (info.si_pid(), info.si_uid()) };
            let status = if info.si_signo == libc::SIGCHLD {
                // SAFETY: the kernel fills si_status for every SIGCHLD.
                unsafe { info.si_status() }
            } else {
                0
            };
            let mut rec = [0u8; RECORD];
            rec[0..4].copy_from_slice(&info.si_signo.to_ne_bytes());
            rec[4..8].copy_from_slice(&info.si_code.to_ne_bytes());
            rec[8..12].copy_from_slice(&pid.to_ne_bytes());
            rec[12..16].copy_from_slice(&(uid as i32).to_ne_bytes());
            rec[16..20].copy_from_slice(&status.to_ne_bytes());
            // SAFETY: write(2) is async-signal-safe; the descriptor stays open
            // while this action is registered (the action owns it). A full pipe
            // drops the record rather than block; 20 bytes are written atomically.
            unsafe { libc::write(wr.as_raw_fd(), rec.as_ptr().cast(), RECORD) };
        };
        // SAFETY: the action only copies plain data and calls write(2): it
        // allocates nothing, takes no lock and is async-signal-safe.
        let id = unsafe { signal_hook_registry::register_sigaction(sig, action) }?;
        reg.ids.push(id);
    }
    Ok((rd, reg))
}

/// Makes `pgid` the foreground process group of terminal `tty`, with SIGTTOU
/// blocked for the call so that a caller in a background group is not stopped.
pub(crate) fn set_foreground(tty: BorrowedFd<'_>, pgid: i32) -> io::Result<()> {
    // SAFETY: sigset_t is plain data, valid when zeroed; sigemptyset and
    // sigaddset only write to the local set.
    let block = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTTOU);
        set
    };
    // SAFETY: as above, a local set for the old mask.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: changes this thread's signal mask only (restored below), with
    // pointers to the local sets.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: tcsetpgrp(3) on a descriptor the caller keeps open for the call.
    let res = unsafe { libc::tcsetpgrp(tty.as_raw_fd(), pgid) };
    let err = io::Error::last_os_error();
    // SAFETY: restores the mask saved above. A SIGTTOU cannot be pending from
    // the call: with it blocked, the kernel lets tcsetpgrp through unsignalled.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if res != 0 {
        return Err(err);
    }
    Ok(())
}
