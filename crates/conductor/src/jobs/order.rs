//! Putting reports back in input order: tasks finish in any order, and each
//! is released once every task before it was (or will never be: skipped).

use std::collections::{BTreeMap, HashSet};

/// Releases items in sequence order (1, 2, 3...), holding back those that
/// arrive early; sequence numbers marked as skipped are stepped over.
///
/// ```
/// use conductor::jobs::InOrder;
/// let mut order = InOrder::new([2].into_iter().collect());
/// assert!(order.push(3, "c").is_empty());
/// assert_eq!(order.push(1, "a"), ["a", "c"]);
/// assert_eq!(order.push(5, "e"), Vec::<&str>::new());
/// assert_eq!(order.drain(), ["e"]);
/// ```
#[derive(Debug)]
pub struct InOrder<T> {
    pending: BTreeMap<u64, T>,
    next: u64,
    skip: HashSet<u64>,
}

impl<T> InOrder<T> {
    /// Starts at sequence number 1; `skip` will never be pushed.
    pub fn new(skip: HashSet<u64>) -> InOrder<T> {
        InOrder {
            pending: BTreeMap::new(),
            next: 1,
            skip,
        }
    }

    /// Takes item `seq`; returns every item now releasable, in order.
    pub fn push(&mut self, seq: u64, item: T) -> Vec<T> {
        self.pending.insert(seq, item);
        let mut ready = Vec::new();
        loop {
            if self.skip.remove(&self.next) {
                self.next += 1;
            } else if let Some(r) = self.pending.remove(&self.next) {
                ready.push(r);
                self.next += 1;
            } else {
                return ready;
            }
        }
    }

    /// Everything still held back, in order (the run ended with gaps).
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.pending).into_values().collect()
    }

    /// Items held back.
    pub fn held(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::InOrder;

    #[test]
    fn releases_in_order_whatever_the_arrival_order() {
        let mut o = InOrder::new(Default::default());
        let mut out = Vec::new();
        for s in [4u64, 2, 1, 6, 3, 5] {
            out.extend(o.push(s, s));
        }
        assert_eq!(out, [1, 2, 3, 4, 5, 6]);
        assert_eq!(o.held(), 0);
    }

    #[test]
    fn skipped_numbers_are_stepped_over() {
        let mut o = InOrder::new([1, 3].into_iter().collect());
        assert_eq!(o.push(2, 'b'), ['b']);
        assert_eq!(o.push(4, 'd'), ['d']);
        assert!(o.push(6, 'f').is_empty());
        assert_eq!(o.drain(), ['f']);
    }
}
