//! One supervisor task per worker slot: the life cycle of the slot's
//! worker processes, one after another.
//!
//! For each process: spawn (with backoff after failed starts), health
//! check, then run its connection while awaiting `child.wait()` in the same
//! `select!`, so a crash is noticed as soon as the kernel reports it. When
//! the run ends, the slot stops taking tasks at once, the process is dealt
//! with (answers it wrote before dying are still collected; a misbehaving
//! worker is stopped with [`stop_worker`]; at shutdown it is stopped
//! gracefully) and its in-flight tasks are retried elsewhere or failed.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::{sleep, sleep_until, timeout, Instant};
use tracing::Instrument;

use super::config::Mode;
use super::conn::{Conn, End};
use super::error::{StartFailure, Violation};
use super::events::RespawnCause;
use super::state::{Attention, Loss, Shared};
use super::stderr::StderrForwarder;
use super::stop::{graceful_stop, stop_worker};
use crate::Containment;
use crate::{Child, Command, ExitStatus, Stdio};

/// A worker that closed its pipes gets this long to exit on its own.
const CLOSE_GRACE: Duration = Duration::from_millis(250);
/// After a worker exited, how long to keep reading what it wrote.
const OUTPUT_DRAIN: Duration = Duration::from_millis(100);
/// After a worker is reaped, how long its stderr may take to reach its end.
const STDERR_LINGER: Duration = Duration::from_millis(100);

/// Starts one worker process from the pool's command factory.
pub(super) fn spawn_worker(shared: &Shared, slot: usize) -> crate::Result<Child> {
    let mut command: Command = (shared.factory)(slot);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // A worker's helpers must not outlive it: keep each worker's tree together
    // (unless the factory chose a containment itself).
    if command.get_containment() == Containment::None {
        command.containment(Containment::ProcessGroup);
    }
    // A worker never outlives the pool's process, however that dies.
    #[cfg(target_os = "linux")]
    {
        use crate::unix::CommandExt;
        command.parent_death_signal(libc::SIGKILL);
        if let Some(limit) = shared.config.worker_mem_hard {
            if shared.kernel_limits_memory() {
                command.memory_limit(limit);
            }
        }
    }
    command.spawn()
}

/// Runs slot `slot` until the pool stops. `first` is the slot's first
/// process, spawned by the builder; `started` is dropped once it is healthy
/// or has failed.
pub(super) async fn supervise(
    shared: Arc<Shared>,
    slot: usize,
    first: Option<Child>,
    mut started: Option<oneshot::Sender<()>>,
) {
    let mut phase = shared.phase.subscribe();
    let mut next = first.map(|child| (child, false));
    let mut leaving = Vec::new();
    loop {
        let (child, respawn) = match next.take() {
            Some(next) => next,
            None => {
                let Some(delay) = shared.respawn_delay(slot) else {
                    break;
                };
                if !delay.is_zero() {
                    tokio::select! {
                        () = sleep(delay) => {}
                        _ = phase.changed() => {}
                    }
                    if shared.stopping() {
                        break;
                    }
                }
                match spawn_worker(&shared, slot) {
                    Ok(child) => (child, true),
                    Err(err) => {
                        shared.start_failed(
                            slot,
                            StartFailure::Spawn {
                                error: err.to_string(),
                            },
                        );
                        drop(started.take());
                        continue;
                    }
                }
            }
        };
        let host = shared.host.as_ref().and_then(|host| host(slot));
        let span = tracing::info_span!("worker", slot, pid = child.id(), host);
        let (replacement, left) = run_worker(&shared, slot, child, respawn, &mut started)
            .instrument(span)
            .await;
        leaving.retain(|l: &Leaving| !l.0.is_finished());
        leaving.extend(left);
        if shared.stopping() {
            // Not needed after all: dropping it kills it.
            drop(replacement);
            break;
        }
        next = replacement.map(|child| (child, true));
    }
    // Every worker is reaped when the supervisor ends.
    for left in leaving {
        left.gone().await;
    }
}

/// How the run of a healthy worker ended.
enum Ending {
    Conn(End),
    Exited(crate::Result<ExitStatus>),
    /// Over the memory hard limit, as sampled: to be killed.
    OutOfMemory,
}

/// One worker process, from spawn to reaped. Returns its replacement if
/// it was recycled (spawned before it left), and then the old worker's
/// shut-down, still under way.
async fn run_worker(
    shared: &Shared,
    slot: usize,
    mut child: Child,
    respawn: bool,
    started: &mut Option<oneshot::Sender<()>>,
) -> (Option<Child>, Option<Leaving>) {
    let config = &shared.config;
    let pid = child.id();
    let spawned_at = Instant::now();
    shared.worker_started(slot, pid, respawn);
    let stderr = child
        .stderr
        .take()
        .map(|stderr| StderrForwarder::spawn(stderr, slot, pid, shared.events.clone()));
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        stop_worker(&mut child).await;
        shared.start_failed(slot, StartFailure::MissingPipes);
        drop(started.take());
        finish_stderr(stderr).await;
        return (None, None);
    };
    let mut conn = Conn::new(slot, stdin, stdout, shared);

    if let Err(reason) = check_health(shared, &mut child, &mut conn, slot).await {
        stop_worker(&mut child).await;
        shared.start_failed(slot, reason);
        drop(started.take());
        finish_stderr(stderr).await;
        return (None, None);
    }
    shared.worker_healthy(slot);
    drop(started.take());
    tracing::debug!(worker = slot, pid, "worker healthy");

    let probation = sleep(config.startup_window.saturating_sub(spawned_at.elapsed()));
    tokio::pin!(probation);
    let mut proven = false;
    let age_limit = config
        .max_worker_age
        .and_then(|age| spawned_at.checked_add(age));
    let aged = sleep_until(age_limit.unwrap_or_else(Instant::now));
    tokio::pin!(aged);
    let mut age_checked = age_limit.is_none();
    let mut replacement = None;
    let ending = loop {
        tokio::select! {
            biased;
            end = poll_fn(|cx| conn.poll_run(cx, shared)) => break Ending::Conn(end),
            status = child.wait() => break Ending::Exited(status),
            () = shared.called(slot) => match shared.attention(slot) {
                Some(Attention::KillOutOfMemory) => break Ending::OutOfMemory,
                Some(Attention::Retiring) if replacement.is_none() && !shared.stopping() => {
                    // Started now, so that its start-up overlaps the old
                    // worker's last tasks.
                    match spawn_worker(shared, slot) {
                        Ok(next) => replacement = Some(next),
                        Err(err) => tracing::warn!("cannot start the replacement early: {err}"),
                    }
                }
                _ => {}
            },
            () = &mut aged, if !age_checked => {
                age_checked = true;
                shared.retire(slot, RespawnCause::MaxAge);
            }
            () = &mut probation, if !proven => {
                if conn.unready() {
                    // A line worker still starting (its first task unread)
                    // proves nothing yet: look again shortly.
                    probation.as_mut().reset(Instant::now() + Duration::from_millis(10));
                } else {
                    proven = true;
                    shared.worker_proven(slot);
                }
            }
        }
    };
    shared.worker_down(slot);

    let recycled = matches!(ending, Ending::Conn(End::Drained)) && !shared.stopping();
    if recycled && replacement.is_none() {
        // Drained before the early start: start the replacement now, still
        // before the old worker leaves.
        replacement = spawn_worker(shared, slot)
            .map_err(|err| tracing::warn!("cannot start the replacement: {err}"))
            .ok();
    }
    if let (Some(next), true) = (&replacement, recycled) {
        // Recycled, its tasks all answered: the replacement takes the slot
        // now, while the old worker is shut down in the background
        // (capacity never waits for it to exit).
        tracing::debug!(worker = slot, pid, next = next.id(), "worker recycled");
        let (charged, uncharged) = conn.take_tasks(false);
        shared.worker_lost(slot, charged, uncharged, &Loss::Stopped, None);
        let grace = config.shutdown_grace;
        let leaving = tokio::spawn(async move {
            graceful_stop(&mut child, &mut conn, grace).await;
            drop(conn);
            finish_stderr(stderr).await;
        });
        return (replacement, Some(Leaving(leaving)));
    }
    let mut loss = settle(shared, &mut child, &mut conn, ending).await;
    if let Loss::Died(_) = loss {
        // Killed by the kernel's memory controller: an OOM.
        if child.resource_usage().is_some_and(|u| u.oom_killed) {
            loss = Loss::OutOfMemory;
        }
    }
    match &loss {
        Loss::Stopped => tracing::debug!(worker = slot, pid, "worker stopped"),
        Loss::Died(status) => tracing::warn!(worker = slot, pid, "worker died ({status})"),
        Loss::OutOfMemory => tracing::warn!(
            worker = slot,
            pid,
            "worker out of memory (over its hard limit of {} bytes): killed",
            config.worker_mem_hard.unwrap_or_default()
        ),
        Loss::Violation(detail) => {
            tracing::warn!(
                worker = slot,
                pid,
                "worker killed: protocol violation: {detail}"
            )
        }
        Loss::TimedOut(t) => {
            tracing::warn!(worker = slot, pid, "worker killed: task ran past {t:?}")
        }
        Loss::NotReady(t) => {
            tracing::warn!(
                worker = slot,
                pid,
                "worker killed: did not read its first task within {t:?}"
            )
        }
    }
    let age = spawned_at.elapsed();
    let start_failure = if conn.unready() {
        // A line worker that never read its first task never started.
        match &loss {
            Loss::Died(status) => Some(StartFailure::DiedBeforeReading {
                after: age,
                status: *status,
            }),
            Loss::Violation(detail) => Some(StartFailure::ViolationAtStart(detail.clone())),
            Loss::NotReady(t) => Some(StartFailure::NotReady { limit: *t }),
            Loss::TimedOut(_) | Loss::Stopped | Loss::OutOfMemory => None,
        }
    } else if proven || conn.spoke() {
        None
    } else {
        match &loss {
            Loss::Died(status) => Some(StartFailure::DiedAfterStart {
                after: age,
                status: *status,
            }),
            Loss::Violation(detail) => Some(StartFailure::ViolationAfterStart(detail.clone())),
            // An OOM is the task's doing (it was given one), not a failed start.
            Loss::TimedOut(_) | Loss::Stopped | Loss::NotReady(_) | Loss::OutOfMemory => None,
        }
    };
    let (charged, uncharged) = conn.take_tasks(matches!(loss, Loss::TimedOut(_)));
    shared.worker_lost(slot, charged, uncharged, &loss, start_failure);
    drop(conn);
    finish_stderr(stderr).await;
    (replacement, None)
}

/// A recycled worker being shut down in the background; killed if the
/// supervisor is dropped (the pool killed or dropped) first.
pub(super) struct Leaving(tokio::task::JoinHandle<()>);

impl Drop for Leaving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Leaving {
    /// Waits until the worker is gone.
    async fn gone(mut self) {
        let _ = (&mut self.0).await;
    }
}

/// Frame mode: ping/pong within the health timeout. Line mode has no ping:
/// the worker must simply be running.
async fn check_health(
    shared: &Shared,
    child: &mut Child,
    conn: &mut Conn,
    slot: usize,
) -> Result<(), StartFailure> {
    let limit = shared.config.start_timeout;
    match shared.config.mode {
        Mode::Lines => match child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(StartFailure::Exited(status)),
            Err(err) => Err(StartFailure::WaitFailed {
                action: "check",
                error: err.to_string(),
            }),
        },
        Mode::Framed => {
            let nonce = u64::from(child.id()) << 32 | slot as u64;
            let detail = tokio::select! {
                res = timeout(limit, conn.handshake(nonce)) => match res {
                    Ok(Ok(())) => return Ok(()),
                    Ok(Err(detail)) => detail,
                    Err(_) => StartFailure::NoPong { limit },
                },
                status = child.wait() => return Err(exited_at_start(status)),
            };
            // A worker that fails the ping is often exiting: say how.
            match timeout(OUTPUT_DRAIN, child.wait()).await {
                Ok(status) => Err(exited_at_start(status)),
                Err(_) => Err(detail),
            }
        }
    }
}

fn exited_at_start(status: crate::Result<ExitStatus>) -> StartFailure {
    match status {
        Ok(status) => StartFailure::Exited(status),
        Err(err) => StartFailure::WaitFailed {
            action: "wait for",
            error: err.to_string(),
        },
    }
}

/// Deals with the process once its run ended: stops it if needed, collects
/// its last answers, reaps it, and says how it was lost.
async fn settle(shared: &Shared, child: &mut Child, conn: &mut Conn, ending: Ending) -> Loss {
    let grace = shared.config.shutdown_grace;
    match ending {
        Ending::Conn(End::Drained) => {
            if let Some(status) = graceful_stop(child, conn, grace).await {
                tracing::debug!(pid = child.id(), "worker exited ({status})");
            }
            Loss::Stopped
        }
        Ending::Exited(Ok(status)) => {
            let _ = timeout(
                OUTPUT_DRAIN,
                poll_fn(|cx| conn.poll_drain_output(cx, shared)),
            )
            .await;
            Loss::Died(status)
        }
        Ending::Exited(Err(err)) => {
            stop_worker(child).await;
            Loss::Violation(Violation::WaitFailed {
                error: err.to_string(),
            })
        }
        Ending::Conn(end @ (End::Closed | End::Io(_))) => {
            // Usually the worker is exiting; collect its last answers meanwhile.
            let exited = timeout(CLOSE_GRACE, async {
                let mut drained = false;
                loop {
                    tokio::select! {
                        status = child.wait() => break status,
                        () = poll_fn(|cx| conn.poll_drain_output(cx, shared)), if !drained => drained = true,
                    }
                }
            })
            .await;
            match exited {
                Ok(Ok(status)) => {
                    let _ = timeout(
                        OUTPUT_DRAIN,
                        poll_fn(|cx| conn.poll_drain_output(cx, shared)),
                    )
                    .await;
                    Loss::Died(status)
                }
                _ => {
                    stop_worker(child).await;
                    Loss::Violation(match end {
                        End::Io(detail) => detail,
                        _ => Violation::ClosedOutput,
                    })
                }
            }
        }
        Ending::Conn(End::Violation(detail)) => {
            stop_worker(child).await;
            Loss::Violation(detail)
        }
        Ending::Conn(End::TimedOut) => {
            stop_worker(child).await;
            Loss::TimedOut(shared.config.task_timeout.unwrap_or_default())
        }
        Ending::Conn(End::NotReady) => {
            stop_worker(child).await;
            Loss::NotReady(shared.config.start_timeout)
        }
        Ending::OutOfMemory => {
            stop_worker(child).await;
            Loss::OutOfMemory
        }
    }
}

/// Lets the stderr forwarder reach the end of the pipe, or cuts it off (a
/// grandchild may still hold the pipe open).
async fn finish_stderr(forwarder: Option<StderrForwarder>) {
    if let Some(forwarder) = forwarder {
        forwarder.finish(STDERR_LINGER).await;
    }
}
