//! Waiting on what a backend's `tree_events` returns: a descriptor that polls
//! POLLPRI when the tree changes (a cgroup's `cgroup.events`).

use std::os::fd::OwnedFd;
use std::time::Duration;

/// A descriptor that signals changes of a whole tree (`cgroup.events`).
pub(crate) type TreeEvents = OwnedFd;

/// Sleeps until `events` reports a change or `wait` passes. Errors are
/// ignored: the caller checks the tree again either way.
pub(crate) fn wait_tree_event(events: &TreeEvents, wait: Duration) {
    // cgroup.events signals POLLPRI when `populated` changes.
    let mut fds = [rustix::event::PollFd::new(
        events,
        rustix::event::PollFlags::PRI,
    )];
    let ts = rustix::event::Timespec {
        tv_sec: wait.as_secs() as i64,
        tv_nsec: wait.subsec_nanos() as _,
    };
    let _ = rustix::event::poll(&mut fds, Some(&ts));
}

/// Sends `sig` to every process of group `pgid`; a group that no longer
/// exists is not an error (everything in it has exited).
pub(crate) fn signal_group(pgid: u32, sig: i32) -> std::io::Result<()> {
    let (Some(pid), Some(sig)) = (
        rustix::process::Pid::from_raw(pgid as i32),
        rustix::process::Signal::from_named_raw(sig),
    ) else {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    };
    match rustix::process::kill_process_group(pid, sig) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(e) => Err(super::fd::errno_to_io(e)),
    }
}
