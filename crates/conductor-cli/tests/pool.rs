//! `conductor pool` end to end: ordered results through crashing workers,
//! failures reported by line, JSON output, exit statuses, Ctrl-C, and the
//! progress bar and summary on a terminal.
#![cfg(target_os = "linux")]

mod cli_support;

use cli_support::{
    assert_all_gone, assert_succeeded, communicate, conductor, line_reader, pids_in_files,
    pool_of_hanging_workers, pool_on_terminal, root, run_with_input, scratch, spawn_piped,
    wait_until,
};
use conductor::blocking::Command;
use conductor::Stdio;
use std::time::Duration;

/// A line worker that upper-cases and dies at random (about 1 task in 300).
const CRASHY: &str = "import os, random, sys
for line in sys.stdin:
    if random.random() < 1/300: os._exit(3)
    sys.stdout.write(line.upper()); sys.stdout.flush()
";

#[test]
fn ten_thousand_tasks_through_crashing_workers_resolve_in_order() {
    let input: String = (0..10_000).map(|i| format!("task-{i}\n")).collect();
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "4",
            "--retries",
            "5",
            "--",
            "python3",
            "-c",
            CRASHY,
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let expected: String = input.to_uppercase();
    assert!(
        out.stdout == expected.as_bytes(),
        "results are complete, correct and in input order"
    );
    let summary = stderr.lines().last().unwrap();
    assert!(summary.contains("10000 succeeded, 0 failed"), "{summary}");
    assert!(
        !summary.contains(" 0 worker crashes"),
        "workers did crash: {summary}"
    );
}

#[test]
fn failed_tasks_are_reported_with_their_line_and_exit_1() {
    let worker = root().join("examples/python/conductor_worker.py");
    let out = run_with_input(
        &[
            "pool",
            "--framed",
            "--in-flight",
            "4",
            "-j",
            "2",
            "--",
            "python3",
            worker.to_str().unwrap(),
        ],
        b"a\nfail here\nb\n",
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(out.stdout, b"A\nB\n");
    assert!(stderr.contains("task at line 2 failed"), "{stderr}");
    assert!(stderr.contains("2 succeeded, 1 failed"), "{stderr}");
}

#[test]
fn json_output_parses() {
    let out = run_with_input(
        &["pool", "--json", "-j", "2", "--", "cat"],
        b"x\n\"quoted\"\ntab\there\n",
        Duration::from_secs(60),
    );
    assert!(out.status.success());
    let check = r#"import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r['line'] for r in rows] == [1, 2, 3], rows
assert [r['result'] for r in rows] == ['x', '"quoted"', 'tab\there'], rows
assert all(r['ok'] and r['attempts'] == 1 and r['worker'] in (0, 1) and r['duration_ms'] >= 0 for r in rows)
"#;
    let parsed = communicate(
        Command::new("python3").args(["-c", check]),
        &out.stdout,
        Duration::from_secs(60),
    );
    assert_succeeded(&parsed);
}

#[test]
fn unordered_output_has_every_result() {
    let input: String = (0..500).map(|i| format!("{i}\n")).collect();
    let out = run_with_input(
        &["pool", "--unordered", "-j", "3", "--", "cat"],
        input.as_bytes(),
        Duration::from_secs(60),
    );
    assert!(out.status.success());
    let mut got: Vec<u32> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..500).collect::<Vec<_>>());
}

#[test]
fn worker_not_found_and_bad_options() {
    let out = run_with_input(
        &["pool", "--", "no-such-worker-xyz"],
        b"x\n",
        Duration::from_secs(30),
    );
    assert_eq!(
        out.status.code(),
        Some(127),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_with_input(
        &["pool", "--in-flight", "4", "--", "cat"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(125), "--in-flight needs --framed");
    let out = run_with_input(
        &["pool", "-j", "0", "--", "cat"],
        b"",
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("worker"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn task_timeout_fails_the_task_and_names_it() {
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "1",
            "--retries",
            "0",
            "--task-timeout",
            "300ms",
            "--",
            "sh",
            "-c",
            "while read l; do [ \"$l\" = hang ] && sleep 300; echo \"$l\"; done",
        ],
        b"one\nhang\ntwo\n",
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(out.stdout, b"one\ntwo\n");
    assert!(
        stderr.contains("task at line 2 failed") && stderr.contains("1 timeouts"),
        "{stderr}"
    );
}

#[test]
fn first_ctrl_c_finishes_started_tasks_and_exits_130() {
    // An endless input: only Ctrl-C ends the run.
    let mut child = spawn_piped(&["pool", "-j", "2", "--", "cat"]);
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"first\n").unwrap();
    let mut next = line_reader(child.stdout.take().unwrap(), Duration::from_secs(20));
    assert_eq!(next(), "first");
    child.signal(libc::SIGINT).unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .expect("conductor exits after Ctrl-C");
    drop(stdin);
    assert_eq!(status.code(), Some(130));
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("interrupted") && err.contains("1 succeeded"),
        "{err}"
    );
}

#[test]
fn progress_bar_and_summary_on_a_terminal() {
    // stderr is a pseudo-terminal; stdin a regular file (so the bar has a total).
    let screen = pool_on_terminal("pty", "while read l; do sleep 0.02; echo $l; done", 60);
    assert!(
        screen.contains("/60 done"),
        "a progress bar with its total: {screen:?}"
    );
    assert!(
        screen.contains("60 succeeded, 0 failed"),
        "the summary: {screen:?}"
    );
}

#[test]
fn second_ctrl_c_stops_every_worker_tree_at_once() {
    let dir = scratch("ctrlc");
    // Each worker records its pid, then hangs on its first task.
    let (mut child, stdin) = pool_of_hanging_workers(&dir);
    let mut next_err = line_reader(child.stderr.take().unwrap(), Duration::from_secs(20));
    let workers = || pids_in_files(&dir);
    // Both workers have started (each wrote its pid file).
    wait_until("both workers started", Duration::from_secs(20), || {
        workers().len() >= 2
    });
    child.signal(libc::SIGINT).unwrap();
    let line = next_err();
    assert!(line.contains("interrupted"), "{line}");
    child.signal(libc::SIGINT).unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .expect("exits at once");
    assert_eq!(status.code(), Some(130));
    drop(stdin);
    assert_all_gone(&workers(), "the second Ctrl-C");
    let _ = std::fs::remove_dir_all(dir);
}

/// `--shard I/N`: N runs over the same input each take their share, keep the
/// input's line numbers, and together produce every line exactly once.
#[test]
fn shards_combine_into_one_complete_set() {
    let input: String = (1..=23).map(|i| format!("task-{i}\n")).collect();
    let mut seen = std::collections::BTreeMap::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let out = run_with_input(
            &["pool", "-j", "2", "--shard", &shard, "--json", "--", "cat"],
            input.as_bytes(),
            Duration::from_secs(60),
        );
        assert_succeeded(&out);
        for l in String::from_utf8(out.stdout).unwrap().lines() {
            let line: u64 = l["{\"line\":".len()..l.find(',').unwrap()].parse().unwrap();
            assert_eq!((line - 1) % 3, i - 1, "line {line} in shard {i}");
            assert!(l.contains(&format!("\"result\":\"task-{line}\"")), "{l}");
            assert!(seen.insert(line, i).is_none(), "line {line} ran twice");
        }
    }
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (1..=23).collect::<Vec<_>>()
    );
}

/// `--shard auto` reads Slurm's array or Kubernetes' completion index; a bad
/// shard is a usage error (125) naming the option.
#[test]
fn shard_auto_from_the_environment() {
    let run_env = |vars: &[(&str, &str)], shard: &str| {
        let mut c = conductor();
        c.args(["pool", "-j", "1", "--shard", shard, "--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .timeout(Duration::from_secs(60));
        for v in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_MAX",
            "JOB_COMPLETION_INDEX",
            "JOB_COMPLETIONS",
        ] {
            c.env_remove(v);
        }
        for (k, v) in vars {
            c.env(k, v);
        }
        c.spawn().unwrap().communicate(b"a\nb\nc\nd\ne\n").unwrap()
    };
    let out = run_env(
        &[
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "1"),
        ],
        "auto",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "b\nd\n");
    let out = run_env(
        &[("JOB_COMPLETION_INDEX", "0"), ("JOB_COMPLETIONS", "2")],
        "auto",
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nc\ne\n");
    let out = run_env(&[], "auto");
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard auto"));
    let out = run_env(&[], "4/3");
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

/// `--launcher PREFIX` runs every worker through the prefix command.
#[test]
fn launcher_prefixes_every_worker() {
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "2",
            "--launcher",
            "env CONDUCTOR_VIA=launcher",
            "--",
            "sh",
            "-c",
            "while read l; do echo \"$CONDUCTOR_VIA $l\"; done",
        ],
        b"a\nb\n",
        Duration::from_secs(60),
    );
    assert_succeeded(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "launcher a\nlauncher b\n"
    );
}

/// A shard's reorder window counts the shard's own tasks, not the input
/// lines it skips (a window over line numbers would wait forever for a line
/// another shard runs), and its results keep their input line numbers in
/// input order.
#[test]
fn a_shard_with_a_small_reorder_window_keeps_going() {
    let input: String = (1..=30).map(|i| format!("{i}\n")).collect();
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "3",
            "--shard",
            "3/3",
            "--reorder-window",
            "2",
            "--json",
            "--",
            "cat",
        ],
        input.as_bytes(),
        Duration::from_secs(60),
    );
    assert_succeeded(&out);
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l[..l.find(",\"result\"").unwrap()].to_string())
        .collect();
    let want: Vec<String> = (1..=10)
        .map(|k| format!("{{\"line\":{},\"ok\":true", 3 * k))
        .collect();
    assert_eq!(lines, want);
}

/// `--launcher` runs its launcher outside the worker's process group, so
/// that a stopped worker's launcher lives on to cancel its job step: a
/// cgroup would kill it with the worker, so `--containment cgroup` with a
/// launcher is a usage error naming the option.
#[test]
fn launcher_with_cgroup_containment_is_a_usage_error() {
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "1",
            "--launcher",
            "env",
            "--containment",
            "cgroup",
            "--",
            "cat",
        ],
        b"a\n",
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--containment cgroup"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // The default (best) takes a process group there, and runs.
    let out = run_with_input(
        &["pool", "-j", "1", "--launcher", "env", "--", "cat"],
        b"a\n",
        Duration::from_secs(60),
    );
    assert_succeeded(&out);
    assert_eq!(out.stdout, b"a\n");
}
