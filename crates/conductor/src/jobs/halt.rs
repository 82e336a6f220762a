//! The halt policy: when to stop a run early, with GNU parallel's meaning of
//! `--halt now|soon,fail=N|fail=N%|success=N|success=N%|done=N`.

use std::fmt;

/// How quickly to stop once the policy triggers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltWhen {
    /// Start no new task; let the running ones finish.
    Soon,
    /// Stop every running task's tree at once.
    Now,
}

/// What the policy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltOn {
    /// Failed tasks.
    Fail,
    /// Succeeded tasks.
    Success,
    /// Finished tasks, either way.
    Done,
}

/// The threshold: a count, or a percentage of all tasks (of those finished
/// so far while the total is unknown, once at least three have finished).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// This many tasks.
    Count(u64),
    /// This percentage of the tasks.
    Percent(f64),
}

/// A parsed `--halt` policy.
///
/// ```
/// use conductor::jobs::{HaltPolicy, HaltWhen, Tally};
/// let p: HaltPolicy = "now,fail=1".parse().unwrap();
/// assert_eq!(p.when, HaltWhen::Now);
/// let tally = Tally { succeeded: 3, failed: 1, total: None };
/// assert!(p.triggered(&tally));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HaltPolicy {
    /// How quickly to stop.
    pub when: HaltWhen,
    /// What is counted.
    pub on: HaltOn,
    /// The threshold.
    pub threshold: Threshold,
}

/// Finished tasks so far, for [`HaltPolicy::triggered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Tasks that succeeded.
    pub succeeded: u64,
    /// Tasks that failed.
    pub failed: u64,
    /// The number of tasks in the run, when known.
    pub total: Option<u64>,
}

/// A `--halt` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid halt policy {0:?}: expected now|soon,fail=N|fail=N%|success=N|success=N%|done=N")]
pub struct HaltParseError(pub String);

impl std::str::FromStr for HaltPolicy {
    type Err = HaltParseError;

    fn from_str(s: &str) -> Result<HaltPolicy, HaltParseError> {
        let err = || HaltParseError(s.to_string());
        // GNU parallel's legacy numbers: 1 = soon,fail=1; 2 = now,fail=1.
        match s {
            "1" => return "soon,fail=1".parse(),
            "2" => return "now,fail=1".parse(),
            _ => {}
        }
        let (when, rest) = s.split_once(',').ok_or_else(err)?;
        let when = match when {
            "now" => HaltWhen::Now,
            "soon" => HaltWhen::Soon,
            _ => return Err(err()),
        };
        let (on, n) = rest.split_once('=').ok_or_else(err)?;
        let on = match on {
            "fail" => HaltOn::Fail,
            "success" => HaltOn::Success,
            "done" => HaltOn::Done,
            _ => return Err(err()),
        };
        let threshold = match n.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.parse().map_err(|_| err())?;
                if !(p > 0.0 && p <= 100.0) {
                    return Err(err());
                }
                Threshold::Percent(p)
            }
            None => {
                let n: u64 = n.parse().map_err(|_| err())?;
                if n == 0 {
                    return Err(err());
                }
                Threshold::Count(n)
            }
        };
        Ok(HaltPolicy {
            when,
            on,
            threshold,
        })
    }
}

impl fmt::Display for HaltPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let when = match self.when {
            HaltWhen::Now => "now",
            HaltWhen::Soon => "soon",
        };
        let on = match self.on {
            HaltOn::Fail => "fail",
            HaltOn::Success => "success",
            HaltOn::Done => "done",
        };
        match self.threshold {
            Threshold::Count(n) => write!(f, "{when},{on}={n}"),
            Threshold::Percent(p) => write!(f, "{when},{on}={p}%"),
        }
    }
}

impl HaltPolicy {
    /// True once the finished tasks in `tally` reach the threshold.
    pub fn triggered(&self, tally: &Tally) -> bool {
        let counted = match self.on {
            HaltOn::Fail => tally.failed,
            HaltOn::Success => tally.succeeded,
            HaltOn::Done => tally.failed + tally.succeeded,
        };
        match self.threshold {
            Threshold::Count(n) => counted >= n,
            Threshold::Percent(p) => {
                let finished = tally.failed + tally.succeeded;
                let base = match tally.total {
                    Some(t) => t,
                    None if finished >= 3 => finished,
                    None => return false,
                };
                base > 0 && (counted as f64) * 100.0 >= p * base as f64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64, f: u64, total: Option<u64>) -> Tally {
        Tally {
            succeeded: s,
            failed: f,
            total,
        }
    }

    #[test]
    fn parses_gnu_forms() {
        for s in [
            "now,fail=1",
            "soon,fail=3",
            "now,success=2",
            "soon,done=5",
            "now,fail=10%",
        ] {
            assert_eq!(s.parse::<HaltPolicy>().unwrap().to_string(), s);
        }
        assert_eq!("2".parse::<HaltPolicy>().unwrap().to_string(), "now,fail=1");
        for bad in [
            "",
            "now",
            "now,fail",
            "later,fail=1",
            "now,fail=0",
            "now,fail=x",
            "now,fail=200%",
            "now,oops=1",
        ] {
            assert!(bad.parse::<HaltPolicy>().is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_and_percentages() {
        let p: HaltPolicy = "soon,fail=2".parse().unwrap();
        assert!(!p.triggered(&t(10, 1, None)));
        assert!(p.triggered(&t(0, 2, None)));
        let p: HaltPolicy = "now,success=1".parse().unwrap();
        assert!(p.triggered(&t(1, 5, None)));
        let p: HaltPolicy = "now,fail=50%".parse().unwrap();
        assert!(
            !p.triggered(&t(0, 1, None)),
            "fewer than 3 finished, total unknown"
        );
        assert!(p.triggered(&t(1, 2, None)));
        assert!(!p.triggered(&t(0, 4, Some(10))));
        assert!(p.triggered(&t(0, 5, Some(10))));
        let p: HaltPolicy = "soon,done=3".parse().unwrap();
        assert!(p.triggered(&t(2, 1, None)));
    }
}
