//! Spawning on Linux: prepare everything in the parent (C strings, pipes, the
//! descriptor plan), clone with a vfork-class primitive, and turn a failure the
//! child reported into an [`Error`] naming the program and the step.

use super::cgroup::Cgroup;
use super::clone::{clone_vfork, CloneRequest};
use super::in_child::{child_main, ChildCtx, Step};
use super::memory::{self, MemoryPlan};
use super::process::{Process, Tree};
use super::wait::{waitid, Target};
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::sys::unix::exec_request::{lock_hooks, ExecRequest, Grouping, Rlimit};
use crate::sys::unix::plan::FdPlan;
use crate::sys::unix::prep::ExecStrings;
use crate::sys::unix::spawn_error::{rlimits, spawn_error};
use crate::sys::{SpawnOptions, Spawned};
use crate::tree::Containment;
use std::ffi::c_void;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

static FORCE_FALLBACK: AtomicU8 = AtomicU8::new(2);

pub(crate) fn set_force_fallback(on: bool) {
    FORCE_FALLBACK.store(on as u8, Ordering::Relaxed);
}

fn fallback_forced() -> bool {
    match FORCE_FALLBACK.load(Ordering::Relaxed) {
        0 => false,
        1 => true,
        _ => {
            let on =
                std::env::var_os("CONDUCTOR_NO_PIDFD").is_some_and(|v| v != "0" && !v.is_empty());
            FORCE_FALLBACK.store(on as u8, Ordering::Relaxed);
            on
        }
    }
}

/// Set once we learn the kernel has no pidfd support.
static NO_PIDFD: AtomicU8 = AtomicU8::new(0);

/// The error for an option a fork+exec spawn (`pre_exec`) or an in-place
/// `exec` cannot honour.
fn no_cgroup(spec: &CommandSpec, what: &str) -> Error {
    Error::new(
        Operation::Containment,
        io::Error::new(io::ErrorKind::Unsupported, "unsupported"),
    )
    .with_program(&spec.program)
    .with_detail(format!(
        "{what} cannot be combined with cgroup containment or a memory limit"
    ))
}

/// Replaces this process with the command's program (`CommandExt::exec`):
/// the spawn's set-up, done here, then `execve`. Returns only on failure.
pub(crate) fn exec(spec: &CommandSpec) -> Error {
    match exec_inner(spec) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn exec_inner(spec: &CommandSpec) -> Result<std::convert::Infallible> {
    let strings = ExecStrings::new(spec)?;
    let rlimits: Vec<Rlimit> = rlimits(spec)?;
    let plan = FdPlan::for_exec(spec)?;
    let (mut setsid, mut pgroup) = (spec.unix.setsid, spec.unix.process_group.unwrap_or(-1));
    match spec.containment {
        Containment::None => {}
        Containment::ProcessGroup | Containment::BestAvailable => pgroup = 0,
        Containment::Session => setsid = true,
        Containment::Cgroup => return Err(no_cgroup(spec, "exec()")),
    }
    if spec.unix.memory_limit.is_some() {
        return Err(no_cgroup(spec, "exec()"));
    }
    let grouping = Grouping {
        setsid,
        pgroup,
        ctty: -1,
    };
    let mut hooks = lock_hooks(spec);
    let pdeathsig = spec.unix.pdeathsig.unwrap_or(0);
    let req = ExecRequest::new(spec, &strings, &plan, &rlimits, grouping, &mut *hooks);
    // SAFETY: getppid has no preconditions.
    let parent_pid = if pdeathsig != 0 {
        unsafe { libc::getppid() }
    } else {
        0
    };
    let ctx = ChildCtx::new(req, pdeathsig, parent_pid, -1);
    // SAFETY: the context's pointers are valid for the call; running the
    // steps here changes this process's descriptors, credentials and
    // directory before execve, which is what exec() is for (documented).
    let (step, errno) = unsafe { super::in_child::steps(&ctx) };
    Err(spawn_error(spec, strings.size, step, errno))
}

/// Spawns the command. On success the child has already called `execve`.
pub(crate) fn spawn(spec: &CommandSpec, opts: &SpawnOptions) -> Result<Spawned> {
    let prog = &spec.program;
    let strings = ExecStrings::new(spec)?;
    let rlimits: Vec<Rlimit> = rlimits(spec)?;
    let mut plan = FdPlan::new(spec, opts)?;
    // `pre_exec` closures: the child is forked (it needs its own memory).
    // Locked (only then) for the whole spawn.
    let mut hooks = Some(lock_hooks(spec)).filter(|h| !h.is_empty());
    let fork = hooks.is_some();
    if fork && (spec.containment == Containment::Cgroup || spec.unix.memory_limit.is_some()) {
        return Err(no_cgroup(spec, "pre_exec"));
    }

    // Containment: a process group, a session, or a fresh cgroup.
    let (mut setsid, mut pgroup) = (spec.unix.setsid, spec.unix.process_group.unwrap_or(-1));
    let mut cgroup = None;
    match spec.containment {
        Containment::None => {}
        Containment::ProcessGroup => pgroup = 0,
        Containment::Session => setsid = true,
        Containment::Cgroup => {
            cgroup = Some(Cgroup::create().map_err(|e| {
                let op = by_cause(&e.source, Operation::Containment);
                let err = Error::new(op, e.source).with_program(prog);
                if op == Operation::Containment {
                    err.with_reason(crate::Reason::CgroupUnavailable)
                        .with_detail(format!(
                            "{} (cgroup containment needs a writable cgroup2 mount; \
                             use Containment::BestAvailable to fall back to a process group)",
                            e.what
                        ))
                } else {
                    err.with_detail(e.what)
                }
            })?)
        }
        Containment::BestAvailable if fork => pgroup = 0,
        Containment::BestAvailable => match Cgroup::create() {
            Ok(cg) => cgroup = Some(cg),
            Err(e) => {
                tracing::debug!("conductor: no cgroup for this spawn, using a process group: {e}");
                pgroup = 0
            }
        },
    }
    // A pseudo-terminal: the child leads a new session (which is also a new
    // process group) and takes the terminal as its controlling terminal.
    let ctty = spec.unix.ctty.unwrap_or(-1);
    if ctty >= 0 {
        setsid = true;
        match pgroup {
            0 => pgroup = -1,
            n if n > 0 => return Err(Error::invalid_input(
                prog,
                "a child on a pseudo-terminal leads its own session; it cannot join process group",
            )),
            _ => {}
        }
    }
    // The memory cgroup: required for a memory limit, best effort otherwise.
    let limit = spec.unix.memory_limit;
    if limit == Some(0) {
        return Err(Error::invalid_input(prog, "the memory limit is 0 bytes"));
    }
    let memory = match memory::plan(limit, cgroup.as_ref()) {
        Ok(m) => m,
        Err(e) if limit.is_some() => {
            return Err(
                Error::new(by_cause(&e.source, Operation::MemoryLimit), e.source)
                    .with_program(prog)
                    .with_detail(e.what),
            )
        }
        Err(_) => MemoryPlan::default(),
    };
    // The v2 cgroup the child starts in; its directory is open only for the clone.
    let (target, target_op) = match (&cgroup, memory.memory.as_ref()) {
        (Some(cg), _) => (Some(cg), Operation::Containment),
        (None, Some(m)) => (m.clone_target(), Operation::MemoryLimit),
        (None, None) => (None, Operation::Containment),
    };
    let cgroup_dir = match target.map(Cgroup::open_dir).transpose() {
        Ok(fd) => fd,
        Err(e) => {
            return Err(Error::new(by_cause(&e, target_op), e)
                .with_program(prog)
                .with_detail("cannot open the child's cgroup directory"))
        }
    };
    let cgroup_procs = memory.procs.as_ref().map_or(-1, |fd| fd.as_raw_fd());

    let pdeathsig = spec.unix.pdeathsig.unwrap_or(0);
    // SAFETY: getpid has no preconditions (only needed to check the parent's death).
    let parent_pid = if pdeathsig != 0 {
        unsafe { libc::getpid() }
    } else {
        0
    };

    let use_pidfd = !fallback_forced() && NO_PIDFD.load(Ordering::Relaxed) == 0;
    let mut delay = Duration::from_millis(1);
    let mut attempt = 0;
    loop {
        let mut req = CloneRequest {
            pidfd: use_pidfd,
            cgroup: cgroup_dir.as_ref().map(|fd| fd.as_raw_fd()),
            legacy: fallback_forced(),
        };
        let exec_req = ExecRequest::new(
            spec,
            &strings,
            &plan,
            &rlimits,
            Grouping {
                setsid,
                pgroup,
                ctty,
            },
            hooks
                .as_mut()
                .map_or(std::ptr::null_mut(), |h| &mut **h as *mut _),
        );
        let ctx = ChildCtx::new(exec_req, pdeathsig, parent_pid, cgroup_procs);
        let cloned = if fork {
            fork_child(ctx, req.pidfd)
        } else if pdeathsig != 0 {
            // The death signal is tied to the cloning thread: clone from one
            // that lives as long as the process (see spawner.rs).
            let job = AssertSend((&mut req, ctx));
            super::spawner::run(move || {
                // Moves the whole wrapper in (not its fields one by one).
                let AssertSend((req, ctx)) = { job };
                AssertSend(clone_child(req, ctx))
            })
            .0
        } else {
            clone_child(&mut req, ctx)
        };
        let (pid, pidfd, ctx) = match cloned {
            Ok(v) => v,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && req.pidfd => {
                // A kernel without CLONE_PIDFD: use the SIGCHLD fallback from now on.
                NO_PIDFD.store(1, Ordering::Relaxed);
                return spawn(spec, opts);
            }
            Err(e) if req.cgroup.is_some() && by_cause(&e, target_op) == target_op => {
                return Err(Error::new(target_op, e)
                    .with_program(prog)
                    .with_detail("cannot spawn into the cgroup (CLONE_INTO_CGROUP)"))
            }
            Err(e) => return Err(Error::new(Operation::Spawn, e).with_program(prog)),
        };
        let Some(step) = Step::from_u32(ctx.err_stage.load(Ordering::Acquire)) else {
            let [stdin, stdout, stderr] = plan.take_parents();
            let tree = match cgroup {
                Some(cg) => Tree::Cgroup(cg),
                None if setsid || pgroup == 0 => Tree::Group,
                None => Tree::Single,
            };
            super::subreaper::spawned(pid, matches!(tree, Tree::Group));
            return Ok(Spawned {
                process: Process::new(pid, pidfd, tree, memory.memory),
                stdin,
                stdout,
                stderr,
            });
        };
        let errno = ctx.err_errno.load(Ordering::Relaxed);
        // The child has exited; reap it so it leaves no zombie.
        let target = match &pidfd {
            Some(fd) => Target::Pidfd(fd.as_raw_fd()),
            None => Target::Pid(pid),
        };
        let _ = waitid(target, true);
        if step == Step::Exec && errno == libc::ETXTBSY && attempt < 8 {
            attempt += 1;
            std::thread::sleep(delay);
            delay *= 2;
            continue;
        }
        return Err(spawn_error(spec, strings.size, step, errno));
    }
}

/// The operation to blame for `e`: running out of descriptors, memory or
/// processes is the spawn's failure, whatever step met it (an EMFILE is not
/// "cannot contain"); anything else is `otherwise`'s.
fn by_cause(e: &io::Error, otherwise: Operation) -> Operation {
    match e.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EAGAIN) => Operation::Spawn,
        _ => otherwise,
    }
}

/// The fork+exec path (a command with `pre_exec` closures): the child gets
/// its own copy of memory, runs the same steps plus the closures, and reports
/// a failure through a pipe (closed on exec) instead of shared memory.
fn fork_child(
    mut ctx: ChildCtx<'_>,
    want_pidfd: bool,
) -> io::Result<(libc::pid_t, Option<OwnedFd>, ChildCtx<'_>)> {
    use crate::sys::unix::fd::{dup_above, pipe};
    use std::os::fd::{AsFd, FromRawFd};
    let (rd, first_wr) = pipe()?;
    // Above every descriptor the child arranges, so no move clobbers it.
    let wr = dup_above(first_wr.as_fd(), ctx.req.close_from)?;
    drop(first_wr);
    ctx.err_pipe = wr.as_raw_fd();
    ctx.reset_handlers = true;
    let arg = &mut ctx as *mut ChildCtx<'_> as *mut c_void;
    // SAFETY: the child runs child_main on its copy of the context, which makes
    // only async-signal-safe calls and never returns.
    let pid = unsafe { crate::sys::unix::sigmask::fork_all_blocked(|| child_main(arg)) }?;
    drop(wr);
    let (report, got) = crate::sys::unix::spawn_error::read_report(rd.as_fd())
        .map_err(crate::sys::unix::fd::errno_to_io)?;
    if got == report.len() {
        let (stage, errno) = crate::sys::unix::spawn_error::decode_report(&report);
        ctx.err_errno.store(errno, Ordering::Relaxed);
        ctx.err_stage.store(stage, Ordering::Release);
    }
    // Our unreaped child: its pid cannot be reused before we wait for it.
    // SAFETY: pidfd_open on our own child's pid; the result is checked.
    let pidfd = if want_pidfd {
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        // SAFETY: a fresh descriptor the kernel returned, now ours.
        (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
    } else {
        None
    };
    Ok((pid, pidfd, ctx))
}
/// A clone request, its context and the clone's outcome, handed between the
/// spawning thread and the spawner thread.
struct AssertSend<T>(T);

// SAFETY: what crosses threads is the child's context, whose raw pointers point
// into data owned by `spawn`'s frame, and the context given back. `spawn` waits
// for the spawner thread to finish the clone before it goes on (spawner::run
// blocks), so the data is used by one thread at a time and outlives the use.
unsafe impl<T> Send for AssertSend<T> {}

/// Runs the clone (`clone3`, or the legacy `clone()` with every signal blocked,
/// whose child resets handlers by hand) and returns the pid, the pidfd and the
/// child's report.
fn clone_child<'a>(
    req: &mut CloneRequest,
    mut ctx: ChildCtx<'a>,
) -> io::Result<(libc::pid_t, Option<OwnedFd>, ChildCtx<'a>)> {
    if !req.legacy {
        let arg = &mut ctx as *mut ChildCtx<'_> as *mut c_void;
        // SAFETY: child_main never returns and only makes async-signal-safe calls on
        // the prepared context, which outlives the clone (the parent is suspended
        // until the child execs or exits).
        match unsafe { clone_vfork(req, child_main, arg) } {
            Ok((pid, fd)) => return Ok((pid, fd, ctx)),
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) && req.cgroup.is_none() => {
                req.legacy = true;
            }
            Err(e) => return Err(e),
        }
    }
    ctx.reset_handlers = true;
    let arg = &mut ctx as *mut ChildCtx<'_> as *mut c_void;
    // Every signal is blocked in this thread across the clone, so no handler of
    // ours runs in the child before it resets them.
    let res = crate::sys::unix::sigmask::with_all_blocked(|| {
        // SAFETY: as above.
        unsafe { clone_vfork(req, child_main, arg) }
    });
    res.map(|(pid, fd)| (pid, fd, ctx))
}
