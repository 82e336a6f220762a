//! `--shard I/N` and `--shard auto`: run only this machine's share of the
//! inputs, so that N independent machines (a Slurm job array, a Kubernetes
//! Indexed Job, or N hand-started runs) together run every input once.
//!
//! The rule, pure and stable: inputs are numbered from 1 in the order they
//! are read (the sequence number that results, `--json` and joblogs
//! carry), and shard I of N (I from 1 to N) takes the inputs whose number
//! `n` has `(n - 1) % N == I - 1`: input 1 to shard 1, input 2 to shard 2,
//! ..., input N+1 to shard 1 again. Round robin by position, so shards get
//! equal shares (within one) of any input, and which shard runs an input
//! depends only on its position, never on timing or on the other shards.
//! Each shard keeps the inputs' own sequence numbers, so the shards' outputs
//! and joblogs merge back into one complete set by that number
//! (`sort -n` on the first column, or on `line` in `--json`).
//!
//! `--shard auto` reads the shard from the environment:
//! * Slurm job arrays: `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT`,
//!   or with `SLURM_ARRAY_TASK_MIN`/`SLURM_ARRAY_TASK_MAX` (I = ID - MIN + 1,
//!   N = MAX - MIN + 1; `--array=0-9` or `--array=1-10` both give 10 shards);
//! * Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based) with the
//!   count in `JOB_COMPLETIONS` (Kubernetes does not export the Job's
//!   `completions`: set it in the pod template's `env`).

use thiserror::Error;

/// This run's share of the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index, below `count`.
    index: u64,
    /// Number of shards, at least 1.
    count: u64,
}

/// A `--shard` value or environment that does not name a shard.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ShardError {
    /// Not `I/N` with 1 <= I <= N, nor `auto`.
    #[error("--shard: expected I/N with 1 <= I <= N, or auto, got '{0}'")]
    Syntax(String),
    /// `auto` without a usable environment.
    #[error("--shard auto: {0}")]
    Environment(String),
}

impl Shard {
    /// Shard `i` (1-based) of `n`.
    ///
    /// ```ignore
    /// assert!(Shard::new(1, 3).is_some() && Shard::new(4, 3).is_none());
    /// ```
    pub fn new(i: u64, n: u64) -> Option<Shard> {
        (n >= 1 && (1..=n).contains(&i)).then(|| Shard {
            index: i - 1,
            count: n,
        })
    }

    /// Parses `I/N` or `auto` (then `env` looks variables up: pass
    /// `|k| std::env::var(k).ok()`).
    ///
    /// ```ignore
    /// let s = Shard::parse("2/3", |_| None).unwrap();
    /// assert_eq!((s.contains(2), s.contains(3), s.contains(5)), (true, false, true));
    /// ```
    pub fn parse(value: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        if value == "auto" {
            return Shard::from_env(env);
        }
        let bad = || ShardError::Syntax(value.into());
        let (i, n) = value.split_once('/').ok_or_else(bad)?;
        let (i, n) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Shard::new(i, n).ok_or_else(bad)
    }

    /// The shard named by Slurm's or Kubernetes' environment variables.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let num = |k: &str| -> Result<Option<u64>, ShardError> {
            match env(k) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ShardError::Environment(format!("{k}={v} is not a number"))),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = match (num("SLURM_ARRAY_TASK_COUNT")?, num("SLURM_ARRAY_TASK_MAX")?) {
                (Some(c), _) => c,
                (None, Some(max)) if max >= min => max - min + 1,
                _ => {
                    return Err(ShardError::Environment(
                        "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX".into(),
                    ))
                }
            };
            // Arrays with a step (--array=0-10:2) or lists have holes: the
            // position among the ids is not id - min; refuse rather than skip inputs.
            if let (Some(max), Some(_)) =
                (num("SLURM_ARRAY_TASK_MAX")?, num("SLURM_ARRAY_TASK_COUNT")?)
            {
                if max.checked_sub(min).map(|d| d + 1) != Some(count) {
                    return Err(ShardError::Environment(format!(
                        "the array's ids {min}-{max} are not {count} consecutive numbers; use --shard I/N"
                    )));
                }
            }
            let i = id.checked_sub(min).map(|d| d + 1).unwrap_or(0);
            return Shard::new(i, count).ok_or_else(|| {
                ShardError::Environment(format!(
                    "SLURM_ARRAY_TASK_ID={id} is not within {count} tasks from {min}"
                ))
            });
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let Some(count) = num("JOB_COMPLETIONS")? else {
                return Err(ShardError::Environment(
                    "JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not (set it to the Job's completions)".into(),
                ));
            };
            return Shard::new(index + 1, count).ok_or_else(|| {
                ShardError::Environment(format!(
                    "JOB_COMPLETION_INDEX={index} is not below {count}"
                ))
            });
        }
        Err(ShardError::Environment(
            "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set".into(),
        ))
    }

    /// The position (from 1) of input `seq` among this shard's inputs, for
    /// `seq` in the shard.
    ///
    /// ```ignore
    /// assert_eq!(Shard::new(2, 3).unwrap().position(5), 2);
    /// ```
    pub fn position(&self, seq: u64) -> u64 {
        (seq.saturating_sub(1)) / self.count + 1
    }

    /// Whether input number `seq` (1-based) belongs to this shard.
    pub fn contains(&self, seq: u64) -> bool {
        seq >= 1 && (seq - 1) % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn parse_forms() {
        assert_eq!(
            Shard::parse("1/1", env(&[])),
            Ok(Shard { index: 0, count: 1 })
        );
        assert_eq!(
            Shard::parse("3/4", env(&[])),
            Ok(Shard { index: 2, count: 4 })
        );
        for bad in ["0/4", "5/4", "1/0", "x", "1/", "/2", "-1/2"] {
            assert!(
                matches!(Shard::parse(bad, env(&[])), Err(ShardError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn auto_from_slurm_and_kubernetes() {
        let s = |v: &[(&str, &str)]| Shard::parse("auto", env(v));
        assert_eq!(
            s(&[
                ("SLURM_ARRAY_TASK_ID", "0"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "3")
            ]),
            Ok(Shard { index: 0, count: 4 })
        );
        assert_eq!(
            s(&[
                ("SLURM_ARRAY_TASK_ID", "10"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "10")
            ]),
            Ok(Shard {
                index: 9,
                count: 10
            })
        );
        assert!(
            s(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "4")
            ])
            .is_err(),
            "stepped array"
        );
        assert_eq!(
            s(&[("JOB_COMPLETION_INDEX", "2"), ("JOB_COMPLETIONS", "3")]),
            Ok(Shard { index: 2, count: 3 })
        );
        assert!(s(&[("JOB_COMPLETION_INDEX", "3"), ("JOB_COMPLETIONS", "3")]).is_err());
        assert!(s(&[("JOB_COMPLETION_INDEX", "0")]).is_err());
        assert!(s(&[]).is_err());
    }

    proptest! {
        /// Every input lands in exactly one shard, and shares differ by at most one.
        #[test]
        fn partition(n in 1u64..20, inputs in 0u64..200) {
            let mut sizes = vec![0u64; n as usize];
            for seq in 1..=inputs {
                let owners: Vec<u64> = (1..=n).filter(|&i| Shard::new(i, n).unwrap().contains(seq)).collect();
                prop_assert_eq!(owners.len(), 1);
                sizes[(owners[0] - 1) as usize] += 1;
            }
            prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
    }
}
