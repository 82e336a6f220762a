//! `--launcher PREFIX`: a command put in front of every task or worker,
//! e.g. `srun --exact -n1 -c1` to run each as a Slurm job step inside an
//! allocation; and the default `-j` inside a Slurm allocation.
//!
//! The prefix is split on white space (no quoting). The launcher runs under
//! a small local `sh` guard (`launcher_guard.sh`): conductor stops a timed-out
//! worker's process group with SIGKILL, and a SIGKILLed `srun` leaves its
//! job step running until the allocation ends. The guard keeps the launcher
//! out of that group and sends it SIGTERM when the group dies, which `srun`
//! turns into cancelling the step (its processes included).

use crate::run::ContainmentArg;
use conductor::Containment;
use std::ffi::OsString;

/// The launcher guard script.
pub const GUARD: &str = include_str!("launcher_guard.sh");

/// The command line to run: `argv` itself without a prefix, else the
/// prefix's words and `argv` under the launcher guard.
///
/// ```ignore
/// let argv = prefixed(Some("srun --exact -n1"), &["wc".into()]);
/// assert_eq!(argv[4..], ["srun", "--exact", "-n1", "wc"]);
/// ```
pub fn prefixed(prefix: Option<&str>, argv: &[OsString]) -> Vec<OsString> {
    let words: Vec<OsString> = prefix
        .unwrap_or("")
        .split_whitespace()
        .map(OsString::from)
        .collect();
    if words.is_empty() {
        return argv.to_vec();
    }
    let mut out: Vec<OsString> = vec![
        "sh".into(),
        "-c".into(),
        GUARD.into(),
        "conductor-launcher".into(),
    ];
    out.extend(words);
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

/// The containment on this machine of what runs under `--launcher` (a
/// `task` or a `worker`: `what` names it in the error), or why
/// `--containment` cannot be honoured: the launcher runs outside the
/// process group on purpose (a stopped one's `srun` must live on to cancel
/// its step), so a cgroup, which would kill it too, is refused and `best`
/// means a process group.
///
/// ```ignore
/// assert_eq!(containment(ContainmentArg::Best, true, "task"), Ok(Containment::ProcessGroup));
/// ```
pub fn containment(arg: ContainmentArg, launcher: bool, what: &str) -> Result<Containment, String> {
    match (arg, launcher) {
        (ContainmentArg::Cgroup, true) => Err(format!(
            "--containment cgroup cannot hold a --launcher {what} (a stopped {what}'s launcher \
             must live on to cancel its step); use --containment group"
        )),
        (ContainmentArg::Best, true) => Ok(Containment::ProcessGroup),
        (arg, _) => Ok(arg.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_names_what_runs_under_the_launcher() {
        assert_eq!(
            containment(ContainmentArg::Best, true, "task"),
            Ok(Containment::ProcessGroup)
        );
        assert_eq!(
            containment(ContainmentArg::None, false, "task"),
            Ok(Containment::None)
        );
        assert_eq!(
            containment(ContainmentArg::Cgroup, true, "worker").unwrap_err(),
            "--containment cgroup cannot hold a --launcher worker (a stopped worker's launcher \
             must live on to cancel its step); use --containment group"
        );
    }

    #[test]
    fn prefix_and_jobs() {
        assert_eq!(prefixed(None, &["a".into()]), ["a"]);
        assert_eq!(prefixed(Some("  "), &["a".into()]), ["a"]);
        let p = prefixed(Some(" env  -u X "), &["echo".into(), "it's".into()]);
        assert_eq!(p[..2], ["sh", "-c"]);
        assert_eq!(
            p[3..],
            ["conductor-launcher", "env", "-u", "X", "echo", "it's"]
        );
        let out = std::process::Command::new(&p[0])
            .args(&p[1..])
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"it's\n");
        assert!(out.status.success());
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
