//! The tree-stop engine: what to do next and when, without doing any I/O.
//!
//! [`TreeStop`] walks the graceful stop (ask the tree to stop, wait the
//! grace, kill, reap, wait for the stragglers) and [`TreeWait`] the wait for
//! a tree to empty (wait on the direct child, then poll with a backoff). The
//! async and blocking drivers in [`super`] only carry out the steps.

use std::time::{Duration, Instant};

/// After SIGKILL the tree is normally gone at once; never wait longer than this.
pub(crate) const AFTER_KILL: Duration = Duration::from_secs(5);

/// A wait with no deadline re-checks the tree at least this often.
const NO_DEADLINE: Duration = Duration::from_secs(3600);

/// The longest pause between checks when the backend offers tree events.
pub(crate) const EVENT_SLICE: Duration = Duration::from_millis(100);

/// Backoff between checks of a tree that has no exit notification (a process
/// group's members are not our children): 1 ms doubling to 20 ms.
fn next_step(step: Duration) -> Duration {
    (step * 2).min(Duration::from_millis(20))
}

/// One step of a graceful stop, for a driver to carry out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ask the tree to stop (SIGTERM and SIGCONT; CTRL_BREAK_EVENT on
    /// Windows), then report with [`TreeStop::asked`].
    Ask,
    /// Wait until the tree is gone or the instant passes, then report with
    /// [`TreeStop::tree_gone`].
    AwaitTree(Instant),
    /// Kill the whole tree (SIGKILL, `cgroup.kill`, `TerminateJobObject`).
    Kill,
    /// Reap the direct child and keep its status.
    Reap,
    /// Done: return the status reaped.
    Finish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopState {
    Begin,
    Asking,
    Grace,
    InGrace,
    ReapStopped,
    Kill,
    ReapKilled,
    Settle,
    Settling,
    Done,
}

/// The graceful stop of a tree: ask, up to `grace` for it to go, then kill;
/// the direct child is reaped either way. A zero grace kills at once.
#[derive(Debug)]
pub(crate) struct TreeStop {
    grace: Duration,
    state: StopState,
}

impl TreeStop {
    pub fn new(grace: Duration) -> TreeStop {
        TreeStop {
            grace,
            state: StopState::Begin,
        }
    }

    /// The next step, at time `now`.
    pub fn next(&mut self, now: Instant) -> Stop {
        use StopState as S;
        let (step, state) = match self.state {
            S::Begin if self.grace.is_zero() => (Stop::Kill, S::ReapKilled),
            S::Begin => (Stop::Ask, S::Asking),
            S::Grace => (Stop::AwaitTree(now + self.grace), S::InGrace),
            S::ReapStopped => (Stop::Reap, S::Done),
            S::Kill => (Stop::Kill, S::ReapKilled),
            S::ReapKilled => (Stop::Reap, S::Settle),
            S::Settle => (Stop::AwaitTree(now + AFTER_KILL), S::Settling),
            // Waiting for a report that never came counts as "no".
            S::Asking | S::InGrace => (Stop::Kill, S::ReapKilled),
            S::Settling | S::Done => (Stop::Finish, S::Done),
        };
        self.state = state;
        step
    }

    /// Reports [`Stop::Ask`]: whether the request was delivered (if not,
    /// the grace is not worth waiting).
    pub fn asked(&mut self, delivered: bool) {
        if self.state == StopState::Asking {
            self.state = if delivered {
                StopState::Grace
            } else {
                StopState::Kill
            };
        }
    }

    /// Reports [`Stop::AwaitTree`]: whether the tree is gone.
    pub fn tree_gone(&mut self, gone: bool) {
        match self.state {
            StopState::InGrace if gone => self.state = StopState::ReapStopped,
            StopState::InGrace => self.state = StopState::Kill,
            StopState::Settling => self.state = StopState::Done,
            _ => {}
        }
    }
}

/// One step of waiting for a tree to empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TreeWaitStep {
    /// Every member is gone.
    Gone,
    /// The deadline passed first.
    TimedOut,
    /// The direct child still runs: wait for its exit, at most this long.
    WaitChild(Duration),
    /// Only other members remain: pause (`backoff` when polling, up to
    /// `left` when the backend has tree events), then check again.
    Pause {
        /// The polling backoff (never past the deadline).
        backoff: Duration,
        /// Time left until the deadline.
        left: Duration,
    },
}

/// Waiting until the direct child and every member of its tree are gone, or
/// a deadline passes.
#[derive(Debug)]
pub(crate) struct TreeWait {
    deadline: Option<Instant>,
    step: Duration,
}

impl TreeWait {
    pub fn new(deadline: Option<Instant>) -> TreeWait {
        TreeWait {
            deadline,
            step: Duration::from_millis(1),
        }
    }

    /// The next step, given what the driver just observed.
    pub fn next(&mut self, tree_alive: bool, child_exited: bool, now: Instant) -> TreeWaitStep {
        if !tree_alive {
            return TreeWaitStep::Gone;
        }
        let left = match self.deadline {
            Some(d) => d.saturating_duration_since(now),
            None => NO_DEADLINE,
        };
        if left.is_zero() {
            return TreeWaitStep::TimedOut;
        }
        if !child_exited {
            return TreeWaitStep::WaitChild(left);
        }
        let backoff = self.step.min(left);
        self.step = next_step(self.step);
        TreeWaitStep::Pause { backoff, left }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(grace: Duration, delivered: bool, gone: bool) -> Vec<Stop> {
        let now = Instant::now();
        let mut m = TreeStop::new(grace);
        let mut steps = Vec::new();
        loop {
            let s = m.next(now);
            steps.push(s);
            match s {
                Stop::Ask => m.asked(delivered),
                Stop::AwaitTree(_) => m.tree_gone(gone),
                Stop::Finish => return steps,
                _ => {}
            }
            assert!(steps.len() < 10, "{steps:?}");
        }
    }

    #[test]
    fn graceful_stop_reaps_without_killing() {
        let g = Duration::from_secs(1);
        let steps = run(g, true, true);
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0], Stop::Ask);
        assert!(matches!(steps[1], Stop::AwaitTree(_)));
        assert_eq!(&steps[2..], [Stop::Reap, Stop::Finish]);
    }

    #[test]
    fn kills_after_the_grace() {
        let steps = run(Duration::from_secs(1), true, false);
        assert_eq!(steps[0], Stop::Ask);
        assert_eq!(&steps[2..4], [Stop::Kill, Stop::Reap]);
        assert!(matches!(steps[4], Stop::AwaitTree(_)));
        assert_eq!(steps[5], Stop::Finish);
    }

    #[test]
    fn undelivered_request_or_zero_grace_kills_at_once() {
        for steps in [
            run(Duration::from_secs(1), false, true),
            run(Duration::ZERO, true, true),
        ] {
            let kill = steps.iter().position(|s| *s == Stop::Kill).unwrap();
            assert!(kill <= 1, "{steps:?}");
            assert!(!steps[..kill]
                .iter()
                .any(|s| matches!(s, Stop::AwaitTree(_))));
            assert_eq!(steps[kill + 1], Stop::Reap);
        }
    }

    #[test]
    fn tree_wait_backs_off_and_honours_the_deadline() {
        let now = Instant::now();
        let mut w = TreeWait::new(Some(now + Duration::from_millis(30)));
        assert_eq!(w.next(false, true, now), TreeWaitStep::Gone);
        assert!(matches!(
            w.next(true, false, now),
            TreeWaitStep::WaitChild(_)
        ));
        let mut pauses = Vec::new();
        for _ in 0..7 {
            match w.next(true, true, now) {
                TreeWaitStep::Pause { backoff, .. } => pauses.push(backoff.as_millis()),
                s => panic!("{s:?}"),
            }
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 20, 20]);
        let later = now + Duration::from_millis(30);
        assert_eq!(w.next(true, true, later), TreeWaitStep::TimedOut);
    }
}
