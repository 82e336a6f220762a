//! The tasks in flight on one worker connection, keyed by wire id.
//!
//! A slab: a wire id is `generation << 32 | slot`, so lookup is an index and
//! an equality check, with no hashing, and a reply for an id that is not in
//! flight (unknown, or answered already) is detected because the stored id
//! differs or the slot is empty. Each entry carries its deadline, if the
//! pool has a task timeout.

use tokio::time::Instant;

use super::task::Task;

#[derive(Debug)]
struct Entry {
    id: u64,
    deadline: Option<Instant>,
    task: Task,
}

/// Tasks written to one worker and not yet answered.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    entries: Vec<Option<Entry>>,
    free: Vec<u32>,
    len: usize,
    generation: u32,
}

impl InFlight {
    /// Number of tasks in flight.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no task is in flight.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `task` and returns the wire id it is sent under, and its body.
    pub fn insert(&mut self, task: Task, deadline: Option<Instant>) -> (u64, &[u8]) {
        self.generation = self.generation.wrapping_add(1);
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.entries.push(None);
                // A worker never has anywhere near 2^32 tasks in flight.
                u32::try_from(self.entries.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let id = u64::from(self.generation) << 32 | u64::from(index);
        self.len += 1;
        match self.entries.get_mut(index as usize) {
            Some(place) => {
                let entry = place.insert(Entry { id, deadline, task });
                (id, &entry.task.payload)
            }
            None => (id, &[]),
        }
    }

    /// Takes the task sent under `id`; `None` if no such task is in flight.
    pub fn remove(&mut self, id: u64) -> Option<Task> {
        let index = (id & u64::from(u32::MAX)) as u32;
        let place = self.entries.get_mut(index as usize)?;
        if place.as_ref().is_some_and(|entry| entry.id == id) {
            let entry = place.take()?;
            self.free.push(index);
            self.len -= 1;
            Some(entry.task)
        } else {
            None
        }
    }

    /// Gives every task without a deadline `deadline`; whether any got it.
    pub fn set_deadlines(&mut self, deadline: Instant) -> bool {
        let mut any = false;
        for entry in self.entries.iter_mut().flatten() {
            if entry.deadline.is_none() {
                entry.deadline = Some(deadline);
                any = true;
            }
        }
        any
    }

    /// Moves every task into `out`, leaving the table empty.
    pub fn drain_into(&mut self, out: &mut Vec<Task>) {
        out.extend(
            self.entries
                .iter_mut()
                .filter_map(|e| e.take())
                .map(|e| e.task),
        );
        self.entries.clear();
        self.free.clear();
        self.len = 0;
    }

    /// The oldest task (first sent) whose deadline is at or before `now`,
    /// and the earliest deadline among the tasks not yet expired.
    pub fn oldest_expired(&self, now: Instant) -> (Option<u64>, Option<Instant>) {
        let mut oldest: Option<(Instant, u64)> = None;
        let mut next: Option<Instant> = None;
        for entry in self.entries.iter().flatten() {
            let Some(deadline) = entry.deadline else {
                continue;
            };
            // Within one deadline (one batch), the generation gives the send order.
            let key = (deadline, entry.id >> 32);
            if deadline <= now {
                match oldest {
                    Some((d, id)) if (d, id >> 32) <= key => {}
                    _ => oldest = Some((deadline, entry.id)),
                }
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        (oldest.map(|(_, id)| id), next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_are_checked() {
        let mut table = InFlight::default();
        let (a, _ha) = Task::new(b"a".to_vec());
        let (b, _hb) = Task::new(b"b".to_vec());
        let ida = table.insert(a, None).0;
        let idb = table.insert(b, None).0;
        assert_ne!(ida, idb);
        assert_eq!(table.len(), 2);
        assert_eq!(table.remove(ida).map(|t| t.payload), Some(b"a".to_vec()));
        // Answered twice, or never sent: not in flight.
        assert!(table.remove(ida).is_none());
        assert!(table.remove(12345).is_none());
        // The freed index is reused under a new id; the old id stays dead.
        let (c, _hc) = Task::new(b"c".to_vec());
        let idc = table.insert(c, None).0;
        assert_eq!(idc & 0xffff_ffff, ida & 0xffff_ffff);
        assert!(table.remove(ida).is_none());
        assert!(table.remove(idc).is_some());
        let mut rest = Vec::new();
        table.drain_into(&mut rest);
        assert_eq!(rest.len(), 1);
        assert!(table.is_empty());
    }

    #[test]
    fn deadlines() {
        let mut table = InFlight::default();
        let now = Instant::now();
        let (a, _ha) = Task::new(vec![]);
        let (b, _hb) = Task::new(vec![]);
        let (c, _hc) = Task::new(vec![]);
        let ida = table.insert(a, Some(now)).0;
        table.insert(b, Some(now));
        table.insert(c, Some(now + Duration::from_secs(5)));
        let (oldest, next) = table.oldest_expired(now);
        assert_eq!(oldest, Some(ida));
        assert_eq!(next, Some(now + Duration::from_secs(5)));
    }
}
