//! Dispatch: where tasks go. Every operation that moves tasks between
//! the queue and the slots lives here, so the rules are in one place:
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
//! * Poison: a suspect task ([`Task::isolate`], see
//!   [`lifecycle`](super::lifecycle)) runs alone on an idle worker, which
//!   takes nothing else until it is answered.
//! * With the circuit open and no healthy worker, or dispatch stopped, the
//!   queue fails fast.

use std::task::Waker;

use tokio::sync::SemaphorePermit;
use tokio::time::Instant;

use super::super::codec::Codec;
use super::super::config::OpenCircuit;
use super::super::error::TaskError;
use super::super::events::RespawnCause;
use super::super::task::{Outcome, Task};
use super::{resolve_all, Offer, Phase, Report, Shared, Slot, State};

impl Shared {
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
            st.worker_proven();
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
    pub(super) fn fail_queue_if_stopped(&self, st: &mut State, resolve: &mut Vec<(Task, Outcome)>) {
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

    /// Moves queued tasks to healthy workers with room, least loaded first.
    pub(super) fn dispatch(&self, st: &mut State) {
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
    pub(super) fn fail_queue_if_degraded(
        &self,
        st: &mut State,
        resolve: &mut Vec<(Task, Outcome)>,
    ) {
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
    pub(super) fn check_drained(&self, st: &mut State) {
        if st.phase == Phase::Draining && st.queue.is_empty() && st.assigned == 0 {
            st.phase = Phase::Stopping;
            self.phase.send_replace(Phase::Stopping);
            self.kick_all(st);
            self.changed.notify_waiters();
        }
    }
}

impl State {
    pub(super) fn healthy_count(&self) -> usize {
        self.slots.iter().filter(|s| s.healthy).count()
    }

    /// Circuit open and nobody healthy: tasks fail fast. With
    /// [`OpenCircuit::Hold`] they are held until the pool gives up, and
    /// then fail fast until a worker is proven (healthy is not enough).
    pub(super) fn degraded(&self) -> bool {
        match self.open_circuit {
            OpenCircuit::FailFast => self.breaker.is_open() && self.healthy_count() == 0,
            OpenCircuit::Hold { .. } => self.gave_up,
        }
    }

    /// A worker proved the program works (it answered a task or outlived
    /// the start-up window): failed starts are forgotten and, if the pool
    /// had given up, it takes tasks again.
    pub(super) fn worker_proven(&mut self) {
        self.breaker.worker_proven();
        if std::mem::take(&mut self.gave_up) {
            self.breaker.worker_healthy();
        }
    }

    pub(super) fn degraded_error(&self) -> TaskError {
        TaskError::Degraded {
            last_failure: self.breaker.last_failure(),
        }
    }

    /// The healthy slot with the fewest tasks, if one has room.
    pub(super) fn least_loaded(&self, limit: usize) -> Option<usize> {
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
    pub(super) fn idle_slot(&self) -> Option<usize> {
        let max = self.max_tasks;
        self.slots
            .iter()
            .position(|s| s.healthy && s.load == 0 && s.accepts(max))
    }

    pub(super) fn assign(&mut self, i: usize, task: Task) {
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
    pub(super) fn accepts(&self, max_tasks: u64) -> bool {
        self.retiring.is_none() && self.taken < max_tasks
    }
}
