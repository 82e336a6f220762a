//! Lifecycle: what happens to a slot's workers, from spawn to loss: start,
//! health check and proof ([`Shared::worker_started`],
//! [`Shared::worker_healthy`], [`Shared::worker_proven`]), failed starts
//! and the circuit breaker ([`Shared::start_failed`]), loss and the fate of
//! its tasks ([`Shared::worker_lost`]), the respawn backoff, recycling
//! ([`Shared::retire`]) and memory samples.
//!
//! Poison: when a worker dies (or breaks the protocol) with several tasks
//! in flight, none is charged an attempt, since any of them could be the
//! cause: each becomes a suspect ([`Task::isolate`]) and is retried alone
//! on a worker, so that a later death is charged to the task that caused
//! it and the innocent ones simply succeed.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::super::error::{StartFailure, TaskError};
use super::super::events::{PoolEvent, RespawnCause};
use super::super::monitor::Usage;
use super::super::task::Task;
use super::{resolve_all, Attention, Loss, Phase, Shared};

impl Shared {
    /// Wakes slot `slot`'s supervisor to look at [`Shared::attention`].
    pub(super) fn call(&self, slot: usize) {
        if let Some(n) = self.attention.get(slot) {
            n.notify_one();
        }
    }

    /// What the pool asks of slot `slot`'s supervisor now, if anything.
    pub fn attention(&self, slot: usize) -> Option<Attention> {
        let st = self.lock();
        let s = st.slots.get(slot)?;
        if s.kill_oom {
            Some(Attention::KillOutOfMemory)
        } else if s.retiring.is_some() {
            Some(Attention::Retiring)
        } else {
            None
        }
    }

    /// Starts recycling slot `slot`'s worker: it takes no new task, finishes
    /// those it holds, is shut down and replaced. Returns the slot's spawn
    /// count, or `None` if it has no healthy worker or is already retiring.
    pub fn retire(&self, slot: usize, cause: RespawnCause) -> Option<u64> {
        let mut guard = self.lock();
        let st = &mut *guard;
        let s = st.slots.get_mut(slot)?;
        if !s.healthy || s.retiring.is_some() || st.phase == Phase::Stopping {
            return None;
        }
        s.retiring = Some(cause);
        let spawns = s.spawns;
        st.counters.recycles += 1;
        tracing::info!(
            event = "worker_recycling",
            worker = slot,
            pid = s.pid,
            cause = %cause,
            "recycling worker ({cause})"
        );
        self.kick(st, slot);
        self.call(slot);
        Some(spawns)
    }

    /// Whether slot `slot` has a healthy worker started after its
    /// `spawns`-th (or the pool is stopping: nothing more will start).
    pub fn replaced(&self, slot: usize, spawns: u64) -> bool {
        let st = self.lock();
        st.phase == Phase::Stopping
            || st
                .slots
                .get(slot)
                .is_none_or(|s| s.spawns > spawns && s.healthy)
    }

    /// The pids of the current workers, by slot.
    pub fn worker_pids(&self) -> Vec<(usize, u32)> {
        let st = self.lock();
        st.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.pid.map(|pid| (i, pid)))
            .collect()
    }

    /// Records the monitor's samples and applies the memory limits: over
    /// the soft limit, the worker is recycled; over the hard one (when the
    /// kernel does not enforce it), it is killed.
    pub fn record_usage(&self, samples: &[(usize, u32, Usage)]) {
        let soft = self.config.worker_mem_soft;
        let hard = self
            .config
            .worker_mem_hard
            .filter(|_| !self.kernel_mem_limit.load(Ordering::Relaxed));
        let mut recycle = Vec::new();
        {
            let mut st = self.lock();
            for &(slot, pid, usage) in samples {
                let Some(s) = st.slots.get_mut(slot) else {
                    continue;
                };
                if s.pid != Some(pid) {
                    continue;
                }
                s.usage = Some(usage);
                if hard.is_some_and(|h| usage.memory > h) && !s.kill_oom {
                    tracing::warn!(
                        worker = slot,
                        pid,
                        memory = usage.memory,
                        "worker over its memory hard limit; killing it"
                    );
                    s.kill_oom = true;
                    self.call(slot);
                } else if soft.is_some_and(|l| usage.memory > l) {
                    recycle.push(slot);
                }
            }
        }
        for slot in recycle {
            self.retire(slot, RespawnCause::MemorySoftLimit);
        }
    }

    /// A new worker in `slot` has started (it is not healthy yet).
    pub fn worker_started(&self, slot: usize, pid: u32, respawn: bool) {
        let mut st = self.lock();
        let mut cause = None;
        if let Some(s) = st.slots.get_mut(slot) {
            s.pid = Some(pid);
            s.spawns += 1;
            s.taken = 0;
            s.retiring = None;
            s.kill_oom = false;
            s.usage = None;
            cause = s.last_loss.take();
        }
        if respawn {
            // A slot is only respawned after a loss or a failed start.
            let cause = cause.unwrap_or(RespawnCause::StartFailed);
            st.counters.respawns += 1;
            st.counters.respawn_causes.count(cause);
            drop(st);
            tracing::info!(
                event = "worker_respawned",
                worker = slot,
                pid,
                cause = %cause,
                "worker respawned ({cause})"
            );
            self.emit(PoolEvent::WorkerRespawned {
                worker: slot,
                cause,
            });
        }
    }

    /// The worker in `slot` passed its health check: it takes tasks now.
    pub fn worker_healthy(&self, slot: usize) {
        let mut guard = self.lock();
        let st = &mut *guard;
        // Once the pool gave up, only a proven worker ends that: a line
        // worker counts as healthy while it starts, working or not.
        if !st.gave_up {
            st.breaker.worker_healthy();
        }
        if let Some(s) = st.slots.get_mut(slot) {
            s.healthy = true;
        }
        // Tasks held while the circuit was open go to it.
        self.dispatch(st);
        // Its connection pulls queued tasks when it first syncs.
        self.kick(st, slot);
        self.changed.notify_waiters();
    }

    /// The worker in `slot` outlived the start-up window.
    pub fn worker_proven(&self, slot: usize) {
        let mut guard = self.lock();
        let st = &mut *guard;
        st.worker_proven();
        if let Some(s) = st.slots.get_mut(slot) {
            s.failures = 0;
        }
        self.dispatch(st);
        self.changed.notify_waiters();
    }

    /// A worker could not start (spawn error, failed health check, or death
    /// right after start). Opens the circuit after too many in a row.
    pub fn start_failed(&self, slot: usize, reason: StartFailure) {
        tracing::warn!(worker = slot, "worker failed to start: {reason}");
        let mut resolve = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            st.counters.start_failures += 1;
            if let Some(s) = st.slots.get_mut(slot) {
                s.failures = s.failures.saturating_add(1);
                s.pid = None;
                s.last_loss = Some(RespawnCause::StartFailed);
            }
            if st.breaker.start_failed(reason) {
                tracing::error!(
                    "worker pool circuit breaker open: {}",
                    st.breaker.last_failure()
                );
            }
            self.fail_queue_if_degraded(st, &mut resolve);
        }
        self.changed.notify_waiters();
        resolve_all(resolve);
    }

    /// First step when a worker's run ends: it takes no more tasks, and
    /// tasks still in its inbox (never sent) go back to the queue.
    pub fn worker_down(&self, slot: usize) {
        let mut resolve = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            let Some(s) = st.slots.get_mut(slot) else {
                return;
            };
            s.healthy = false;
            s.waker = None;
            let unsent = std::mem::take(&mut s.inbox);
            s.load -= unsent.len().min(s.load);
            st.assigned -= unsent.len().min(st.assigned);
            if s.load == 0 {
                s.isolating = false;
            }
            for task in unsent.into_iter().rev() {
                st.queue.push_front(task);
            }
            self.dispatch(st);
            self.fail_queue_if_degraded(st, &mut resolve);
            self.fail_queue_if_stopped(st, &mut resolve);
        }
        resolve_all(resolve);
    }

    /// Last step when a worker is gone: its in-flight tasks are retried
    /// (`charged` ones use up an attempt) or failed, and the death is
    /// counted. `start_failure` is set if the worker died before proving
    /// itself (it then counts towards the circuit breaker).
    pub fn worker_lost(
        &self,
        slot: usize,
        charged: Vec<Task>,
        uncharged: Vec<Task>,
        loss: &Loss,
        start_failure: Option<StartFailure>,
    ) {
        let max_attempts = self.config.attempts;
        let mut resolve = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            match loss {
                Loss::Died(_) => st.counters.crashes += 1,
                Loss::Violation(_) => st.counters.violations += 1,
                Loss::OutOfMemory => st.counters.oom_kills += 1,
                Loss::TimedOut(_) | Loss::Stopped | Loss::NotReady(_) => {}
            }
            if let Some(s) = st.slots.get_mut(slot) {
                let retired = s.retiring.take();
                s.kill_oom = false;
                s.usage = None;
                s.last_loss = match (&start_failure, loss) {
                    (Some(_), _) => Some(RespawnCause::StartFailed),
                    (None, Loss::Died(_)) => Some(RespawnCause::Crashed),
                    (None, Loss::Violation(_)) => Some(RespawnCause::ProtocolViolation),
                    (None, Loss::TimedOut(_)) => Some(RespawnCause::TimedOut),
                    (None, Loss::NotReady(_)) => Some(RespawnCause::StartFailed),
                    (None, Loss::OutOfMemory) => Some(RespawnCause::OutOfMemory),
                    (None, Loss::Stopped) => retired,
                };
                s.healthy = false;
                s.waker = None;
                s.pid = None;
                st.assigned -= s.load.min(st.assigned);
                s.load = 0;
                s.isolating = false;
                if let Some(since) = s.busy_since.take() {
                    s.busy_total += since.elapsed();
                }
            }
            // Put back in reverse so the oldest ends up first in the queue.
            for task in uncharged.into_iter().rev() {
                st.counters.retried += 1;
                st.queue.push_front(task);
            }
            if let Loss::TimedOut(_) = loss {
                st.counters.timeouts += charged.len() as u64;
            }
            let (charged, suspects) = if charged.len() > 1 && !matches!(loss, Loss::TimedOut(_)) {
                (Vec::new(), charged)
            } else {
                (charged, Vec::new())
            };
            // Several in flight: any could be the cause. Retry each alone.
            for mut task in suspects.into_iter().rev() {
                task.isolate = true;
                st.counters.retried += 1;
                st.queue.push_front(task);
            }
            for mut task in charged.into_iter().rev() {
                task.attempts += 1;
                // With dispatch stopped there is no next attempt.
                if task.attempts >= max_attempts || st.dispatch_stopped {
                    let err = loss_error(loss, task.attempts, self.config.worker_mem_hard);
                    st.counters.failed += 1;
                    resolve.push((task, Err(err)));
                } else {
                    st.counters.retried += 1;
                    st.queue.push_front(task);
                }
            }
            if let Some(reason) = start_failure {
                st.counters.start_failures += 1;
                if let Some(s) = st.slots.get_mut(slot) {
                    s.failures = s.failures.saturating_add(1);
                }
                tracing::warn!(worker = slot, "worker failed to start: {reason}");
                if st.breaker.start_failed(reason) {
                    tracing::error!(
                        "worker pool circuit breaker open: {}",
                        st.breaker.last_failure()
                    );
                }
            }
            self.dispatch(st);
            self.fail_queue_if_degraded(st, &mut resolve);
            self.fail_queue_if_stopped(st, &mut resolve);
            self.check_drained(st);
        }
        self.changed.notify_waiters();
        resolve_all(resolve);
    }

    /// How long slot `slot` should wait before starting a worker; `None`
    /// once the pool is stopping.
    pub fn respawn_delay(&self, slot: usize) -> Option<Duration> {
        let st = self.lock();
        if st.phase == Phase::Stopping {
            return None;
        }
        let failures = st.slots.get(slot).map_or(0, |s| s.failures);
        Some(self.config.backoff(failures))
    }
}

/// The error a task gets when it runs out of attempts.
fn loss_error(loss: &Loss, attempts: u32, hard_limit: Option<u64>) -> TaskError {
    match loss {
        Loss::Died(status) => TaskError::WorkerDied {
            status: *status,
            attempts,
        },
        Loss::Violation(detail) => TaskError::ProtocolViolation {
            detail: detail.clone(),
            attempts,
        },
        Loss::OutOfMemory => TaskError::OutOfMemory {
            limit: hard_limit.unwrap_or_default(),
            attempts,
        },
        Loss::TimedOut(timeout) | Loss::NotReady(timeout) => TaskError::TimedOut {
            timeout: *timeout,
            attempts,
        },
        // Nothing is in flight on a worker stopped at shutdown.
        Loss::Stopped => TaskError::ShutDown,
    }
}
