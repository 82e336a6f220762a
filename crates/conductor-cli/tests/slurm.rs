//! `conductor pool --launcher 'srun --exact -n1 -c1'` inside a Slurm
//! allocation, against a real single-node Slurm (`.ci/slurm.sh start`):
//! every worker is a job step, the default `-j` is the allocation's, and a
//! task timeout ends its step and the step's processes. Skipped, with the
//! reason, where Slurm cannot run.
#![cfg(target_os = "linux")]

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

mod cli_support;

use cli_support::{communicate, root, scratch, text};
use conductor::blocking::Command;
use conductor::Stdio;
use std::time::Duration;

/// Starts Slurm (idempotent); `Err(reason)` when it cannot run here.
fn slurm() -> Result<(), String> {
    let out = Command::new("bash")
        .arg(root().join(".ci/slurm.sh"))
        .arg("start")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .timeout(Duration::from_secs(120))
        .output()
        .map_err(|e| format!("cannot run .ci/slurm.sh: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Starts Slurm; false (the calling test skipped, saying why) when it cannot
/// run here.
fn slurm_or_skip() -> bool {
    match slurm() {
        Ok(()) => true,
        Err(why) => {
            skip::skipped(format!("no Slurm: {why}"));
            false
        }
    }
}

/// `salloc -n TASKS -- sh -c SCRIPT` with `$C` set to the conductor binary.
fn in_allocation(tasks: &str, script: &str, input: &[u8]) -> conductor::Output {
    communicate(
        Command::new("salloc")
            .args(["-n", tasks, "--", "sh", "-c", script])
            .env("C", env!("CARGO_BIN_EXE_conductor")),
        input,
        Duration::from_secs(300),
    )
}

/// Whether `s` is a Slurm step id: `JOB.STEP`, digits only.
fn is_job_step(s: &str) -> bool {
    s.split('.')
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Runs `cmd` (a conductor command line whose task hangs, writing its pid
/// to `{d}/pid`, past its timeout) alone in an allocation, and checks that
/// conductor exits 1 and that the task's step ends, with the grandchild,
/// while the allocation still runs (both waited for up to 30 s: a cancelled
/// step takes a moment to leave squeue). Returns stdout and stderr.
fn hang_past_the_timeout(cmd: &str, name: &str, input: &[u8]) -> (String, String) {
    let dir = scratch(name);
    let d = dir.display().to_string();
    let script = format!(
        r#"{cmd}
echo "conductor exit $?"
pid=$(cat {d}/pid)
i=0; while [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
if [ -d /proc/$pid ] && ! grep -q '^State:.*Z' /proc/$pid/status 2>/dev/null; then echo "pid $pid alive"; else echo "pid gone"; fi
steps() {{ squeue -h --steps -j "$SLURM_JOB_ID" -o '%i %j' | grep -v -e extern -e interactive; }}
i=0; while [ -n "$(steps)" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
steps"#,
        cmd = cmd.replace("{d}", &d),
    );
    let out = in_allocation("1", &script, input);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(stdout.contains("conductor exit 1"), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("pid gone"),
        "the step's process outlived the timeout: {stdout}\n{stderr}"
    );
    let steps: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("pid "))
        .skip(1)
        .filter(|l| !l.contains("extern") && !l.contains("interactive"))
        .collect();
    assert!(steps.is_empty(), "steps still running: {steps:?}");
    (stdout, stderr)
}

#[test]
fn workers_are_job_steps_and_a_timeout_ends_the_step() {
    if !slurm_or_skip() {
        return;
    }
    // Default -j: the allocation's 2 tasks, so 2 workers = 2 steps; each
    // answers with its step and job ids.
    let out = in_allocation(
        "2",
        r#"exec "$C" pool --json --launcher 'srun --exact -n1 -c1' -- sh -c 'while read l; do echo "$SLURM_JOB_ID.$SLURM_STEP_ID $l"; done'"#,
        b"a\nb\nc\nd\n",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    let workers: std::collections::BTreeSet<&str> = stdout
        .lines()
        .map(|l| {
            assert!(l.contains("\"ok\":true"), "{l}");
            let r = &l[l.find("\"result\":\"").unwrap() + 10..];
            let step = r.split(' ').next().unwrap();
            assert!(is_job_step(step), "not a job step: {l}");
            let w = &l[l.find("\"worker\":").unwrap()..];
            w.split(',').next().unwrap()
        })
        .collect();
    assert!(!workers.is_empty());

    // A task that hangs past --task-timeout: its step ends, with the
    // grandchild, while the allocation still runs (both waited for up to
    // 30 s: a cancelled step takes a moment to leave squeue).
    hang_past_the_timeout(
        r#""$C" pool -j 1 --retries 0 --task-timeout 2s --launcher 'srun --exact -n1 -c1' -- sh -c 'while read l; do sleep 1000 & echo $! > {d}/pid; wait; done'"#,
        "slurm",
        b"hang\n",
    );
}

/// `conductor each --launcher 'srun --exact -n1 -c1'` in an allocation:
/// every task is a job step of its own, `-j` defaults to the allocation's
/// tasks, and a task timeout ends its step and the step's processes.
#[test]
fn each_task_is_a_job_step_and_a_timeout_ends_the_step() {
    if !slurm_or_skip() {
        return;
    }
    let out = in_allocation(
        "2",
        r#"exec "$C" each --launcher 'srun --exact -n1 -c1' -- sh -c 'echo "$SLURM_JOB_ID.$SLURM_STEP_ID $1 $2"' sh {%} {} ::: a b c d"#,
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    let mut steps = std::collections::BTreeSet::new();
    for (l, item) in lines.iter().zip(["a", "b", "c", "d"]) {
        let f: Vec<&str> = l.split(' ').collect();
        assert!(is_job_step(f[0]), "not a job step: {l}");
        assert!(["1", "2"].contains(&f[1]), "default -j is 2: {l}");
        assert_eq!(f[2], item);
        steps.insert(f[0].to_string());
    }
    assert_eq!(steps.len(), 4, "one step per task: {stdout}");

    let (_, stderr) = hang_past_the_timeout(
        r#""$C" each --timeout 2s --grace 1s --launcher 'srun --exact -n1 -c1' -- sh -c 'sleep 1000 & echo $! > {d}/pid; wait' ::: hang"#,
        "slurm-each",
        b"",
    );
    assert!(stderr.contains("timed out"), "{stderr}");
}

/// Per-task cost of `each` as srun steps (2 at a time, `true`) against
/// local tasks in the same allocation; printed for the README: `cargo test
/// -p conductor-cli --test slurm per_task_cost -- --nocapture`.
#[test]
fn per_task_cost_local_vs_srun_step() {
    if !slurm_or_skip() {
        return;
    }
    let script = r#"t0=$(date +%s%N)
seq 1000 | "$C" each -j 2 -- true || exit 1
t1=$(date +%s%N)
seq 100 | "$C" each --launcher 'srun --exact -n1 -c1' -- true || exit 1
t2=$(date +%s%N)
echo "local $(( (t1 - t0) / 1000 / 1000 )) srun $(( (t2 - t1) / 1000 / 100 ))""#;
    let out = in_allocation("2", script, b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f: Vec<&str> = stdout.split_whitespace().collect();
    assert_eq!(f.len(), 4, "{stdout}");
    println!(
        "each -j 2 true inside salloc -n 2, per task: local {} us, srun --exact -n1 -c1 step {} us",
        f[1], f[3]
    );
}
