//! Signal masks around child creation: the mask a child starts with,
//! prepared in the parent before the clone or fork (the child only installs
//! it), and the creation itself with every signal blocked in the spawning
//! thread, so no handler of the parent's runs in the child before the child
//! resets them.

use std::io;

/// The spawning thread's current mask (std's and tokio's behaviour), or an
/// empty one when `empty` is set (`CommandExt::empty_signal_mask`).
pub(crate) fn child_sigmask(empty: bool) -> libc::sigset_t {
    // SAFETY: sigset operations on a local set; pthread_sigmask with a null
    // new set only reads the calling thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        if !empty {
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        }
        set
    }
}

/// Runs `f` with every signal blocked in the calling thread, then restores
/// the thread's previous mask. A child created inside `f` starts with every
/// signal blocked.
pub(crate) fn with_all_blocked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: sigset operations on local sets; pthread_sigmask changes only
    // the calling thread's mask, and the old one is put back below.
    let old = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    };
    let r = f();
    // SAFETY: restores the mask saved above, in the same thread.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    r
}

/// Forks with every signal blocked (the parent's old mask is restored right
/// after); the child runs `child`, which is to end by `execve` or `_exit`
/// (should it return, the child exits with 127). Returns the child's pid in
/// the parent.
///
/// # Safety
/// `child` runs in a copy of a possibly multi-threaded process: it may make
/// only async-signal-safe calls (no allocation, no locks, no panics).
pub(crate) unsafe fn fork_all_blocked(child: impl FnOnce()) -> io::Result<libc::pid_t> {
    with_all_blocked(|| {
        // SAFETY: fork itself; the child side is the caller's contract.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            child();
            // SAFETY: _exit is async-signal-safe and ends only the child.
            unsafe { libc::_exit(127) };
        }
        // Taken before the old mask is restored, as the fork left it.
        let fork_err = io::Error::last_os_error();
        if pid < 0 {
            Err(fork_err)
        } else {
            Ok(pid)
        }
    })
}
