//! Stopping and awaiting whole process trees: the graceful stop (SIGTERM,
//! grace, SIGKILL; on Windows CTRL_BREAK_EVENT, grace, `TerminateJobObject`)
//! and "wait until every member is gone".
//!
//! The decisions live once, without I/O, in [`engine`] ([`TreeStop`],
//! [`TreeWait`]); the drivers here carry out its steps on the backend's
//! primitives (`signal_tree`, `tree_alive`, `tree_events`, waits), in a
//! blocking and an async flavour that differ only in how they wait.

mod engine;

use crate::status::ExitStatus;
use crate::sys::{self, Process};
use engine::{Stop, TreeStop, TreeWait, TreeWaitStep, EVENT_SLICE};
use std::io;
use std::time::{Duration, Instant};

/// Waits until the direct child and every member of its tree are gone, or
/// `deadline` passes. True when the tree is gone.
pub(crate) fn wait_tree_blocking(p: &mut Process, deadline: Option<Instant>) -> io::Result<bool> {
    let events = p.tree_events();
    let mut wait = TreeWait::new(deadline);
    loop {
        match wait.next(p.tree_alive()?, p.exited(), Instant::now()) {
            TreeWaitStep::Gone => return Ok(true),
            TreeWaitStep::TimedOut => return Ok(false),
            TreeWaitStep::WaitChild(left) => drop(p.wait_timeout_blocking(left)?),
            TreeWaitStep::Pause { backoff, left } => match &events {
                Some(ev) => sys::wait_tree_event(ev, left.min(EVENT_SLICE)),
                None => std::thread::sleep(backoff),
            },
        }
    }
}

/// Async twin of [`wait_tree_blocking`] (it polls: tree events are not
/// registered with the reactor).
pub(crate) async fn wait_tree(p: &mut Process, deadline: Option<Instant>) -> io::Result<bool> {
    let mut wait = TreeWait::new(deadline);
    loop {
        match wait.next(p.tree_alive()?, p.exited(), Instant::now()) {
            TreeWaitStep::Gone => return Ok(true),
            TreeWaitStep::TimedOut => return Ok(false),
            TreeWaitStep::WaitChild(left) => {
                let exit = std::future::poll_fn(|cx| p.poll_wait(cx));
                if let Ok(r) = tokio::time::timeout(left, exit).await {
                    r?;
                }
            }
            TreeWaitStep::Pause { backoff, .. } => tokio::time::sleep(backoff).await,
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
    let mut stop = TreeStop::new(grace);
    let mut status = None;
    loop {
        match stop.next(Instant::now()) {
            Stop::Ask => stop.asked(ask_tree_to_stop(p)?),
            Stop::AwaitTree(d) => stop.tree_gone(wait_tree_blocking(p, Some(d))?),
            Stop::Kill => p.signal_tree(sys::SIGKILL)?,
            Stop::Reap => status = Some(p.wait_blocking()?),
            Stop::Finish => return Ok(status.expect("the stop reaps before it finishes")),
        }
    }
}

/// Async twin of [`terminate_blocking`].
pub(crate) async fn terminate(p: &mut Process, grace: Duration) -> io::Result<ExitStatus> {
    let mut stop = TreeStop::new(grace);
    let mut status = None;
    loop {
        match stop.next(Instant::now()) {
            Stop::Ask => stop.asked(ask_tree_to_stop(p)?),
            Stop::AwaitTree(d) => stop.tree_gone(wait_tree(p, Some(d)).await?),
            Stop::Kill => p.signal_tree(sys::SIGKILL)?,
            Stop::Reap => status = Some(std::future::poll_fn(|cx| p.poll_wait(cx)).await?),
            Stop::Finish => return Ok(status.expect("the stop reaps before it finishes")),
        }
    }
}
