//! `--launcher PREFIX`: a command put in front of every task or worker,
//! e.g. `srun --exact -n1 -c1` to run each as a Slurm job step inside an
//! allocation; and the default `-j` inside a Slurm allocation.
//!
//! The prefix is split on white space (no quoting). Stopping a task stops
//! the launcher's process tree locally: `srun` forwards SIGTERM to the step
//! and, when it is killed, Slurm ends the step.

use std::ffi::OsString;

/// `prefix` followed by `argv`: the command line to run.
///
/// ```ignore
/// let argv = prefixed(Some("srun --exact -n1"), &["wc".into()]);
/// assert_eq!(argv, ["srun", "--exact", "-n1", "wc"]);
/// ```
pub fn prefixed(prefix: Option<&str>, argv: &[OsString]) -> Vec<OsString> {
    let mut out: Vec<OsString> = prefix
        .unwrap_or("")
        .split_whitespace()
        .map(OsString::from)
        .collect();
    out.extend(argv.iter().cloned());
    out
}

/// The default number of parallel tasks inside a Slurm allocation: with a
/// launcher (steps may go to any node of the allocation) `SLURM_NTASKS`,
/// else, or when unset, `SLURM_CPUS_ON_NODE`. `None` outside Slurm.
///
/// ```ignore
/// let env = |k: &str| (k == "SLURM_CPUS_ON_NODE").then(|| "8".to_string());
/// assert_eq!(slurm_jobs(env, true), Some(8));
/// ```
pub fn slurm_jobs(env: impl Fn(&str) -> Option<String>, launcher: bool) -> Option<usize> {
    let num = |k: &str| env(k)?.trim().parse::<usize>().ok().filter(|&n| n > 0);
    if launcher {
        if let Some(n) = num("SLURM_NTASKS") {
            return Some(n);
        }
    }
    num("SLURM_CPUS_ON_NODE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_and_jobs() {
        assert_eq!(prefixed(None, &["a".into()]), ["a"]);
        assert_eq!(
            prefixed(Some(" srun  -n1 "), &["a".into(), "b c".into()]),
            ["srun", "-n1", "a", "b c"]
        );
        let env = |k: &str| match k {
            "SLURM_NTASKS" => Some("16".to_string()),
            "SLURM_CPUS_ON_NODE" => Some("4".to_string()),
            _ => None,
        };
        assert_eq!(slurm_jobs(env, true), Some(16));
        assert_eq!(slurm_jobs(env, false), Some(4));
        assert_eq!(slurm_jobs(|_| None, true), None);
        assert_eq!(slurm_jobs(|_| Some("x".into()), false), None);
    }
}
