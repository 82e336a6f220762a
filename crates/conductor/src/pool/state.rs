//! The state every part of the pool shares: the task queue, one [`Slot`]
//! per worker, the circuit breaker, the counters and the pool's [`Phase`],
//! behind one `std` mutex that is never held across an `.await`.
//!
//! Every operation that moves tasks lives here, so the rules are in one
//! place:
//!
//! * A new task goes to the least-loaded healthy worker with room, or to
//!   the back of the queue (taking a capacity permit; without one the
//!   submitter waits: backpressure).
//! * The queue is non-empty only while no healthy worker has room: a
//!   worker that frees room refills itself from the queue in the same
//!   locked step ([`Shared::exchange`]), and tasks put back after a worker
//!   is lost are dispatched at once.
//! * Tasks assigned to a worker wait in its slot's inbox until its
//!   connection picks them up; the connection owns them while in flight.
//! * Poison: when a worker dies (or breaks the protocol) with several tasks
//!   in flight, none is charged an attempt, since any of them could be the
//!   cause: each becomes a suspect ([`Task::isolate`]) and is retried alone
//!   on a worker, so that a later death is charged to the task that caused
//!   it and the innocent ones simply succeed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::breaker::Breaker;
use super::codec::Codec;
use super::config::{OpenCircuit, PoolConfig};
use super::error::{StartFailure, TaskError, Violation};
use super::events::{EventHook, PoolEvent, RespawnCause};
use super::latency::Histogram;
use super::monitor::Usage;
use super::stats::{Counters, PoolStats, WorkerStats};
use super::task::{Outcome, Task, TaskHandle};
use crate::{Command, ExitStatus};

/// Builds the command for each worker process.
pub(super) type Factory = Box<dyn Fn(usize) -> Command + Send + Sync>;

/// Names the host of each slot's workers (for tracing).
pub(super) type HostOf = Box<dyn Fn(usize) -> Option<String> + Send + Sync>;

/// What the pool asks of a slot's supervisor ([`Shared::attention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Attention {
    /// Kill the worker now: its tree went over the memory hard limit.
    KillOutOfMemory,
    /// The worker is being recycled: start its replacement now.
    Retiring,
}

/// Where the pool is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Accepting tasks.
    Open,
    /// Shutting down: no new tasks, queued and in-flight ones still run.
    Draining,
    /// Every task is resolved; workers are being stopped.
    Stopping,
}

/// One worker position. Its process is replaced over time; the slot stays.
#[derive(Debug, Default)]
pub(super) struct Slot {
    /// Passed its health check and not yet lost.
    pub healthy: bool,
    /// Tasks in the inbox plus tasks in flight on the connection.
    pub load: usize,
    /// Holds a suspect task (see [`Task::isolate`]): takes nothing else
    /// until its load is back to 0.
    pub isolating: bool,
    /// Assigned, not yet picked up by the connection.
    pub inbox: Vec<Task>,
    /// Wakes the slot's connection.
    pub waker: Option<Waker>,
    pub pid: Option<u32>,
    /// Consecutive failed starts of this slot (for the respawn backoff).
    pub failures: u32,
    pub completed: u64,
    pub busy_total: Duration,
    pub busy_since: Option<Instant>,
    pub spawns: u64,
    /// Why the slot's last worker ended, for counting its replacement.
    pub last_loss: Option<RespawnCause>,
    /// Tasks given to the current process (for `max_tasks_per_worker`).
    pub taken: u64,
    /// The current process is being recycled: it takes no new task, and
    /// its connection ends once its tasks are answered.
    pub retiring: Option<RespawnCause>,
    /// The monitor found the tree over the memory hard limit.
    pub kill_oom: bool,
    /// The latest sample of the current process's tree.
    pub usage: Option<Usage>,
}

/// Everything behind the lock.
#[derive(Debug)]
pub(super) struct State {
    pub phase: Phase,
    pub queue: VecDeque<Task>,
    pub slots: Vec<Slot>,
    pub breaker: Breaker,
    pub counters: Counters,
    /// Sum of the slots' loads.
    pub assigned: usize,
    /// [`Shared::stop_dispatch`] was called: nothing more is started.
    pub dispatch_stopped: bool,
    /// [`OpenCircuit::Hold`] gave up waiting for a healthy worker (until one is).
    pub gave_up: bool,
    pub open_circuit: OpenCircuit,
    /// [`PoolConfig::max_tasks_per_worker`], or `u64::MAX`.
    pub max_tasks: u64,
}

/// What a connection reports when it syncs with the pool.
#[derive(Debug, Default)]
pub(super) struct Report {
    pub succeeded: usize,
    pub failed: usize,
    /// This is the worker's first answer (it is proven to work).
    pub first_answer: bool,
}

/// Why a worker's tasks are being taken back from it.
#[derive(Debug, Clone)]
pub(super) enum Loss {
    /// It exited or was killed from outside.
    Died(ExitStatus),
    /// We killed it for breaking the protocol.
    Violation(Violation),
    /// We killed it because tasks ran past the timeout.
    TimedOut(Duration),
    /// Shutdown: it had nothing in flight.
    Stopped,
    /// We killed it because it did not become ready within the start
    /// timeout (line mode: it never read its first task).
    NotReady(Duration),
    /// Its tree went over the memory hard limit: killed by the kernel's
    /// memory controller (then the status is its death) or by the pool.
    OutOfMemory,
}

/// The result of offering a task to the pool.
pub(super) enum Offer {
    Placed(TaskHandle),
    /// The queue is full; here is the payload back.
    Full(Vec<u8>),
    Refused(TaskError),
}

/// The pool's shared core.
pub(super) struct Shared {
    pub config: PoolConfig,
    pub factory: Factory,
    state: Mutex<State>,
    /// Free places in the queue.
    pub queue_space: Semaphore,
    /// Mirrors `State::phase` for tasks that sleep (respawn backoff).
    pub phase: watch::Sender<Phase>,
    /// Per slot: the connection should look at its slot (inbox or phase changed).
    kicks: Box<[AtomicBool]>,
    /// The owner's event hook, if any.
    pub events: Option<EventHook>,
    /// Names each slot's host, for tracing.
    pub host: Option<HostOf>,
    /// Per slot: wakes its supervisor (see [`Attention`]).
    attention: Box<[Notify]>,
    /// Woken when a worker becomes healthy or is lost, or the pool stops.
    pub changed: Notify,
    /// Task latencies (submitted to answered).
    pub latency: Arc<Histogram>,
    /// Whether the kernel enforces `worker_mem_hard` (else the monitor does).
    pub kernel_mem_limit: AtomicBool,
}

impl Shared {
    pub fn new(config: PoolConfig, factory: Factory) -> Shared {
        let slots = (0..config.workers).map(|_| Slot::default()).collect();
        let kicks = (0..config.workers)
            .map(|_| AtomicBool::new(false))
            .collect();
        let attention = (0..config.workers).map(|_| Notify::new()).collect();
        Shared {
            state: Mutex::new(State {
                phase: Phase::Open,
                queue: VecDeque::new(),
                slots,
                breaker: Breaker::new(config.circuit_threshold),
                counters: Counters::default(),
                assigned: 0,
                dispatch_stopped: false,
                gave_up: false,
                open_circuit: config.open_circuit,
                max_tasks: config.max_tasks_per_worker.unwrap_or(u64::MAX),
            }),
            queue_space: Semaphore::new(config.queue_capacity),
            phase: watch::Sender::new(Phase::Open),
            kicks,
            events: None,
            host: None,
            attention,
            changed: Notify::new(),
            latency: Arc::new(Histogram::new()),
            kernel_mem_limit: AtomicBool::new(cfg!(target_os = "linux")),
            factory,
            config,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the
        // state is still consistent enough to shut down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether each worker is spawned under the kernel's memory limit.
    pub fn kernel_limits_memory(&self) -> bool {
        self.config.worker_mem_hard.is_some() && self.kernel_mem_limit.load(Ordering::Relaxed)
    }

    /// Whether the slot's connection has been kicked since it last looked
    /// (and clears the kick).
    pub fn take_kick(&self, slot: usize) -> bool {
        self.kicks
            .get(slot)
            .is_some_and(|k| k.load(Ordering::Relaxed) && k.swap(false, Ordering::AcqRel))
    }

    /// Tells slot `i`'s connection to look at its slot.
    fn kick(&self, st: &State, i: usize) {
        let Some(kick) = self.kicks.get(i) else {
            return;
        };
        if !kick.swap(true, Ordering::AcqRel) {
            if let Some(waker) = st.slots.get(i).and_then(|s| s.waker.as_ref()) {
                waker.wake_by_ref();
            }
        }
    }

    fn kick_all(&self, st: &State) {
        for i in 0..st.slots.len() {
            self.kick(st, i);
        }
    }

    /// Offers a new task: placed on a worker or in the queue, refused, or
    /// the queue is full (pass a permit from `queue_space` to get a place).
    pub fn offer(&self, payload: Vec<u8>, permit: Option<SemaphorePermit<'_>>) -> Offer {
        let config = &self.config;
        if let Err(err) = Codec::check_task(config.mode, &payload, config.max_message_len) {
            return Offer::Refused(TaskError::Invalid(err));
        }
        let mut st = self.lock();
        if st.phase != Phase::Open {
            return Offer::Refused(TaskError::ShutDown);
        }
        if st.dispatch_stopped {
            return Offer::Refused(TaskError::NotRun);
        }
        if st.degraded() {
            return Offer::Refused(st.degraded_error());
        }
        let limit = config.in_flight_limit();
        if st.queue.is_empty() {
            if let Some(i) = st.least_loaded(limit) {
                let (task, handle) = Task::new(payload);
                st.assign(i, task);
                st.counters.submitted += 1;
                self.kick(&st, i);
                return Offer::Placed(handle);
            }
        }
        let permit = match permit {
            Some(permit) => permit,
            None => match self.queue_space.try_acquire() {
                Ok(permit) => permit,
                Err(_) => return Offer::Full(payload),
            },
        };
        permit.forget();
        let (mut task, handle) = Task::new(payload);
        task.holds_permit = true;
        st.queue.push_back(task);
        st.counters.submitted += 1;
        Offer::Placed(handle)
    }

    /// A connection's sync point: reports answered tasks, registers the
    /// connection's waker, and (if `refill`) moves new work into
    /// `incoming`: the slot's inbox, then queued tasks up to the in-flight
    /// limit. Returns the phase.
    pub fn exchange(
        &self,
        slot: usize,
        report: &Report,
        refill: bool,
        incoming: &mut Vec<Task>,
        waker: &Waker,
    ) -> Phase {
        let limit = self.config.in_flight_limit();
        let mut guard = self.lock();
        let st = &mut *guard;
        let answered = report.succeeded + report.failed;
        st.counters.succeeded += report.succeeded as u64;
        st.counters.failed += report.failed as u64;
        if answered > 0 {
            // Tasks are being answered: the worker program works.
            st.breaker.worker_proven();
        }
        let Some(s) = st.slots.get_mut(slot) else {
            return st.phase;
        };
        if report.first_answer {
            s.failures = 0;
        }
        s.completed += answered as u64;
        s.load -= answered.min(s.load);
        st.assigned -= answered.min(st.assigned);
        if s.load == 0 {
            s.isolating = false;
        }
        if !s.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            s.waker = Some(waker.clone());
        }
        if refill {
            incoming.append(&mut s.inbox);
            let mut freed = 0;
            while s.load < limit && !s.isolating && s.retiring.is_none() && s.taken < st.max_tasks {
                let Some(front) = st.queue.front() else {
                    break;
                };
                if front.isolate && s.load > 0 {
                    break;
                }
                let Some(mut task) = st.queue.pop_front() else {
                    break;
                };
                freed += usize::from(std::mem::take(&mut task.holds_permit));
                s.isolating = task.isolate;
                incoming.push(task);
                s.load += 1;
                s.taken += 1;
                st.assigned += 1;
            }
            if freed > 0 {
                self.queue_space.add_permits(freed);
            }
        }
        match (s.load > 0, s.busy_since) {
            (true, None) => s.busy_since = Some(Instant::now()),
            (false, Some(since)) => {
                s.busy_total += since.elapsed();
                s.busy_since = None;
            }
            _ => {}
        }
        let retiring = if s.taken >= st.max_tasks && s.retiring.is_none() && s.healthy {
            s.retiring = Some(RespawnCause::MaxTasks);
            st.counters.recycles += 1;
            tracing::info!(
                event = "worker_recycling",
                worker = slot,
                pid = s.pid,
                cause = %RespawnCause::MaxTasks,
                "recycling worker ({})",
                RespawnCause::MaxTasks
            );
            self.call(slot);
            true
        } else {
            s.retiring.is_some()
        };
        if answered > 0 {
            self.check_drained(st);
        }
        if retiring {
            // Its connection ends once its tasks are answered.
            Phase::Stopping
        } else {
            st.phase
        }
    }

    /// Wakes slot `slot`'s supervisor to look at [`Shared::attention`].
    fn call(&self, slot: usize) {
        if let Some(n) = self.attention.get(slot) {
            n.notify_one();
        }
    }

    /// Waits until slot `slot`'s supervisor is called.
    pub async fn called(&self, slot: usize) {
        match self.attention.get(slot) {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
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

    /// Passes `event` to the owner's hook, if any.
    pub fn emit(&self, event: PoolEvent) {
        if let Some(hook) = &self.events {
            hook(event);
        }
    }

    /// Starts nothing more: queued tasks, and tasks assigned to a worker
    /// but not yet sent, resolve as [`TaskError::NotRun`]; new tasks are
    /// refused with it. Tasks already sent to a worker run to their end.
    pub fn stop_dispatch(&self) {
        let mut resolve = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            st.dispatch_stopped = true;
            for s in &mut st.slots {
                let unsent = std::mem::take(&mut s.inbox);
                s.load -= unsent.len().min(s.load);
                st.assigned -= unsent.len().min(st.assigned);
                for task in unsent {
                    st.queue.push_back(task);
                }
            }
            self.fail_queue_if_stopped(st, &mut resolve);
            // Submitters waiting for queue space are refused.
            self.queue_space.close();
        }
        resolve_all(resolve);
    }

    /// With dispatch stopped, queued tasks resolve as not run.
    fn fail_queue_if_stopped(&self, st: &mut State, resolve: &mut Vec<(Task, Outcome)>) {
        if !st.dispatch_stopped || st.queue.is_empty() {
            return;
        }
        let mut freed = 0;
        while let Some(task) = st.queue.pop_front() {
            freed += usize::from(task.holds_permit);
            st.counters.not_run += 1;
            resolve.push((task, Err(TaskError::NotRun)));
        }
        if freed > 0 {
            self.queue_space.add_permits(freed);
        }
        self.check_drained(st);
    }

    /// The worker in `slot` passed its health check: it takes tasks now.
    pub fn worker_healthy(&self, slot: usize) {
        let mut guard = self.lock();
        let st = &mut *guard;
        st.breaker.worker_healthy();
        st.gave_up = false;
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
        let mut st = self.lock();
        st.breaker.worker_proven();
        if let Some(s) = st.slots.get_mut(slot) {
            s.failures = 0;
        }
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

    /// Whether the pool is stopping (workers should not be started).
    pub fn stopping(&self) -> bool {
        self.lock().phase == Phase::Stopping
    }

    /// Stops accepting tasks; workers stop once every task is resolved.
    pub fn begin_shutdown(&self) {
        let mut st = self.lock();
        if st.phase == Phase::Open {
            st.phase = Phase::Draining;
            self.phase.send_replace(Phase::Draining);
            // Wakes submitters waiting for queue space; they are refused.
            self.queue_space.close();
            self.check_drained(&mut st);
        }
    }

    /// After [`Pool::kill`](super::Pool::kill) stopped every supervisor:
    /// every task still queued or assigned resolves as `ShutDown`, and the
    /// slots are left empty (no healthy worker, nothing queued or in flight).
    pub fn kill_all(&self) {
        let mut resolve = Vec::new();
        {
            let mut guard = self.lock();
            let st = &mut *guard;
            if st.phase != Phase::Stopping {
                st.phase = Phase::Stopping;
                self.phase.send_replace(Phase::Stopping);
            }
            self.queue_space.close();
            let now = Instant::now();
            for s in &mut st.slots {
                resolve.append(&mut s.inbox);
                s.healthy = false;
                s.waker = None;
                s.pid = None;
                s.load = 0;
                if let Some(since) = s.busy_since.take() {
                    s.busy_total += now - since;
                }
            }
            resolve.extend(st.queue.drain(..));
            st.assigned = 0;
        }
        for task in resolve {
            task.resolve(Err(TaskError::ShutDown));
        }
    }

    /// A snapshot of the counters and slots.
    pub fn stats(&self) -> PoolStats {
        // Lock-free: read before taking the lock.
        let latency = self.latency.snapshot();
        let st = self.lock();
        let now = Instant::now();
        let c = st.counters;
        PoolStats {
            submitted: c.submitted,
            succeeded: c.succeeded,
            failed: c.failed,
            retried: c.retried,
            worker_crashes: c.crashes,
            protocol_violations: c.violations,
            respawns: c.respawns,
            respawn_causes: c.respawn_causes,
            not_run: c.not_run,
            timeouts: c.timeouts,
            queue_depth: st.queue.len(),
            in_flight: st.assigned,
            healthy_workers: st.healthy_count(),
            degraded: st.degraded(),
            circuit_open: st.breaker.is_open(),
            start_failures: c.start_failures,
            recycles: c.recycles,
            oom_kills: c.oom_kills,
            latency,
            workers: st
                .slots
                .iter()
                .enumerate()
                .map(|(index, s)| WorkerStats {
                    index,
                    pid: s.pid,
                    healthy: s.healthy,
                    in_flight: s.load,
                    completed: s.completed,
                    busy: s.busy_total + s.busy_since.map_or(Duration::ZERO, |t| now - t),
                    spawns: s.spawns,
                    rss_bytes: s.usage.map(|u| u.memory),
                    cpu_time: s.usage.map(|u| u.cpu),
                    open_fds: s.usage.map(|u| u.fds),
                    processes: s.usage.map(|u| u.processes),
                })
                .collect(),
        }
    }

    /// Moves queued tasks to healthy workers with room, least loaded first.
    fn dispatch(&self, st: &mut State) {
        if st.dispatch_stopped {
            return;
        }
        let limit = self.config.in_flight_limit();
        let mut freed = 0;
        while let Some(front) = st.queue.front() {
            let found = if front.isolate {
                st.idle_slot()
            } else {
                st.least_loaded(limit)
            };
            let Some(i) = found else {
                break;
            };
            let Some(mut task) = st.queue.pop_front() else {
                break;
            };
            freed += usize::from(std::mem::take(&mut task.holds_permit));
            st.assign(i, task);
            self.kick(st, i);
        }
        if freed > 0 {
            self.queue_space.add_permits(freed);
        }
    }

    /// With the circuit open and no healthy worker, queued tasks fail now
    /// (with [`OpenCircuit::Hold`], once it has given up waiting).
    fn fail_queue_if_degraded(&self, st: &mut State, resolve: &mut Vec<(Task, Outcome)>) {
        if let OpenCircuit::Hold { give_up_after } = st.open_circuit {
            if !st.gave_up
                && st.breaker.is_open()
                && st.healthy_count() == 0
                && st.breaker.open_for() >= give_up_after
            {
                st.gave_up = true;
                tracing::error!(
                    "worker pool giving up: no healthy worker for {give_up_after:?} \
                     with the circuit breaker open"
                );
            }
        }
        if st.queue.is_empty() || !st.degraded() {
            return;
        }
        let mut freed = 0;
        while let Some(task) = st.queue.pop_front() {
            freed += usize::from(task.holds_permit);
            st.counters.failed += 1;
            resolve.push((task, Err(st.degraded_error())));
        }
        if freed > 0 {
            self.queue_space.add_permits(freed);
        }
        self.check_drained(st);
    }

    /// Moves a draining pool to `Stopping` once nothing is left to run.
    fn check_drained(&self, st: &mut State) {
        if st.phase == Phase::Draining && st.queue.is_empty() && st.assigned == 0 {
            st.phase = Phase::Stopping;
            self.phase.send_replace(Phase::Stopping);
            self.kick_all(st);
            self.changed.notify_waiters();
        }
    }
}

impl State {
    fn healthy_count(&self) -> usize {
        self.slots.iter().filter(|s| s.healthy).count()
    }

    /// Circuit open and nobody healthy: tasks fail fast (held, with
    /// [`OpenCircuit::Hold`], until it gives up).
    fn degraded(&self) -> bool {
        let failing = match self.open_circuit {
            OpenCircuit::FailFast => true,
            OpenCircuit::Hold { .. } => self.gave_up,
        };
        failing && self.breaker.is_open() && self.healthy_count() == 0
    }

    fn degraded_error(&self) -> TaskError {
        TaskError::Degraded {
            last_failure: self.breaker.last_failure(),
        }
    }

    /// The healthy slot with the fewest tasks, if one has room.
    fn least_loaded(&self, limit: usize) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, s) in self.slots.iter().enumerate() {
            if !s.healthy || s.load >= limit || s.isolating || !s.accepts(self.max_tasks) {
                continue;
            }
            match best {
                Some((_, load)) if load <= s.load => {}
                _ => best = Some((i, s.load)),
            }
        }
        best.map(|(i, _)| i)
    }

    /// A healthy slot with nothing assigned, for a suspect task.
    fn idle_slot(&self) -> Option<usize> {
        let max = self.max_tasks;
        self.slots
            .iter()
            .position(|s| s.healthy && s.load == 0 && s.accepts(max))
    }

    fn assign(&mut self, i: usize, task: Task) {
        if let Some(s) = self.slots.get_mut(i) {
            s.isolating |= task.isolate;
            s.taken += 1;
            s.inbox.push(task);
            s.load += 1;
            self.assigned += 1;
        }
    }
}

impl Slot {
    /// Whether it may be given another task (not recycling, under its task quota).
    fn accepts(&self, max_tasks: u64) -> bool {
        self.retiring.is_none() && self.taken < max_tasks
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

/// Resolves tasks outside the lock.
fn resolve_all(resolve: Vec<(Task, Outcome)>) {
    for (task, outcome) in resolve {
        task.resolve(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    fn shared(workers: usize, in_flight: usize, queue: usize) -> Shared {
        let config = PoolConfig {
            workers,
            tasks_per_worker: in_flight,
            queue_capacity: queue,
            attempts: 2,
            circuit_threshold: 2,
            ..PoolConfig::default()
        };
        Shared::new(config, Box::new(|_| Command::new("true")))
    }

    fn placed(offer: Offer) -> TaskHandle {
        match offer {
            Offer::Placed(handle) => handle,
            Offer::Full(_) => panic!("full"),
            Offer::Refused(err) => panic!("refused: {err}"),
        }
    }

    fn loads(shared: &Shared) -> Vec<usize> {
        shared.lock().slots.iter().map(|s| s.load).collect()
    }

    /// Takes the tasks assigned to `slot`, as its connection would.
    fn take(shared: &Shared, slot: usize, answered: usize) -> Vec<Task> {
        let waker = Arc::new(Noop).into();
        let report = Report {
            succeeded: answered,
            ..Report::default()
        };
        let mut incoming = Vec::new();
        shared.exchange(slot, &report, true, &mut incoming, &waker);
        incoming
    }

    #[test]
    fn least_loaded_then_queue_then_full() {
        let shared = shared(2, 2, 1);
        // Nobody healthy: the first task is queued; the queue (1) is now full.
        let _x = placed(shared.offer(b"x".to_vec(), None));
        assert_eq!(shared.stats().queue_depth, 1);
        assert!(matches!(shared.offer(b"y".to_vec(), None), Offer::Full(_)));
        shared.worker_healthy(0);
        shared.worker_healthy(1);
        // Slot 0 pulls the queued task when it syncs.
        assert_eq!(take(&shared, 0, 0).len(), 1);
        let _h: Vec<_> = (0..3)
            .map(|i| placed(shared.offer(vec![i], None)))
            .collect();
        assert_eq!(loads(&shared), [2, 2], "least loaded first");
        // Both at their limit: queued, then full.
        let _q = placed(shared.offer(b"q".to_vec(), None));
        assert!(matches!(shared.offer(b"r".to_vec(), None), Offer::Full(_)));
        assert_eq!(shared.queue_space.available_permits(), 0);
        // Two answers on slot 1: it takes its inbox and the queued task,
        // which frees the queue place.
        let got = take(&shared, 1, 0);
        assert_eq!(got.len(), 2);
        let got = take(&shared, 1, 1);
        assert_eq!(got.len(), 1);
        assert_eq!(shared.queue_space.available_permits(), 1);
        assert_eq!(shared.stats().submitted, 5);
    }

    #[tokio::test]
    async fn lost_tasks_are_retried_then_failed() {
        let shared = shared(2, 4, 10);
        shared.worker_healthy(0);
        shared.worker_healthy(1);
        let a = placed(shared.offer(b"a".to_vec(), None));
        let b = placed(shared.offer(b"b".to_vec(), None));
        let mut on0 = take(&shared, 0, 0);
        assert_eq!(on0.len(), 1);
        let task_a = on0.remove(0);
        shared.worker_down(0);
        let status = ExitStatus::from_raw(9);
        // Attempt 1 of 2: retried, and dispatched to slot 1 at once.
        shared.worker_lost(0, vec![task_a], vec![], &Loss::Died(status), None);
        assert_eq!(loads(&shared), [0, 2]);
        let mut on1 = take(&shared, 1, 0);
        assert_eq!(on1.len(), 2);
        // Lost together: either could be the cause, so neither is charged;
        // both are suspects, back in the queue.
        shared.worker_down(1);
        let (t1, t2) = (on1.remove(0), on1.remove(0));
        shared.worker_lost(1, vec![t1, t2], vec![], &Loss::Died(status), None);
        let stats = shared.stats();
        assert_eq!((stats.failed, stats.retried, stats.queue_depth), (0, 3, 2));
        // A suspect runs alone: a healthy slot takes one task and no more.
        shared.worker_healthy(0);
        let mut alone = take(&shared, 0, 0);
        assert_eq!(alone.len(), 1);
        let _c = placed(shared.offer(b"c".to_vec(), None));
        assert_eq!(loads(&shared), [1, 0], "c waits: slot 0 isolates a suspect");
        // Lost alone: now it is charged; `a` (already charged once) fails.
        let suspect = alone.remove(0);
        let was_a = suspect.payload == b"a";
        shared.worker_down(0);
        shared.worker_lost(0, vec![suspect], vec![], &Loss::Died(status), None);
        if was_a {
            let want = TaskError::WorkerDied {
                status,
                attempts: 2,
            };
            assert_eq!(a.await, Err(want));
            assert_eq!(shared.stats().failed, 1);
        } else {
            assert_eq!(shared.stats().failed, 0);
            drop(a);
        }
        drop(b);
    }

    #[tokio::test]
    async fn breaker_fails_queued_tasks_and_refuses_new_ones() {
        let shared = shared(1, 1, 10);
        let queued = placed(shared.offer(b"a".to_vec(), None));
        shared.start_failed(0, StartFailure::Exited(ExitStatus::from_raw(1 << 8)));
        assert!(!shared.stats().degraded);
        shared.start_failed(0, StartFailure::Exited(ExitStatus::from_raw(2 << 8)));
        assert!(shared.stats().degraded);
        let degraded = TaskError::Degraded {
            last_failure: StartFailure::Exited(ExitStatus::from_raw(2 << 8)),
        };
        assert_eq!(queued.await, Err(degraded.clone()));
        assert!(matches!(shared.offer(b"b".to_vec(), None), Offer::Refused(e) if e == degraded));
        // A healthy worker closes the circuit.
        shared.worker_healthy(0);
        assert!(!shared.stats().degraded);
        let _ok = placed(shared.offer(b"c".to_vec(), None));
        assert_eq!(shared.queue_space.available_permits(), 10);
    }

    #[test]
    fn shutdown_drains_then_stops() {
        let shared = shared(1, 1, 10);
        shared.worker_healthy(0);
        let _h = placed(shared.offer(b"a".to_vec(), None));
        shared.begin_shutdown();
        assert_eq!(*shared.phase.borrow(), Phase::Draining);
        assert!(matches!(
            shared.offer(b"b".to_vec(), None),
            Offer::Refused(TaskError::ShutDown)
        ));
        let _taken = take(&shared, 0, 0);
        take(&shared, 0, 1);
        assert_eq!(*shared.phase.borrow(), Phase::Stopping);
        assert!(shared.stopping());
    }

    #[tokio::test]
    async fn stop_dispatch_resolves_queued_tasks_as_not_run() {
        let shared = shared(1, 1, 10);
        shared.worker_healthy(0);
        let running = placed(shared.offer(b"a".to_vec(), None));
        let mut on0 = take(&shared, 0, 0);
        let assigned = placed(shared.offer(b"b".to_vec(), None));
        let queued = placed(shared.offer(b"c".to_vec(), None));
        shared.stop_dispatch();
        assert_eq!(assigned.await, Err(TaskError::NotRun));
        assert_eq!(queued.await, Err(TaskError::NotRun));
        assert!(matches!(
            shared.offer(b"d".to_vec(), None),
            Offer::Refused(TaskError::NotRun)
        ));
        // The task on the worker is not retried when its worker dies.
        shared.worker_down(0);
        let status = ExitStatus::from_raw(9);
        shared.worker_lost(0, vec![on0.remove(0)], vec![], &Loss::Died(status), None);
        assert!(matches!(running.await, Err(TaskError::WorkerDied { .. })));
        let stats = shared.stats();
        assert_eq!(
            (stats.not_run, stats.queue_depth, stats.in_flight),
            (2, 0, 0)
        );
        assert_eq!(shared.queue_space.available_permits(), 10);
    }

    #[test]
    fn respawns_are_counted_by_cause() {
        let shared = shared(1, 1, 10);
        shared.worker_started(0, 1, false);
        shared.worker_healthy(0);
        shared.worker_down(0);
        let status = ExitStatus::from_raw(9);
        shared.worker_lost(0, vec![], vec![], &Loss::Died(status), None);
        shared.worker_started(0, 2, true);
        shared.start_failed(0, StartFailure::MissingPipes);
        shared.worker_started(0, 3, true);
        let stats = shared.stats();
        assert_eq!(stats.respawns, 2);
        assert_eq!(stats.respawn_causes.get(RespawnCause::Crashed), 1);
        assert_eq!(stats.respawn_causes.get(RespawnCause::StartFailed), 1);
        assert_eq!(stats.respawn_causes.total(), stats.respawns);
    }
}
