//! Spawning on Linux: prepare everything in the parent (C strings, pipes, the
//! descriptor plan), clone with a vfork-class primitive, and turn a failure the
//! child reported into an [`Error`] naming the program and the step.

use super::cgroup::Cgroup;
use super::child::{child_main, ChildCtx, Rlimit, Stage};
use super::clone::{clone_vfork, CloneRequest};
use super::process::{Process, Tree};
use super::wait::{waitid, Target};
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::stdio::StdioKind;
use crate::sys::unix::fd::{dev_null, dup_above, grow_pipe, pipe, set_nonblocking};
use crate::sys::unix::prep::ExecStrings;
use crate::sys::{SpawnOptions, Spawned, StdioDefault};
use crate::tree::Containment;
use std::ffi::c_void;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU8, Ordering};
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

/// The child's side of one standard stream, and the parent's end of a pipe.
struct StreamPlan {
    /// Descriptor to install as 0/1/2 in the child (None: inherit).
    child: Option<RawFd>,
    /// Keeps a pipe's child end (or a moved copy) open until the spawn is done.
    _keep: Option<OwnedFd>,
    parent: Option<OwnedFd>,
}

fn plan_stream(
    cfg: Option<&StdioKind>,
    default: StdioDefault,
    index: usize,
    opts: &SpawnOptions,
) -> io::Result<StreamPlan> {
    let piped = |opts: &SpawnOptions| -> io::Result<StreamPlan> {
        let (rd, wr) = pipe()?;
        let (child, parent) = if index == 0 { (rd, wr) } else { (wr, rd) };
        if opts.nonblocking {
            set_nonblocking(parent.as_fd(), true)?;
        }
        if opts.grow_pipes && index != 0 {
            grow_pipe(parent.as_fd(), 1 << 20);
        }
        Ok(StreamPlan {
            child: Some(child.as_raw_fd()),
            _keep: Some(child),
            parent: Some(parent),
        })
    };
    let null = || -> io::Result<StreamPlan> {
        Ok(StreamPlan {
            child: Some(dev_null()?.as_raw_fd()),
            _keep: None,
            parent: None,
        })
    };
    let inherit = StreamPlan {
        child: None,
        _keep: None,
        parent: None,
    };
    match cfg {
        Some(StdioKind::Inherit) => Ok(inherit),
        Some(StdioKind::Null) => null(),
        Some(StdioKind::Piped) => piped(opts),
        Some(StdioKind::Owned(fd)) => Ok(StreamPlan {
            child: Some(fd.as_raw_fd()),
            _keep: None,
            parent: None,
        }),
        None => match default {
            StdioDefault::Inherit => Ok(inherit),
            StdioDefault::Null => null(),
            StdioDefault::Piped => piped(opts),
        },
    }
}

/// Spawns the command. On success the child has already called `execve`.
pub(crate) fn spawn(spec: &CommandSpec, opts: &SpawnOptions) -> Result<Spawned> {
    let prog = &spec.program;
    let strings = ExecStrings::new(spec)?;
    let stdio_err = |e: io::Error| Error::new(Operation::Stdio, e).with_program(prog);

    let cfgs = [&spec.stdin, &spec.stdout, &spec.stderr];
    let mut plans = Vec::with_capacity(3);
    for (i, cfg) in cfgs.iter().enumerate() {
        plans.push(
            plan_stream(cfg.as_ref().map(|s| &s.0), opts.defaults[i], i, opts)
                .map_err(stdio_err)?,
        );
    }

    // Descriptor moves: (source, target). Sources are first copied above every
    // target so that no dup2 can clobber a source still to be used.
    let mut moves: Vec<(RawFd, RawFd)> = Vec::with_capacity(3 + spec.unix.fds.len());
    for (i, p) in plans.iter().enumerate() {
        if let Some(src) = p.child {
            moves.push((src, i as RawFd));
        }
    }
    for (target, fd) in &spec.unix.fds {
        if *target < 3 {
            return Err(Error::invalid_input(
                prog,
                format!("inherit_fd target {target} is a standard stream; use stdin/stdout/stderr"),
            ));
        }
        moves.push((fd.as_raw_fd(), *target));
    }
    let max_target = moves.iter().map(|m| m.1).max().unwrap_or(2).max(2);
    let mut temps: Vec<OwnedFd> = Vec::new();
    for m in &mut moves {
        if m.0 <= max_target {
            // SAFETY-free: borrow the source only for the duration of the dup.
            let src = unsafe_borrow(m.0);
            let copy = dup_above(src, max_target + 1)
                .map_err(|e| Error::new(Operation::FileDescriptors, e).with_program(prog))?;
            m.0 = copy.as_raw_fd();
            temps.push(copy);
        }
    }
    let mut gaps: Vec<(u32, u32)> = Vec::new();
    let mut start = 3u32;
    let mut targets: Vec<u32> = moves
        .iter()
        .map(|m| m.1 as u32)
        .filter(|&t| t >= 3)
        .collect();
    targets.sort_unstable();
    for t in targets {
        if t > start {
            gaps.push((start, t - 1));
        }
        start = t + 1;
    }

    let mut rlimits: Vec<Rlimit> = Vec::with_capacity(spec.unix.rlimits.len());
    for &(res, soft, hard) in &spec.unix.rlimits {
        if soft > hard {
            return Err(Error::invalid_input(
                prog,
                format!(
                    "{}: soft limit {soft} is above hard limit {hard}",
                    res.name()
                ),
            ));
        }
        rlimits.push((res.raw(), soft, hard));
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
                Error::new(Operation::Containment, e).with_program(prog).with_detail(
                    "cgroup containment needs a writable cgroup2 mount; use Containment::BestAvailable to fall back to a process group",
                )
            })?)
        }
        Containment::BestAvailable => match Cgroup::create() {
            Ok(cg) => cgroup = Some(cg),
            Err(_) => pgroup = 0,
        },
    }
    let groups = spec.unix.groups.as_deref();
    let cwd_ptr = strings
        .cwd
        .as_ref()
        .map_or(std::ptr::null(), |c| c.as_ptr());

    let use_pidfd = !fallback_forced() && NO_PIDFD.load(Ordering::Relaxed) == 0;
    let mut delay = Duration::from_millis(1);
    let mut attempt = 0;
    loop {
        let mut req = CloneRequest {
            pidfd: use_pidfd,
            cgroup: cgroup.as_ref().map(|c| c.dir_fd()),
            legacy: fallback_forced(),
        };
        let ctx = ChildCtx {
            argv: strings.argv(),
            envp: strings.envp(),
            candidates: strings.candidates(),
            cwd: cwd_ptr,
            moves: &moves,
            gaps: &gaps,
            close_from: (max_target + 1) as u32,
            setsid,
            pgroup,
            uid: spec.unix.uid,
            gid: spec.unix.gid,
            groups,
            umask: spec.unix.umask,
            rlimits: &rlimits,
            pdeathsig: spec.unix.pdeathsig.unwrap_or(0),
            // SAFETY: getpid has no preconditions.
            parent_pid: unsafe { libc::getpid() },
            reset_handlers: false,
            err_stage: AtomicU32::new(0),
            err_errno: AtomicI32::new(0),
        };
        let result = clone_child(&mut req, ctx);
        let (pid, pidfd, ctx) = match result {
            Ok(v) => v,
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && req.pidfd => {
                // A kernel without CLONE_PIDFD: use the SIGCHLD fallback from now on.
                NO_PIDFD.store(1, Ordering::Relaxed);
                return spawn(spec, opts);
            }
            Err(e) if req.cgroup.is_some() => {
                return Err(Error::new(Operation::Containment, e)
                    .with_program(prog)
                    .with_detail("cannot spawn into the cgroup (CLONE_INTO_CGROUP)"))
            }
            Err(e) => return Err(Error::new(Operation::Spawn, e).with_program(prog)),
        };
        let stage = Stage::from_u32(ctx.err_stage.load(Ordering::Acquire));
        if stage == Stage::None {
            drop(temps);
            let mut plans = plans.into_iter().map(|p| p.parent);
            let tree = match cgroup {
                Some(cg) => Tree::Cgroup(cg),
                None if setsid || pgroup == 0 => Tree::Group,
                None => Tree::Single,
            };
            super::subreaper::spawned(pid, matches!(tree, Tree::Group));
            return Ok(Spawned {
                process: Process::new(pid, pidfd, tree),
                stdin: plans.next().flatten(),
                stdout: plans.next().flatten(),
                stderr: plans.next().flatten(),
            });
        }
        let errno = ctx.err_errno.load(Ordering::Relaxed);
        // The child has exited; reap it so it leaves no zombie.
        let target = match &pidfd {
            Some(fd) => Target::Pidfd(fd.as_raw_fd()),
            None => Target::Pid(pid),
        };
        let _ = waitid(target, true);
        if stage == Stage::Exec && errno == libc::ETXTBSY && attempt < 8 {
            attempt += 1;
            std::thread::sleep(delay);
            delay *= 2;
            continue;
        }
        return Err(child_error(spec, &strings, stage, errno));
    }
}

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
    // SAFETY: as above; every signal is blocked in this thread across the clone so
    // no handler of ours runs in the child, and the old mask is restored right after.
    let res = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let r = clone_vfork(req, child_main, arg);
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    };
    res.map(|(pid, fd)| (pid, fd, ctx))
}

fn unsafe_borrow(fd: RawFd) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: callers pass descriptors owned by the spec or the plans, which
    // outlive every use of the borrow inside `spawn`.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

/// Turns the child's report into an error naming the program and the step.
fn child_error(spec: &CommandSpec, strings: &ExecStrings, stage: Stage, errno: i32) -> Error {
    let io = io::Error::from_raw_os_error(errno);
    let prog = &spec.program;
    let (op, detail) = match stage {
        Stage::Exec => (
            Operation::Exec,
            match errno {
                libc::ENOENT => Some("program not found".to_string()),
                libc::EACCES => Some("permission denied".to_string()),
                libc::ENOEXEC => Some("not an executable format".to_string()),
                libc::E2BIG => Some(format!(
                    "arguments and environment ({} bytes) are too large for exec",
                    strings.size
                )),
                _ => None,
            },
        ),
        Stage::Chdir => (
            Operation::ChangeDirectory,
            spec.cwd
                .as_ref()
                .map(|d| format!("working directory {}", d.display())),
        ),
        Stage::Fds => (Operation::FileDescriptors, None),
        Stage::Rlimit => (Operation::ResourceLimits, None),
        Stage::Signals | Stage::Pdeathsig => (Operation::Spawn, None),
        Stage::Session | Stage::Groups | Stage::Gid | Stage::Uid | Stage::None => (
            Operation::Credentials,
            Some(format!("{stage:?}").to_lowercase()).map(|s| format!("setting {s} failed")),
        ),
    };
    let mut err = Error::new(op, io).with_program(prog);
    if let Some(d) = detail {
        err = err.with_detail(d);
    }
    err
}
