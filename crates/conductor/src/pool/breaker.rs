//! The circuit breaker: counts consecutive failed worker starts across the
//! pool and opens after too many, so that tasks fail fast instead of
//! waiting on a worker program that cannot start.
//!
//! A start fails when the worker cannot be spawned, fails its health check,
//! or dies within the start-up window without answering a task. A worker
//! that passes its health check closes the circuit (tasks flow again); the
//! failure count resets only when a worker is proven, i.e. outlives the
//! start-up window, or when any worker answers a task. So a program that
//! passes the ping and then dies at once keeps the count climbing, while
//! tasks that crash fresh workers (poison) do not open the circuit as long
//! as other tasks are being answered: the attempt limit deals with them.

use super::error::StartFailure;

/// Circuit breaker state, kept under the pool lock.
#[derive(Debug)]
pub(super) struct Breaker {
    threshold: u32,
    consecutive: u32,
    open: bool,
    /// When the circuit last opened.
    opened_at: Option<tokio::time::Instant>,
    last_failure: Option<StartFailure>,
}

impl Breaker {
    pub fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold,
            consecutive: 0,
            open: false,
            opened_at: None,
            last_failure: None,
        }
    }

    /// Records a failed start; returns whether this opened the circuit.
    pub fn start_failed(&mut self, reason: StartFailure) -> bool {
        self.consecutive = self.consecutive.saturating_add(1);
        self.last_failure = Some(reason);
        let opens = !self.open && self.consecutive >= self.threshold;
        if opens {
            self.open = true;
            // Re-opening with no worker proven in between continues the
            // same episode (a line worker counts as healthy until it fails).
            self.opened_at.get_or_insert_with(tokio::time::Instant::now);
        }
        opens
    }

    /// A worker passed its health check: close the circuit.
    pub fn worker_healthy(&mut self) {
        self.open = false;
    }

    /// A worker answered a task or outlived the start-up window.
    pub fn worker_proven(&mut self) {
        self.consecutive = 0;
        self.opened_at = None;
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// How long the circuit has been open (zero if it is closed), counted
    /// from when it first opened since a worker was last proven.
    pub fn open_for(&self) -> std::time::Duration {
        match (self.open, self.opened_at) {
            (true, Some(at)) => at.elapsed(),
            _ => std::time::Duration::ZERO,
        }
    }

    /// Why the last start failed.
    pub fn last_failure(&self) -> StartFailure {
        // Only asked once a start failed.
        self.last_failure
            .clone()
            .unwrap_or(StartFailure::MissingPipes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(ms: u64) -> StartFailure {
        StartFailure::NoPong {
            limit: std::time::Duration::from_millis(ms),
        }
    }

    #[test]
    fn opens_after_threshold_and_recovers() {
        let mut b = Breaker::new(3);
        assert!(!b.start_failed(fail(0)));
        assert!(!b.start_failed(fail(1)));
        assert!(b.start_failed(fail(2)));
        assert!(b.is_open());
        assert!(!b.start_failed(fail(3)), "already open");
        assert_eq!(b.last_failure(), fail(3));
        // Healthy closes, but one more fast death reopens until proven.
        b.worker_healthy();
        assert!(!b.is_open());
        assert!(b.start_failed(fail(4)));
        b.worker_healthy();
        b.worker_proven();
        assert!(!b.start_failed(fail(5)));
        assert!(!b.is_open());
    }
}
