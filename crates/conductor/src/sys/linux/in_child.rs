//! The code that runs in the child between clone and exec (in the child:
//! the parent's side of the spawn is `spawn.rs`).
//!
//! It shares the parent's memory, so it only reads what [`ChildCtx`] points at,
//! makes raw async-signal-safe calls, never allocates, locks or panics, and
//! reports a failure by storing the step and errno in the context before `_exit`.

use std::ffi::c_void;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use crate::sys::unix::child_steps::{cloexec_from, errno, reset_caught_handlers, run_hooks_and_exec};
use crate::sys::unix::exec_request::ExecRequest;
pub(crate) use crate::sys::unix::spawn_error::Step;

/// Everything the child needs, prepared by the parent before the clone: the
/// setup shared with the other Unix backends, and Linux's own.
pub(crate) struct ChildCtx<'a> {
    /// What to set up before `execve`.
    pub req: ExecRequest<'a>,
    /// Parent-death signal (0: none), and the parent's pid to detect an early death.
    pub pdeathsig: i32,
    pub parent_pid: i32,
    /// Reset every caught signal's handler by hand (the legacy clone path).
    pub reset_handlers: bool,
    /// `cgroup.procs` of a v1 memory cgroup to join before anything else
    /// (-1: none); writing `0` moves the writer, the child itself.
    pub cgroup_procs: i32,
    /// Fork path: the write end of the report pipe (-1: report through the
    /// shared memory below, the vfork path).
    pub err_pipe: i32,
    pub err_stage: AtomicU32,
    pub err_errno: AtomicI32,
}

impl<'a> ChildCtx<'a> {
    /// The context for `req`, with the parent-death signal (0: none) and the
    /// pid whose death it stands for, and the v1 memory cgroup's
    /// `cgroup.procs` to join (-1: none); handlers are not reset by hand and
    /// failures are reported through shared memory until a path says otherwise.
    pub fn new(req: ExecRequest<'a>, pdeathsig: i32, parent_pid: i32, cgroup_procs: i32) -> Self {
        ChildCtx {
            req,
            pdeathsig,
            parent_pid,
            reset_handlers: false,
            cgroup_procs,
            err_pipe: -1,
            err_stage: AtomicU32::new(0),
            err_errno: AtomicI32::new(0),
        }
    }
}

/// Records the failing step and exits the child.
fn fail(ctx: &ChildCtx<'_>, stage: Step, err: i32) -> ! {
    ctx.err_errno.store(err, Ordering::Relaxed);
    ctx.err_stage.store(stage as u32, Ordering::Release);
    if ctx.err_pipe >= 0 {
        // Fork path: the parent has its own memory; tell it through the pipe.
        let report = crate::sys::unix::spawn_error::encode_report(stage, err);
        // SAFETY: a raw write of a local buffer to the report pipe.
        unsafe { libc::write(ctx.err_pipe, report.as_ptr().cast(), report.len()) };
    }
    // SAFETY: terminates the child only (it is its own thread group).
    unsafe { libc::_exit(127) }
}

/// The child's entry point.
///
/// # Safety
/// `arg` points to a live `ChildCtx` whose pointers are valid; called only in a
/// vfork-style child.
pub(crate) unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
    // SAFETY: guaranteed by the caller.
    let ctx = unsafe { &*(arg as *const ChildCtx<'_>) };
    // SAFETY: each call below is a raw, async-signal-safe system call on data the
    // parent prepared; none allocates, locks or unwinds.
    unsafe { run(ctx) }
}

unsafe fn run(ctx: &ChildCtx<'_>) -> ! {
    // SAFETY: forwarded from child_main.
    let (step, errno) = unsafe { steps(ctx) };
    fail(ctx, step, errno)
}

/// Every step from signal set-up to `execve`, in the calling process (the
/// child, or this process for an in-place `exec`). Returns only on failure:
/// the step and errno.
///
/// # Safety
/// As `child_main`; in place, the caller accepts that the process's
/// descriptors, directory and credentials are changed.
pub(crate) unsafe fn steps(ctx: &ChildCtx<'_>) -> (Step, i32) {
    // SAFETY (whole function): see child_main.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        if ctx.reset_handlers {
            // Legacy path: the parent blocked every signal, so no handler of the
            // parent's can run here before it is reset.
            reset_caught_handlers(64);
        }
        // Caught signals were reset by CLONE_CLEAR_SIGHAND (or above); signals the
        // parent ignores for its own sake go back to their defaults too.
        for sig in [libc::SIGPIPE, libc::SIGXFSZ] {
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
        }
        // Join the memory cgroup first: everything the program does from exec
        // on is charged to it (the parent's memory it shares until then is not).
        if ctx.cgroup_procs >= 0 && libc::write(ctx.cgroup_procs, b"0".as_ptr().cast(), 1) != 1 {
            return (Step::Cgroup, errno());
        }
        if libc::sigprocmask(libc::SIG_SETMASK, &ctx.req.sigmask, std::ptr::null_mut()) != 0 {
            return (Step::Signals, errno());
        }

        if ctx.req.setsid && libc::setsid() < 0 {
            return (Step::Session, errno());
        }
        if ctx.req.pgroup >= 0 && libc::setpgid(0, ctx.req.pgroup) != 0 {
            return (Step::Session, errno());
        }
        for &(res, soft, hard) in ctx.req.rlimits {
            let lim = libc::rlimit64 {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::syscall(
                libc::SYS_prlimit64,
                0,
                res,
                &lim,
                std::ptr::null_mut::<c_void>(),
            ) != 0
            {
                return (Step::Rlimit, errno());
            }
        }
        // Raw syscalls: glibc's set*id wrappers would signal the parent's threads.
        if let Some(groups) = ctx.req.groups {
            if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0 {
                return (Step::Groups, errno());
            }
        } else if ctx.req.uid.is_some()
            && libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<u32>()) != 0
            && errno() != libc::EPERM
        {
            return (Step::Groups, errno());
        }
        if let Some(gid) = ctx.req.gid {
            if libc::syscall(libc::SYS_setgid, gid) != 0 {
                return (Step::Gid, errno());
            }
        }
        if let Some(uid) = ctx.req.uid {
            if libc::syscall(libc::SYS_setuid, uid) != 0 {
                return (Step::Uid, errno());
            }
        }
        if ctx.pdeathsig != 0 {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                ctx.pdeathsig as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return (Step::Signals, errno());
            }
            // The parent may have died before the prctl: then nobody will signal us.
            if libc::getppid() != ctx.parent_pid {
                libc::kill(libc::getpid(), ctx.pdeathsig);
            }
        }
        if let Some(mask) = ctx.req.umask {
            libc::umask(mask);
        }
        if !ctx.req.cwd.is_null() && libc::chdir(ctx.req.cwd) != 0 {
            return (Step::Chdir, errno());
        }
        for &(src, dst) in ctx.req.moves {
            if libc::dup2(src, dst) < 0 {
                return (Step::Fds, errno());
            }
        }
        if ctx.req.ctty >= 0 && libc::ioctl(ctx.req.ctty, libc::TIOCSCTTY, 0) != 0 {
            return (Step::Session, errno());
        }
        close_other_fds(ctx);
        run_hooks_and_exec(&ctx.req)
    }
}

/// Marks every descriptor the child should not keep close-on-exec.
unsafe fn close_other_fds(ctx: &ChildCtx<'_>) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: raw close_range/fcntl calls on the child's own descriptor table.
    unsafe {
        let mark = |first: u32, last: u32| -> bool {
            libc::syscall(libc::SYS_close_range, first, last, CLOSE_RANGE_CLOEXEC) == 0
        };
        for &(a, b) in ctx.req.gaps {
            if !mark(a as u32, b as u32) {
                for fd in a..=b {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
        }
        if !mark(ctx.req.close_from as u32, u32::MAX) {
            // Kernels before 5.11: walk the table up to the descriptor limit.
            cloexec_from(ctx.req.close_from);
        }
    }
}
