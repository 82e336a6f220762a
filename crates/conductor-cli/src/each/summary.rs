//! The counts of a run, for the progress bar and the summary line.

use conductor::jobs::{Outcome, TaskReport};
use std::time::Duration;

/// What happened so far.
#[derive(Debug, Default)]
pub struct Counts {
    pub succeeded: u64,
    pub failed: u64,
    pub retried: u64,
    pub timed_out: u64,
    pub stopped: u64,
    pub skipped: u64,
}

impl Counts {
    /// Counts one finished task.
    pub fn add(&mut self, r: &TaskReport) {
        if r.succeeded() {
            self.succeeded += 1;
        } else {
            self.failed += 1;
        }
        self.retried += u64::from(r.attempts.saturating_sub(1));
        match r.outcome {
            Outcome::TimedOut(_) => self.timed_out += 1,
            Outcome::Stopped(_) => self.stopped += 1,
            _ => {}
        }
    }

    /// The summary line (without "conductor: " and newline).
    pub fn line(&self, wall: Duration) -> String {
        let done = self.succeeded + self.failed;
        let mut s = format!(
            "{} succeeded, {} failed, {} retried, {} timed out",
            self.succeeded, self.failed, self.retried, self.timed_out
        );
        if self.stopped > 0 {
            s.push_str(&format!(", {} stopped", self.stopped));
        }
        if self.skipped > 0 {
            s.push_str(&format!(", {} skipped (resumed)", self.skipped));
        }
        s.push_str(&format!(
            " in {:.2}s ({:.0} tasks/s)",
            wall.as_secs_f64(),
            done as f64 / wall.as_secs_f64().max(1e-9)
        ));
        s
    }
}
