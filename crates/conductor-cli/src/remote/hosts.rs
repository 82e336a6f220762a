//! Which hosts are up, pure logic without I/O: a host whose connection
//! fails (ssh exit 255: refused, unreachable, dropped mid-run) is marked
//! down and its tasks go elsewhere; it is tried again after a backoff that
//! doubles with each consecutive failure (1 s, 2 s, 4 s ... capped at
//! 1 min), and a task that succeeds there marks it up again.
//!
//! `conductor each` picks a host per task with [`HostBook::pick`];
//! `conductor pool` gets the same behaviour from the pool's per-slot
//! respawn backoff.

use std::time::{Duration, Instant};

/// First delay before a down host is tried again.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Longest delay before a down host is tried again.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct Host {
    slots: usize,
    running: usize,
    failures: u32,
    down_until: Option<Instant>,
}

/// Slots in use and up/down state of each host (indexed like the logins).
///
/// ```ignore
/// let mut book = HostBook::new(&[1, 2]);
/// let now = Instant::now();
/// let h = book.pick(now).unwrap();
/// book.failed(h, now);             // connection refused: down
/// assert_ne!(book.pick(now), Some(h));
/// ```
#[derive(Debug, Clone)]
pub struct HostBook {
    hosts: Vec<Host>,
}

impl HostBook {
    /// Hosts with the given numbers of slots.
    pub fn new(slots: &[usize]) -> HostBook {
        HostBook {
            hosts: slots
                .iter()
                .map(|&slots| Host {
                    slots,
                    running: 0,
                    failures: 0,
                    down_until: None,
                })
                .collect(),
        }
    }

    /// Takes a slot on the up host with the most free slots; `None` when
    /// every up host is full or every host is down.
    pub fn pick(&mut self, now: Instant) -> Option<usize> {
        let i = (0..self.hosts.len())
            .filter(|&i| self.is_up(i, now) && self.hosts[i].running < self.hosts[i].slots)
            .max_by_key(|&i| (self.hosts[i].slots - self.hosts[i].running, usize::MAX - i))?;
        self.hosts[i].running += 1;
        Some(i)
    }

    /// Whether host `i` may be given tasks at `now`.
    pub fn is_up(&self, i: usize, now: Instant) -> bool {
        self.hosts
            .get(i)
            .is_some_and(|h| h.down_until.is_none_or(|t| now >= t))
    }

    /// When the next down host comes up again (to wait for when `pick` finds nothing).
    pub fn next_retry(&self) -> Option<Instant> {
        self.hosts.iter().filter_map(|h| h.down_until).min()
    }

    /// The task on host `i` finished and the host answered.
    pub fn succeeded(&mut self, i: usize) {
        if let Some(h) = self.hosts.get_mut(i) {
            h.running = h.running.saturating_sub(1);
            h.failures = 0;
            h.down_until = None;
        }
    }

    /// The task on host `i` could not reach it: the host is down until the
    /// backoff passes; returns that delay. The task should be retried elsewhere.
    pub fn failed(&mut self, i: usize, now: Instant) -> Duration {
        let Some(h) = self.hosts.get_mut(i) else {
            return Duration::ZERO;
        };
        h.running = h.running.saturating_sub(1);
        h.failures = h.failures.saturating_add(1);
        let delay = BACKOFF_BASE
            .saturating_mul(1 << (h.failures - 1).min(16))
            .min(BACKOFF_MAX);
        h.down_until = Some(now + delay);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_host_is_skipped_then_retried_with_backoff() {
        let mut b = HostBook::new(&[1, 1]);
        let t0 = Instant::now();
        assert_eq!(b.pick(t0), Some(0));
        assert_eq!(b.failed(0, t0), Duration::from_secs(1));
        assert_eq!(b.pick(t0), Some(1));
        assert_eq!(b.pick(t0), None, "host 1 full, host 0 down");
        assert_eq!(b.next_retry(), Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.pick(t1), Some(0));
        assert_eq!(b.failed(0, t1), Duration::from_secs(2), "doubles");
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!(b.pick(t2), Some(0));
        b.succeeded(0);
        assert!(b.is_up(0, t2));
        assert_eq!(b.next_retry(), None);
        let t3 = t2 + Duration::from_secs(3600);
        for _ in 0..30 {
            b.pick(t3);
            assert!(b.failed(0, t3) <= BACKOFF_MAX);
        }
    }

    #[test]
    fn picks_the_freest_host() {
        let mut b = HostBook::new(&[1, 3]);
        let t = Instant::now();
        assert_eq!(b.pick(t), Some(1));
        assert_eq!(b.pick(t), Some(1));
        assert_eq!(b.pick(t), Some(0));
        assert_eq!(b.pick(t), Some(1));
        assert_eq!(b.pick(t), None);
    }
}
