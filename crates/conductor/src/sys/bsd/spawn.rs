//! Spawning on macOS and the BSDs: `posix_spawn` whenever it can express the
//! command, fork+exec ([`super::fork`]) only for what it cannot.
//!
//! The `posix_spawn` path:
//! - signals: `POSIX_SPAWN_SETSIGMASK` with an empty mask, and
//!   `POSIX_SPAWN_SETSIGDEF` for SIGPIPE and SIGXFSZ (the Linux backend's
//!   semantics: caught signals are reset by exec anyway, other ignored signals
//!   stay ignored);
//! - `POSIX_SPAWN_SETPGROUP` for a process group, `POSIX_SPAWN_SETSID` where
//!   the system has it (macOS 10.15+);
//! - file actions: `dup2` for stdio and `inherit_fd`, a chdir action for the
//!   working directory where the system has one;
//! - no descriptor leaks: on macOS `POSIX_SPAWN_CLOEXEC_DEFAULT` (plus
//!   `addinherit_np` for inherited stdio) keeps exactly what the actions name;
//!   elsewhere a closefrom action (FreeBSD 13.1+) closes everything above the
//!   targets, and descriptors between the targets that lack close-on-exec are
//!   closed one by one. Where the system has no closefrom action (NetBSD,
//!   OpenBSD, DragonFly, FreeBSD < 13.1), a descriptor above the targets that
//!   some other code opened *without* close-on-exec does reach the child: the
//!   one known gap (Rust opens every descriptor close-on-exec). On NetBSD the
//!   parent closes those too, found with `F_MAXFD`.
//!
//! Exec errors come back from `posix_spawn` itself and become the same
//! [`Error`] values as on Linux.

use super::fork::{fork_exec, Forked};
use super::process::Process;
use super::sym::{caps, Caps};
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::sys::unix::exec_request::{self, ExecRequest};
use crate::sys::unix::plan::FdPlan;
use crate::sys::unix::prep::ExecStrings;
use crate::sys::unix::spawn_error::{
    is_missing, rlimits, spawn_error, unsupported, ExecSearch, Step,
};
use crate::sys::{SpawnOptions, Spawned};
use crate::tree::Containment;
use std::ffi::{c_int, CStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::time::Duration;

#[cfg(target_vendor = "apple")]
extern "C" {
    /// macOS 10.7+: keep `fd` open in the child under POSIX_SPAWN_CLOEXEC_DEFAULT
    /// (not declared by the libc crate).
    fn posix_spawn_file_actions_addinherit_np(
        actions: *mut libc::posix_spawn_file_actions_t,
        fd: c_int,
    ) -> c_int;
}

/// The session and process group the child gets: the builder's own
/// `setsid`/`process_group`, or what its containment asks for.
struct Grouping {
    setsid: bool,
    pgroup: Option<libc::pid_t>,
}

fn grouping(spec: &CommandSpec) -> Grouping {
    let mut g = Grouping {
        setsid: spec.unix.setsid,
        pgroup: spec.unix.process_group,
    };
    match spec.containment {
        Containment::ProcessGroup | Containment::BestAvailable => g.pgroup = Some(0),
        Containment::Session => g.setsid = true,
        // Refused in `spawn`; cgroups are Linux-only.
        Containment::Cgroup | Containment::None => {}
    }
    if spec.unix.ctty.is_some() {
        // A pseudo-terminal: a new session, which is also a new group.
        g.setsid = true;
        if g.pgroup == Some(0) {
            g.pgroup = None;
        }
    }
    g
}

/// Why this command cannot go through `posix_spawn` here, if it cannot.
fn fork_reason(spec: &CommandSpec, caps: &Caps) -> Option<&'static str> {
    let u = &spec.unix;
    let g = grouping(spec);
    if u.pre_exec.0.lock().map_or(true, |h| !h.is_empty()) {
        return Some("pre_exec closures run in a forked child");
    }
    if u.ctty.is_some() {
        return Some("posix_spawn cannot set a controlling terminal (TIOCSCTTY)");
    }
    if !u.rlimits.is_empty() {
        return Some("posix_spawn cannot set resource limits");
    }
    if u.uid.is_some() || u.gid.is_some() || u.groups.is_some() {
        // macOS's set_uid_np/set_gid_np/set_groups_np are private API; the BSDs
        // have nothing at all (POSIX_SPAWN_RESETIDS only resets to the real ids).
        return Some("posix_spawn cannot set the user, group or supplementary groups");
    }
    if u.umask.is_some() {
        // Setting it in the parent around the spawn would race with other threads.
        return Some("posix_spawn cannot set the file-creation mask");
    }
    if g.setsid && caps.setsid_flag.is_none() {
        return Some("this system's posix_spawn has no POSIX_SPAWN_SETSID");
    }
    if g.setsid && g.pgroup.is_some() {
        // Linux applies setsid, then setpgid; posix_spawn leaves the order open.
        return Some("setsid together with a process group must be applied in order");
    }
    if spec.cwd.is_some() && caps.addchdir.is_none() {
        return Some("this system's posix_spawn has no chdir file action");
    }
    None
}

/// `CommandExt::exec` on macOS and the BSDs: the fork path's set-up, done
/// in this process, then `execve`. Returns only on failure.
pub(crate) fn exec(spec: &CommandSpec) -> Error {
    match exec_inner(spec) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn exec_inner(spec: &CommandSpec) -> Result<std::convert::Infallible> {
    if spec.containment == Containment::Cgroup {
        return Err(crate::sys::unix::spawn_error::unsupported(
            spec,
            "cgroup containment",
        ));
    }
    let strings = ExecStrings::new(spec)?;
    let plan = FdPlan::for_exec(spec)?;
    let (step, errno) = with_request(spec, &strings, &plan, |req| {
        let mut no_pipe = -1;
        // SAFETY: the request's pointers are valid for the call; running the
        // steps here changes this process before execve, which is what exec()
        // is for (documented).
        unsafe { super::fork::steps(req, &mut no_pipe) }
    })?;
    Err(spawn_error(spec, strings.size, step, errno))
}

/// Calls `f` with the request for `spec`: its grouping, resource limits and
/// `pre_exec` closures (locked for the call).
fn with_request<R>(
    spec: &CommandSpec,
    strings: &ExecStrings,
    plan: &FdPlan,
    f: impl FnOnce(&ExecRequest<'_>) -> R,
) -> Result<R> {
    let u = &spec.unix;
    let g = grouping(spec);
    let rlimits = rlimits(spec)?;
    let mut hooks = exec_request::lock_hooks(spec);
    let req = ExecRequest::new(
        spec,
        strings,
        plan,
        &rlimits,
        exec_request::Grouping {
            setsid: g.setsid,
            pgroup: g.pgroup.unwrap_or(-1),
            ctty: u.ctty.unwrap_or(-1),
        },
        if hooks.is_empty() {
            std::ptr::null_mut()
        } else {
            &mut *hooks
        },
    );
    Ok(f(&req))
}

/// Spawns the command. On success the child has already called `execve`.
pub(crate) fn spawn(spec: &CommandSpec, opts: &SpawnOptions) -> Result<Spawned> {
    if spec.containment == Containment::Cgroup {
        return Err(unsupported(
            spec,
            "cgroup containment (Linux only; use BestAvailable for a process group)",
        )
        .with_reason(crate::Reason::CgroupUnavailable));
    }
    let strings = ExecStrings::new(spec)?;
    let mut plan = FdPlan::new(spec, opts)?;
    let caps = caps();
    let pid = match fork_reason(spec, caps) {
        None => spawn_posix(spec, &strings, &plan, caps)?,
        Some(reason) => {
            tracing::trace!(reason, "conductor: spawning with fork+exec");
            spawn_fork(spec, &strings, &plan)?
        }
    };
    let [stdin, stdout, stderr] = plan.take_parents();
    let g = grouping(spec);
    Ok(Spawned {
        process: Process::new(pid, g.setsid || g.pgroup == Some(0)),
        stdin,
        stdout,
        stderr,
    })
}

/// Retries an exec that failed with ETXTBSY (a writer closing the file as we
/// exec it, typically in a build that just wrote the program) a few times.
fn retry_busy<T>(
    mut attempt_spawn: impl FnMut() -> Result<T, (Step, i32)>,
) -> Result<T, (Step, i32)> {
    let mut delay = Duration::from_millis(1);
    let mut attempt = 0;
    loop {
        match attempt_spawn() {
            Err((Step::Exec, libc::ETXTBSY)) if attempt < 8 => {
                attempt += 1;
                std::thread::sleep(delay);
                delay *= 2;
            }
            r => return r,
        }
    }
}

fn spawn_fork(spec: &CommandSpec, strings: &ExecStrings, plan: &FdPlan) -> Result<libc::pid_t> {
    with_request(spec, strings, plan, |req| fork_with(spec, strings, req))?
}

/// Forks and execs `req` (retrying a busy executable), blaming a failure on
/// its step.
fn fork_with(spec: &CommandSpec, strings: &ExecStrings, req: &ExecRequest<'_>) -> Result<libc::pid_t> {
    let mut os_err = None;
    let res = retry_busy(|| match fork_exec(req) {
        Ok(Forked::Running(pid)) => Ok(pid),
        Ok(Forked::Failed(step, errno)) => Err((step, errno)),
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            os_err = Some(e);
            Err((Step::Spawn, errno))
        }
    });
    res.map_err(|(step, errno)| match os_err.take() {
        Some(e) => Error::new(Operation::Spawn, e).with_program(&spec.program),
        None => spawn_error(spec, strings.size, step, errno),
    })
}

/// Turns a nonzero `posix_spawn*` return value (an errno) into an error.
fn check(ret: c_int) -> io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(ret))
    }
}

/// Declares a wrapper owning an initialised `posix_spawn*` object, destroyed on
/// drop. Boxed so the object never moves after its init call.
macro_rules! spawn_object {
    ($(#[$doc:meta])* $name:ident($ty:ty), $init:ident, $destroy:ident) => {
        $(#[$doc])*
        struct $name(Box<MaybeUninit<$ty>>);

        impl $name {
            fn new() -> io::Result<$name> {
                let mut a = Box::new(MaybeUninit::uninit());
                // SAFETY: init writes a valid object into the box.
                check(unsafe { libc::$init(a.as_mut_ptr()) })?;
                Ok($name(a))
            }
            fn ptr(&mut self) -> *mut $ty {
                self.0.as_mut_ptr()
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                // SAFETY: initialised in `new`, destroyed exactly once.
                unsafe { libc::$destroy(self.ptr()) };
            }
        }
    };
}

spawn_object!(
    /// An initialised `posix_spawnattr_t`, destroyed on drop.
    Attr(libc::posix_spawnattr_t),
    posix_spawnattr_init,
    posix_spawnattr_destroy
);
spawn_object!(
    /// An initialised `posix_spawn_file_actions_t` (an empty action list),
    /// destroyed on drop.
    Actions(libc::posix_spawn_file_actions_t),
    posix_spawn_file_actions_init,
    posix_spawn_file_actions_destroy
);

/// Is `fd` open in this process, and (second) is it close-on-exec?
fn fd_state(fd: RawFd) -> Option<bool> {
    // SAFETY: F_GETFD only queries the descriptor table.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    (flags >= 0).then_some(flags & libc::FD_CLOEXEC != 0)
}

fn build_attr(spec: &CommandSpec, caps: &Caps) -> io::Result<Attr> {
    let mut attr = Attr::new()?;
    let mut flags = libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK;
    #[cfg(target_vendor = "apple")]
    {
        flags |= libc::POSIX_SPAWN_CLOEXEC_DEFAULT;
    }
    // SAFETY: sigset operations on local sets, then setters on the initialised
    // attribute object, which copies them.
    unsafe {
        let mut dfl: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut dfl);
        libc::sigaddset(&mut dfl, libc::SIGPIPE);
        libc::sigaddset(&mut dfl, libc::SIGXFSZ);
        check(libc::posix_spawnattr_setsigdefault(attr.ptr(), &dfl))?;
        let mask = crate::sys::unix::sigmask::child_sigmask(spec.unix.empty_signal_mask);
        check(libc::posix_spawnattr_setsigmask(attr.ptr(), &mask))?;
        let g = grouping(spec);
        if let Some(pg) = g.pgroup {
            flags |= libc::POSIX_SPAWN_SETPGROUP;
            check(libc::posix_spawnattr_setpgroup(attr.ptr(), pg))?;
        }
        if g.setsid {
            // `fork_reason` sends setsid to the fork path when the flag is missing.
            flags |= c_int::from(caps.setsid_flag.unwrap_or(0));
        }
        check(libc::posix_spawnattr_setflags(
            attr.ptr(),
            flags as libc::c_short,
        ))?;
    }
    Ok(attr)
}

fn build_actions(strings: &ExecStrings, plan: &FdPlan, caps: &Caps) -> io::Result<Actions> {
    let mut actions = Actions::new()?;
    let a = actions.ptr();
    // SAFETY: each call appends to the initialised action list; the paths are
    // NUL-terminated strings that the list copies.
    unsafe {
        if let Some(cwd) = &strings.cwd {
            // `fork_reason` sends a working directory to the fork path when
            // the action is missing.
            if let Some(addchdir) = caps.addchdir {
                check(addchdir(a, cwd.as_ptr()))?;
            }
        }
        for &(src, dst) in &plan.moves {
            check(libc::posix_spawn_file_actions_adddup2(a, src, dst))?;
        }
        close_the_rest(a, plan, caps)?;
    }
    Ok(actions)
}

/// macOS: only what the actions name survives (POSIX_SPAWN_CLOEXEC_DEFAULT),
/// so inherited stdio is named explicitly.
///
/// # Safety
/// `a` is an initialised action list.
#[cfg(target_vendor = "apple")]
unsafe fn close_the_rest(
    a: *mut libc::posix_spawn_file_actions_t,
    plan: &FdPlan,
    _caps: &Caps,
) -> io::Result<()> {
    for fd in 0..3 {
        // A closed standard stream stays closed (inheriting it would fail).
        if plan.inherit[fd as usize] && fd_state(fd).is_some() {
            // SAFETY: appends to the caller's initialised list.
            check(unsafe { posix_spawn_file_actions_addinherit_np(a, fd) })?;
        }
    }
    Ok(())
}

/// The BSDs: close gap descriptors that would survive exec, then everything
/// above the targets (closefrom action where available; see the module docs).
///
/// # Safety
/// `a` is an initialised action list.
#[cfg(not(target_vendor = "apple"))]
unsafe fn close_the_rest(
    a: *mut libc::posix_spawn_file_actions_t,
    plan: &FdPlan,
    caps: &Caps,
) -> io::Result<()> {
    let close_if_leaky = |fd: RawFd| -> io::Result<()> {
        if fd_state(fd) == Some(false) {
            // SAFETY: appends to the caller's initialised list.
            check(unsafe { libc::posix_spawn_file_actions_addclose(a, fd) })?;
        }
        Ok(())
    };
    for &(first, last) in &plan.gaps {
        for fd in first..=last {
            close_if_leaky(fd)?;
        }
    }
    match caps.addclosefrom {
        // SAFETY: appends to the caller's initialised list.
        Some(addclosefrom) => check(unsafe { addclosefrom(a, plan.close_from) })?,
        None => {
            #[cfg(target_os = "netbsd")]
            {
                // SAFETY: F_MAXFD only queries the descriptor table.
                let max = unsafe { libc::fcntl(0, libc::F_MAXFD) };
                for fd in plan.close_from..=max {
                    close_if_leaky(fd)?;
                }
            }
        }
    }
    Ok(())
}

/// One `posix_spawn` of `path`; the errno on failure.
fn posix_spawn_once(
    path: &CStr,
    strings: &ExecStrings,
    actions: &Actions,
    attr: &Attr,
) -> Result<libc::pid_t, i32> {
    let mut pid: libc::pid_t = 0;
    // SAFETY: the action list and attributes are initialised; argv and envp are
    // NULL-terminated arrays of NUL-terminated strings that outlive the call
    // (posix_spawn does not modify them despite the `*mut` in its signature).
    let ret = unsafe {
        libc::posix_spawn(
            &mut pid,
            path.as_ptr(),
            actions.0.as_ptr(),
            attr.0.as_ptr(),
            strings.argv().cast(),
            strings.envp().cast(),
        )
    };
    if ret == 0 {
        Ok(pid)
    } else {
        Err(ret)
    }
}

fn spawn_posix(
    spec: &CommandSpec,
    strings: &ExecStrings,
    plan: &FdPlan,
    caps: &Caps,
) -> Result<libc::pid_t> {
    let prog = &spec.program;
    let attr =
        build_attr(spec, caps).map_err(|e| Error::new(Operation::Spawn, e).with_program(prog))?;
    let actions = build_actions(strings, plan, caps)
        .map_err(|e| Error::new(Operation::FileDescriptors, e).with_program(prog))?;
    let paths = strings.candidate_paths();
    let many = paths.len() > 1;
    // A PATH search: skip in the parent the directories that do not have the
    // program (what execve would say, without a process per miss). Relative
    // candidates depend on the child's working directory, so with one set they
    // are left to posix_spawn.
    let mut skipped = ExecSearch::new(paths.len());
    let mut todo: Vec<&CStr> = Vec::with_capacity(paths.len());
    for p in paths {
        let checkable = spec.cwd.is_none() || p.as_bytes().first() == Some(&b'/');
        if many && checkable {
            if let Err(e) = rustix::fs::accessat(
                rustix::fs::CWD,
                p.as_c_str(),
                rustix::fs::Access::EXISTS,
                rustix::fs::AtFlags::EACCESS,
            ) {
                let errno = e.raw_os_error();
                if errno == libc::EACCES || is_missing(errno) {
                    skipped.failed(errno);
                    continue;
                }
            }
        }
        todo.push(p.as_c_str());
    }

    let res = retry_busy(|| {
        let mut search = skipped;
        for &path in &todo {
            match posix_spawn_once(path, strings, &actions, &attr) {
                Ok(pid) => return Ok(pid),
                Err(e) => {
                    if !search.failed(e) {
                        break;
                    }
                }
            }
        }
        Err(attribute(spec, strings, search.error()))
    });
    res.map_err(|(step, errno)| spawn_error(spec, strings.size, step, errno))
}

/// Which step a failed `posix_spawn` most likely failed at, and its errno: the
/// call reports one errno for every step. A working directory that cannot be
/// entered (checked now, in the parent) explains the failure with its own errno.
fn attribute(spec: &CommandSpec, strings: &ExecStrings, errno: i32) -> (Step, i32) {
    if let Some(dir_errno) = cwd_error(strings) {
        return (Step::Chdir, dir_errno);
    }
    let step = match errno {
        libc::EBADF => Step::Fds,
        libc::EAGAIN | libc::ENOMEM => Step::Spawn,
        libc::EPERM | libc::ESRCH if grouping(spec).pgroup.is_some_and(|g| g != 0) => Step::Session,
        _ => Step::Exec,
    };
    (step, errno)
}

/// Why the working directory cannot be entered, checked in the parent after
/// a failed spawn (the chdir action's errno is indistinguishable from exec's).
fn cwd_error(strings: &ExecStrings) -> Option<i32> {
    use rustix::fs::{accessat, stat, Access, AtFlags, FileType, CWD};
    let cwd = strings.cwd.as_ref()?.as_c_str();
    match stat(cwd) {
        Err(e) => Some(e.raw_os_error()),
        Ok(st) if !FileType::from_raw_mode(st.st_mode as _).is_dir() => Some(libc::ENOTDIR),
        Ok(_) => accessat(CWD, cwd, Access::EXEC_OK, AtFlags::EACCESS)
            .err()
            .map(|e| e.raw_os_error()),
    }
}
