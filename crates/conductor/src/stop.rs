//! Stopping and awaiting whole process trees, built on the backend's
//! primitives (`signal_tree`, `tree_alive`, `tree_events`, waits): the
//! graceful stop (SIGTERM, grace, SIGKILL; on Windows CTRL_BREAK_EVENT,
//! grace, `TerminateJobObject`) and "wait until every member is gone", in a
//! blocking and an async flavour.

use crate::status::ExitStatus;
use crate::sys::{self, Process};
use std::io;
use std::time::{Duration, Instant};

/// After SIGKILL the tree is normally gone at once; never wait longer than this.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Backoff between checks of a tree that has no exit notification (a process
/// group's members are not our children): 1 ms doubling to 20 ms.
fn next_step(step: Duration) -> Duration {
    (step * 2).min(Duration::from_millis(20))
}

/// Waits until the direct child and every member of its tree are gone, or
/// `deadline` passes. True when the tree is gone.
pub(crate) fn wait_tree_blocking(p: &mut Process, deadline: Option<Instant>) -> io::Result<bool> {
    let mut step = Duration::from_millis(1);
    let events = p.tree_events();
    loop {
        if !p.tree_alive()? {
            return Ok(true);
        }
        let left = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(false);
                }
                left
            }
            None => Duration::from_secs(3600),
        };
        if !p.exited() {
            // The direct child still runs: its exit is an event we can wait on.
            p.wait_timeout_blocking(left)?;
            continue;
        }
        match &events {
            Some(ev) => sys::wait_tree_event(ev, left.min(Duration::from_millis(100))),
            None => {
                std::thread::sleep(step.min(left));
                step = next_step(step);
            }
        }
    }
}

/// Asks the whole tree to stop: SIGTERM (and SIGCONT, for stopped members).
/// True when the request was delivered, so the grace is worth waiting.
#[cfg(unix)]
fn ask_tree_to_stop(p: &mut Process) -> io::Result<bool> {
    p.signal_tree(libc::SIGTERM)?;
    p.signal_tree(libc::SIGCONT)?;
    Ok(true)
}

/// Asks the whole tree to stop: CTRL_BREAK_EVENT to a child that leads its
/// own process group. False when nothing could be delivered (no process
/// group, no shared console): the tree is then killed at once.
#[cfg(windows)]
fn ask_tree_to_stop(p: &mut Process) -> io::Result<bool> {
    p.ask_tree_to_stop()
}

/// SIGTERM (and SIGCONT, for stopped members) to the tree, up to `grace` for it
/// to go, then SIGKILL; reaps the direct child and returns its status.
pub(crate) fn terminate_blocking(p: &mut Process, grace: Duration) -> io::Result<ExitStatus> {
    if !grace.is_zero()
        && ask_tree_to_stop(p)?
        && wait_tree_blocking(p, Some(Instant::now() + grace))?
    {
        return p.wait_blocking();
    }
    p.signal_tree(sys::SIGKILL)?;
    let status = p.wait_blocking()?;
    wait_tree_blocking(p, Some(Instant::now() + AFTER_KILL))?;
    Ok(status)
}

/// Async twin of [`wait_tree_blocking`].
pub(crate) async fn wait_tree(p: &mut Process, deadline: Option<Instant>) -> io::Result<bool> {
    let sleep_until = |d: Option<Instant>| async move {
        match d {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    {
        let exit = std::future::poll_fn(|cx| p.poll_wait(cx));
        tokio::select! {
            r = exit => { r?; }
            _ = sleep_until(deadline) => return Ok(false),
        }
    }
    let mut step = Duration::from_millis(1);
    loop {
        if !p.tree_alive()? {
            return Ok(true);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(false);
        }
        let mut wake = Instant::now() + step;
        if let Some(d) = deadline {
            wake = wake.min(d);
        }
        tokio::time::sleep_until(wake.into()).await;
        step = next_step(step);
    }
}

/// Async twin of [`terminate_blocking`].
pub(crate) async fn terminate(p: &mut Process, grace: Duration) -> io::Result<ExitStatus> {
    if !grace.is_zero()
        && ask_tree_to_stop(p)?
        && wait_tree(p, Some(Instant::now() + grace)).await?
    {
        return std::future::poll_fn(|cx| p.poll_wait(cx)).await;
    }
    p.signal_tree(sys::SIGKILL)?;
    let status = std::future::poll_fn(|cx| p.poll_wait(cx)).await?;
    wait_tree(p, Some(Instant::now() + AFTER_KILL)).await?;
    Ok(status)
}
