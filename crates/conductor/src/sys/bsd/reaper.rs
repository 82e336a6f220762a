//! The background reaper: children whose `Child` was dropped while they ran are
//! reaped here when they exit, so none is left a zombie.
//!
//! One thread per process, started on first use, waits in one kqueue holding a
//! one-shot `EVFILT_PROC`/`NOTE_EXIT` event per orphan: O(1) per exit, no scan
//! of all children, and no SIGCHLD handler (other code's children are never
//! touched: each reap is `wait4` on an orphan's own pid).
//!
//! The kernel may report an exit (or refuse to watch a process with ESRCH)
//! a moment before the child becomes reapable. Such children wait in a short
//! list that is retried every millisecond until they are reaped; a one-shot
//! kqueue timer wakes the thread when the list gains an entry.

use super::wait::{new_kqueue, take_exits, wait4, watch_exit};
use rustix::event::kqueue::{self, Event, EventFilter, EventFlags};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

struct Reaper {
    kq: OwnedFd,
    /// Orphans reported exited (or already gone) that were not reapable yet.
    pending: Mutex<Vec<libc::pid_t>>,
}

/// Identifies the wake-up timer among the kqueue's events.
const WAKE_TIMER: isize = 1;
const RETRY: Duration = Duration::from_millis(1);

fn reaper() -> Option<&'static Reaper> {
    static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();
    let init = || {
        Some(Reaper {
            kq: new_kqueue().ok()?,
            pending: Mutex::new(Vec::new()),
        })
    };
    crate::sys::unix::reaper_thread::start(&REAPER, init, run)
}

/// Reaps child `pid` once it exits.
pub(crate) fn adopt(pid: libc::pid_t) {
    let Some(r) = reaper() else {
        tracing::warn!("conductor: no reaper thread; a dropped child may stay a zombie");
        return;
    };
    match watch_exit(r.kq.as_fd(), pid) {
        Ok(true) => {}
        // Already exiting: retry until it is reapable.
        Ok(false) => defer(r, pid),
        Err(e) => {
            tracing::warn!("conductor: cannot watch dropped child {pid} ({e}); polling it");
            defer(r, pid);
        }
    }
}

/// Queues `pid` for the retry list and makes sure the thread wakes for it.
fn defer(r: &Reaper, pid: libc::pid_t) {
    r.pending
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(pid);
    let timer = Event::new(
        EventFilter::Timer {
            ident: WAKE_TIMER,
            timer: Some(RETRY),
        },
        EventFlags::ADD | EventFlags::ONESHOT,
        std::ptr::null_mut(),
    );
    let mut none: [std::mem::MaybeUninit<Event>; 0] = [];
    // SAFETY: a timer event refers to no descriptor; the event list is empty.
    if let Err(e) = unsafe { kqueue::kevent(r.kq.as_fd(), &[timer], &mut none[..], None) } {
        tracing::warn!("conductor: cannot wake the reaper ({e}); a dropped child may linger");
    }
}

/// Reaps what can be reaped among the deferred orphans; true if some remain.
fn sweep(r: &Reaper) -> bool {
    let mut pending = r.pending.lock().unwrap_or_else(|e| e.into_inner());
    // Keep only children still running (not yet reapable); reaped ones and ones
    // that are no longer ours (ECHILD) leave the list.
    pending.retain(|&pid| matches!(wait4(pid, false), Ok(None)));
    !pending.is_empty()
}

fn run() {
    // The thread starts inside `get_or_init`; this call waits until it is published.
    let Some(r) = reaper() else { return };
    let mut buf = Vec::with_capacity(64);
    let mut retrying = false;
    loop {
        let timeout = retrying.then_some(RETRY);
        let exits = match take_exits(r.kq.as_fd(), &mut buf, timeout) {
            Ok(exits) => exits,
            Err(e) => {
                tracing::warn!("conductor: reaper kevent failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        for exit in exits {
            if let Ok(None) = wait4(exit.pid, false) {
                // Reported before it became reapable.
                r.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(exit.pid);
            }
        }
        retrying = sweep(r);
    }
}
