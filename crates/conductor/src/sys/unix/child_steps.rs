//! Steps shared by the child side of every Unix backend (Linux's cloned
//! child, `linux::in_child`, and the macOS/BSD forked child, `bsd::fork`), and
//! by an in-place `exec`. They run between the child's creation and `execve`,
//! in a copy of (or sharing the memory of) a possibly multi-threaded process:
//! raw async-signal-safe calls only, no allocation, no locks, no panics.

use super::exec_request::ExecRequest;
use super::spawn_error::{ExecSearch, Step};
use std::os::fd::RawFd;

/// The calling thread's errno (no allocation: an OS error is a plain number).
pub(crate) fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Resets to the default every signal from 1 to `max` that has a handler
/// (ignored signals stay ignored; larger numbers than the system has fail
/// harmlessly).
///
/// # Safety
/// Changes this process's signal dispositions; in a child, only with every
/// signal blocked (so no handler runs before it is reset).
pub(crate) unsafe fn reset_caught_handlers(max: libc::c_int) {
    // SAFETY: sigaction on local structures; async-signal-safe.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        for sig in 1..=max {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction != libc::SIG_DFL
                && old.sa_sigaction != libc::SIG_IGN
            {
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
    }
}

/// Marks every descriptor from `fd` up close-on-exec, bounded by the
/// descriptor limit (descriptors cannot be opened at or above it).
///
/// # Safety
/// Changes this process's descriptor flags.
pub(crate) unsafe fn cloexec_from(fd: RawFd) {
    // SAFETY: getrlimit and fcntl are system calls; fcntl on a closed
    // descriptor fails harmlessly with EBADF.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 20) as RawFd
        } else {
            1 << 16
        };
        for other in fd..max {
            libc::fcntl(other, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// The last steps: runs the `pre_exec` closures, then `execve`s each PATH
/// candidate in turn. Returns only on failure (the step and errno).
///
/// # Safety
/// In the child (or in place for `exec`), with `req`'s pointers valid;
/// `pre_exec` closures only where the child has its own copy of memory.
pub(crate) unsafe fn run_hooks_and_exec(req: &ExecRequest<'_>) -> (Step, i32) {
    // SAFETY: the closures are the caller's (documented as async-signal-safe);
    // execve is a system call on strings the parent prepared.
    unsafe {
        if !req.pre_exec.is_null() {
            for hook in (*req.pre_exec).iter_mut() {
                if let Err(e) = hook() {
                    let code = e.raw_os_error().unwrap_or(libc::EINVAL);
                    // Freeing a custom error could take the allocator's lock.
                    std::mem::forget(e);
                    return (Step::PreExec, code);
                }
            }
        }
        let mut search = ExecSearch::new(req.candidates.len());
        for &path in req.candidates {
            libc::execve(path, req.argv.cast(), req.envp.cast());
            if !search.failed(errno()) {
                break;
            }
        }
        (Step::Exec, search.error())
    }
}
