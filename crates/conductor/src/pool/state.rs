//! The state every part of the pool shares: the task queue, one [`Slot`]
//! per worker, the circuit breaker, the counters and the pool's [`Phase`],
//! behind one `std` mutex that is never held across an `.await`.
//!
//! This file owns the types and the pool-wide operations (waking
//! connections, shutdown, kill, stats). The operations on them are split
//! by concern:
//!
//! * [`dispatch`]: where tasks go (queue, slot choice, isolation of
//!   suspects, failing the queue fast);
//! * [`lifecycle`]: what happens to workers (start, health, loss, respawn
//!   delay, recycling, memory, the circuit breaker).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;

use super::breaker::Breaker;
use super::config::{OpenCircuit, PoolConfig};
use super::error::{TaskError, Violation};
use super::events::{EventHook, PoolEvent, RespawnCause};
use super::latency::Histogram;
use super::monitor::Usage;
use super::stats::{Counters, PoolStats, WorkerStats};
use super::task::{Outcome, Task, TaskHandle};
use crate::{Command, ExitStatus};

mod dispatch;
mod lifecycle;

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

    /// Waits until slot `slot`'s supervisor is called.
    pub async fn called(&self, slot: usize) {
        match self.attention.get(slot) {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    }

    /// Passes `event` to the owner's hook, if any.
    pub fn emit(&self, event: PoolEvent) {
        if let Some(hook) = &self.events {
            hook(event);
        }
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
}

/// Resolves tasks outside the lock.
fn resolve_all(resolve: Vec<(Task, Outcome)>) {
    for (task, outcome) in resolve {
        task.resolve(outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::StartFailure;
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
