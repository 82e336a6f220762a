//! The background reaper: children whose `Child` was dropped while they ran are
//! reaped here when they exit, so none is left a zombie.
//!
//! One thread per process, started on first use, waits in `epoll` on the pidfds
//! of such orphans: O(1) per exit, no scan of all children. Orphans without a
//! pidfd (the SIGCHLD fallback) are checked when a SIGCHLD arrives.

use super::wait::{waitid, Target};
use rustix::event::epoll;
use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

struct Reaper {
    epoll: OwnedFd,
    pidfds: Mutex<HashMap<RawFd, OwnedFd>>,
    pids: Mutex<Vec<libc::pid_t>>,
    /// Cgroups to remove once empty: their `cgroup.events` (POLLPRI) and path.
    cgroups: Mutex<HashMap<RawFd, (OwnedFd, std::path::PathBuf)>>,
    /// Cgroups to remove once empty with no events file to wait on (v1, or
    /// none could be opened): retried at every sweep.
    dirs: Mutex<Vec<std::path::PathBuf>>,
    /// Read end of the SIGCHLD self-pipe, registered in `epoll` once a pid orphan exists.
    sigchld: OnceLock<Option<OwnedFd>>,
}

const SIGCHLD_TOKEN: u64 = u64::MAX;

impl Reaper {
    /// Adds `fd` to the epoll set for `flags`, its number as the event's
    /// token; false if it could not be added.
    fn watch(&self, fd: BorrowedFd<'_>, flags: epoll::EventFlags) -> bool {
        let token = epoll::EventData::new_u64(fd.as_raw_fd() as u64);
        epoll::add(&self.epoll, fd, token, flags).is_ok()
    }
}

fn reaper() -> Option<&'static Reaper> {
    static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();
    let init = || {
        Some(Reaper {
            epoll: epoll::create(epoll::CreateFlags::CLOEXEC).ok()?,
            pidfds: Mutex::new(HashMap::new()),
            pids: Mutex::new(Vec::new()),
            cgroups: Mutex::new(HashMap::new()),
            dirs: Mutex::new(Vec::new()),
            sigchld: OnceLock::new(),
        })
    };
    crate::sys::unix::reaper_thread::start(&REAPER, init, run)
}

/// Reaps the child behind `pidfd` once it exits.
pub(crate) fn adopt_pidfd(pidfd: OwnedFd) {
    let Some(r) = reaper() else {
        tracing::warn!("conductor: no reaper thread; a dropped child may stay a zombie");
        return;
    };
    let mut map = r.pidfds.lock().unwrap_or_else(|e| e.into_inner());
    if r.watch(pidfd.as_fd(), epoll::EventFlags::IN) {
        map.insert(pidfd.as_raw_fd(), pidfd);
    }
}

/// Removes the cgroup at `path` once its last process exits: when its
/// `cgroup.events` (v2) turns POLLPRI, or, without one, at a later sweep.
pub(crate) fn adopt_cgroup(events: Option<OwnedFd>, path: std::path::PathBuf) {
    let Some(r) = reaper() else { return };
    match events {
        Some(events) => {
            let mut map = r.cgroups.lock().unwrap_or_else(|e| e.into_inner());
            if r.watch(events.as_fd(), epoll::EventFlags::PRI) {
                map.insert(events.as_raw_fd(), (events, path));
            } else {
                drop(map);
                r.dirs.lock().unwrap_or_else(|e| e.into_inner()).push(path);
            }
        }
        None => r.dirs.lock().unwrap_or_else(|e| e.into_inner()).push(path),
    }
    sweep_cgroups(r);
}

fn sweep_cgroups(r: &Reaper) {
    let gone = |path: &std::path::Path| std::fs::remove_dir(path).is_ok() || !path.exists();
    let mut map = r.cgroups.lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, (_, path)| !gone(path));
    drop(map);
    let mut dirs = r.dirs.lock().unwrap_or_else(|e| e.into_inner());
    dirs.retain(|path| !gone(path));
}

/// What else runs on each SIGCHLD (the subreaper's sweep), set once.
static ON_SIGCHLD: OnceLock<fn()> = OnceLock::new();

/// Starts watching SIGCHLD and runs `hook` on each one, after the reaper's
/// own sweep (the subreaper registers its sweep here, so the reaper does not
/// know about it). A second hook is ignored: there is one subreaper.
pub(crate) fn watch_sigchld(hook: fn()) {
    let _ = ON_SIGCHLD.set(hook);
    if let Some(r) = reaper() {
        r.sigchld.get_or_init(|| install_sigchld(r));
    }
}

/// Reaps child `pid` (no pidfd) once it exits.
pub(crate) fn adopt_pid(pid: libc::pid_t) {
    let Some(r) = reaper() else { return };
    r.sigchld.get_or_init(|| install_sigchld(r));
    r.pids.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    sweep_pids(r);
}

/// Routes SIGCHLD into the reaper's epoll set through a self-pipe, chaining to
/// any handler already installed (signal-hook-registry keeps them all).
fn install_sigchld(r: &Reaper) -> Option<OwnedFd> {
    let (rd, wr) = crate::sys::unix::fd::pipe().ok()?;
    crate::sys::unix::fd::set_nonblocking(rd.as_fd(), true).ok()?;
    crate::sys::unix::fd::set_nonblocking(wr.as_fd(), true).ok()?;
    // The write end lives as long as the process: the handler may run at any time.
    let wraw = wr.into_raw_fd();
    // SAFETY: the handler only calls write(2), which is async-signal-safe, on a
    // descriptor that is never closed.
    unsafe {
        signal_hook_registry::register(libc::SIGCHLD, move || {
            libc::write(wraw, b"x".as_ptr().cast(), 1);
        })
    }
    .ok()?;
    epoll::add(
        &r.epoll,
        rd.as_fd(),
        epoll::EventData::new_u64(SIGCHLD_TOKEN),
        epoll::EventFlags::IN,
    )
    .ok()?;
    Some(rd)
}

fn sweep_pids(r: &Reaper) {
    let mut pids = r.pids.lock().unwrap_or_else(|e| e.into_inner());
    pids.retain(|&pid| matches!(waitid(Target::Pid(pid), false), Ok(None)));
}

fn run() {
    // The thread starts inside `get_or_init`; this call waits until it is published.
    let Some(r) = reaper() else { return };
    let mut events = Vec::with_capacity(64);
    loop {
        events.clear();
        if epoll::wait(&r.epoll, rustix::buffer::spare_capacity(&mut events), None).is_err() {
            continue;
        }
        for ev in &events {
            let token = ev.data.u64();
            if token == SIGCHLD_TOKEN {
                if let Some(Some(rd)) = r.sigchld.get() {
                    let mut buf = [0u8; 64];
                    while matches!(rustix::io::read(rd, &mut buf), Ok(n) if n > 0) {}
                }
                sweep_pids(r);
                if let Some(hook) = ON_SIGCHLD.get() {
                    hook();
                }
                continue;
            }
            let raw = token as RawFd;
            let flags = ev.flags;
            if flags.contains(epoll::EventFlags::PRI) {
                continue;
            }
            let mut map = r.pidfds.lock().unwrap_or_else(|e| e.into_inner());
            let done = match map.get(&raw) {
                Some(fd) => !matches!(waitid(Target::Pidfd(fd.as_raw_fd()), false), Ok(None)),
                None => false,
            };
            if done {
                // Closing the pidfd also removes it from the epoll set.
                map.remove(&raw);
            }
        }
        // Any wakeup may follow the last exit in an adopted cgroup.
        sweep_cgroups(r);
    }
}
