//! Task latency in a fixed-size, lock-free histogram: log-linear buckets
//! (8 per power of two, so a percentile is within 12.5 %), in microseconds,
//! from 1 µs to about 12 days. Recording is four relaxed atomic operations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two.
const SUB: u64 = 8;
const SUB_BITS: u32 = 3;
/// Buckets: values below `2 * SUB` exactly, then `SUB` per power of two up to 2^40 µs.
const BUCKETS: usize = (2 * SUB + (40 - SUB_BITS as u64) * SUB) as usize;
/// The bucket bounds exported to Prometheus: powers of two from 2^7 µs
/// (128 µs) to 2^26 µs (about 67 s); they fall on bucket edges, so the
/// cumulative counts are exact.
const EXPORT_BOUNDS: std::ops::RangeInclusive<u32> = 7..=26;

/// The pool's latency histogram.
#[derive(Debug)]
pub(super) struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_micros: AtomicU64,
    max_micros: AtomicU64,
}

fn index(micros: u64) -> usize {
    if micros < 2 * SUB {
        return micros as usize;
    }
    let e = 63 - micros.leading_zeros();
    let sub = (micros >> (e - SUB_BITS)) & (SUB - 1);
    let i = 2 * SUB + u64::from(e - SUB_BITS - 1) * SUB + sub;
    (i as usize).min(BUCKETS - 1)
}

/// The smallest value of bucket `i`.
fn low(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let e = (i - 2 * SUB) / SUB + u64::from(SUB_BITS) + 1;
    let sub = (i - 2 * SUB) % SUB;
    (SUB + sub) << (e - u64::from(SUB_BITS))
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            max_micros: AtomicU64::new(0),
        }
    }

    /// Counts one task that took `latency`.
    pub fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.buckets.get(index(micros)) {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// Percentiles, maximum and export buckets as of now.
    pub fn snapshot(&self) -> LatencyStats {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let count: u64 = counts.iter().sum();
        let max = self.max_micros.load(Ordering::Relaxed);
        let quantile = |q: f64| -> Duration {
            if count == 0 {
                return Duration::ZERO;
            }
            let rank = ((q * count as f64).ceil() as u64).clamp(1, count);
            let mut seen = 0;
            for (i, n) in counts.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    // The bucket's upper end, at most the largest value seen.
                    return Duration::from_micros((low(i + 1).saturating_sub(1)).min(max));
                }
            }
            Duration::from_micros(max)
        };
        let buckets = EXPORT_BOUNDS
            .map(|k| {
                let bound = 1u64 << k;
                let below: u64 = counts
                    .iter()
                    .enumerate()
                    .take_while(|(i, _)| low(i + 1) <= bound + 1)
                    .map(|(_, n)| n)
                    .sum();
                (Duration::from_micros(bound), below)
            })
            .collect();
        LatencyStats {
            count,
            sum: Duration::from_micros(self.sum_micros.load(Ordering::Relaxed)),
            p50: quantile(0.50),
            p90: quantile(0.90),
            p99: quantile(0.99),
            max: Duration::from_micros(max),
            buckets,
        }
    }
}

/// Task latency (from submission to the worker's answer) in
/// [`PoolStats`](super::PoolStats): percentiles from a fixed-size histogram
/// (within 12.5 %), and the histogram's cumulative buckets for export.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conductor::{pool::{Mode, Pool}, Command};
/// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(1).build().await?;
/// pool.submit("x").await?;
/// let latency = pool.stats().latency;
/// assert_eq!(latency.count, 1);
/// assert!(latency.p50 <= latency.max && latency.max > std::time::Duration::ZERO);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LatencyStats {
    /// Tasks answered by a worker (results and task errors).
    pub count: u64,
    /// Their latencies added up.
    pub sum: Duration,
    /// Median.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
    /// Cumulative counts: tasks that took at most the bound (powers of two
    /// of microseconds, 128 µs to about 67 s), in increasing order.
    pub buckets: Vec<(Duration, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        for v in [0u64, 1, 15, 16, 17, 31, 32, 100, 1000, 123_456, 1 << 30] {
            let i = index(v);
            assert!(low(i) <= v && v < low(i + 1), "{v} in bucket {i}");
        }
        for i in 0..BUCKETS - 1 {
            assert!(low(i) < low(i + 1));
        }
    }

    #[test]
    fn percentiles_within_an_eighth() {
        let h = Histogram::new();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        assert_eq!(s.count, 1000);
        assert_eq!(s.max, Duration::from_millis(1000));
        for (got, want) in [(s.p50, 500.0), (s.p90, 900.0), (s.p99, 990.0)] {
            let got = got.as_secs_f64() * 1000.0;
            assert!(got >= want && got <= want * 1.125, "{got} vs {want}");
        }
        // 2^10 µs = 1.024 ms: one task at most that.
        let (bound, n) = s.buckets[3];
        assert_eq!((bound, n), (Duration::from_micros(1 << 10), 1));
        assert_eq!(s.buckets.last().map(|b| b.1), Some(1000));
    }
}
