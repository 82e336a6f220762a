//! Noticing a worker that holds a task and says nothing: after
//! `--warn-silent` with a task in flight and no answer from that worker, one
//! warning naming it, the likely cause (its output is block-buffered because
//! it writes to a pipe) and the remedies. Logic only: fed pool snapshots.

use conductor::pool::PoolStats;
use std::time::{Duration, Instant};

/// What was last seen of one worker slot.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Seen {
    pid: Option<u32>,
    completed: u64,
}

/// Watches pool snapshots for a silent worker; warns once per run.
pub struct SilenceWatch {
    limit: Duration,
    slots: Vec<(Seen, Instant)>,
    warned: bool,
}

impl SilenceWatch {
    /// Warns after `limit` of silence (`Duration::ZERO`: never).
    pub fn new(limit: Duration) -> SilenceWatch {
        SilenceWatch {
            limit,
            slots: Vec::new(),
            warned: limit.is_zero(),
        }
    }

    /// Looks at a snapshot taken at `now`; returns the warning, once.
    pub fn observe(&mut self, stats: &PoolStats, now: Instant) -> Option<String> {
        if self.warned {
            return None;
        }
        self.slots.resize(
            stats.workers.len(),
            (
                Seen {
                    pid: None,
                    completed: 0,
                },
                now,
            ),
        );
        for (w, (seen, since)) in stats.workers.iter().zip(&mut self.slots) {
            let current = Seen {
                pid: w.pid,
                completed: w.completed,
            };
            // The clock runs while the same process holds a task it has not answered.
            if w.in_flight == 0 || current != *seen {
                *seen = current;
                *since = now;
                continue;
            }
            if now.duration_since(*since) >= self.limit {
                self.warned = true;
                let pid = w.pid.map_or(String::new(), |p| format!(" (pid {p})"));
                return Some(format!(
                    "conductor: worker {}{pid} has had a task for {:?} without answering; \
                     if it buffers its output when writing to a pipe (tr, sed without -u, \
                     grep without --line-buffered, python without -u), its answers are stuck \
                     in that buffer: rerun with --line-buffered (or make it flush each line); \
                     if its tasks are just slow, --warn-silent 0 silences this",
                    w.index, self.limit
                ));
            }
        }
        None
    }
}
