//! Opt-in child-subreaper mode: descendants orphaned inside trees conductor
//! contains are re-parented to this process, and reaped here when they exit.
//!
//! Only zombies that belong to such a tree (a process group led by a child
//! conductor spawned, or a cgroup conductor made) and that no `Child` handle
//! owns are reaped, so children of std, tokio or other code are left alone.

use super::wait::{waitid, Target};
use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static ON: AtomicBool = AtomicBool::new(false);
/// Pids of children conductor spawned while the mode is on (their handles reap them).
static DIRECT: Mutex<Option<HashSet<i32>>> = Mutex::new(None);
/// Process groups led by children conductor spawned (kept after the leader is reaped).
static GROUPS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

pub(crate) fn set_child_subreaper(on: bool) -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, on as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    ON.store(on, Ordering::Relaxed);
    if on {
        super::reaper::watch_sigchld(sweep);
    }
    Ok(())
}

/// Records a direct child, and whether it leads its own process group (only
/// while the mode is on: no cost otherwise).
pub(crate) fn spawned(pid: i32, leads_group: bool) {
    if ON.load(Ordering::Relaxed) {
        DIRECT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashSet::new)
            .insert(pid);
        if leads_group {
            GROUPS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(HashSet::new)
                .insert(pid);
        }
    }
}

/// Forgets a direct child once its handle reaped it.
pub(crate) fn reaped(pid: i32) {
    if ON.load(Ordering::Relaxed) {
        if let Some(set) = DIRECT.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            set.remove(&pid);
        }
    }
}

/// Reaps exited orphans of contained trees (run by the reaper on SIGCHLD).
fn sweep() {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let direct: HashSet<i32> = DIRECT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    let groups: HashSet<i32> = {
        let mut g = GROUPS.lock().unwrap_or_else(|e| e.into_inner());
        let set = g.get_or_insert_with(HashSet::new);
        // Forget groups that have no member left.
        // SAFETY: kill with signal 0 only checks for existence.
        set.retain(|&pgid| unsafe { libc::kill(-pgid, 0) } == 0);
        set.clone()
    };
    let marker = format!("/conductor-{}-", std::process::id());
    for pid in children() {
        if direct.contains(&pid) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut f = rest.split(' ');
        let (state, _ppid, pgrp) = (
            f.next(),
            f.next(),
            f.next().and_then(|p| p.parse::<i32>().ok()),
        );
        if state != Some("Z") {
            continue;
        }
        let in_group = pgrp.is_some_and(|g| groups.contains(&g));
        let in_cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .map(|c| c.contains(&marker))
            .unwrap_or(false);
        if in_group || in_cgroup {
            let _ = waitid(Target::Pid(pid), false);
        }
    }
}

/// This process's children, from /proc/self/task/*/children.
fn children() -> Vec<i32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    out
}
