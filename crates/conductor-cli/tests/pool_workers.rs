//! `conductor pool` and its workers' lives, end to end through the built
//! binary: workers die with conductor (even by SIGKILL), start-up is not
//! charged to tasks, line-mode output that breaks the one-line-in,
//! one-line-out contract is never a result, and slow start-up is not failure.
#![cfg(target_os = "linux")]

use conductor::blocking::Command;
use conductor::Stdio;
use std::path::Path;
use std::time::{Duration, Instant};

fn conductor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conductor"))
}

/// Polls `done` every 10 ms until it holds; panics after `limit` (a hang catcher).
fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` is gone (or a zombie nobody has reaped yet).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

fn pids_in(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn workers_die_when_conductor_is_sigkilled() {
    let dir = tempdir();
    let pids = dir.join("pids");
    // Workers that never read their input, so nothing but the death signal
    // ends them (not the end of their stdin).
    let script = format!("echo $$ >> {}; exec sleep 300", pids.display());
    let mut child = conductor()
        .args(["pool", "-j", "3", "--", "sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), "3 workers started", || {
        pids_in(&pids).len() == 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let workers = pids_in(&pids);
    wait_until(Duration::from_secs(30), "every worker gone", || {
        workers.iter().all(|&pid| gone(pid))
    });
    let _ = std::fs::remove_dir_all(dir);
}

fn run_with_input(args: &[&str], input: &[u8], limit: Duration) -> conductor::Output {
    let child = conductor()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(limit)
        .spawn()
        .unwrap();
    child.communicate(input).unwrap()
}

#[test]
fn two_lines_per_input_fail_as_violations_never_as_results() {
    let out = run_with_input(
        &["pool", "-j1", "--json", "--", "sed", "-u", "p"],
        b"1\n2\n3\n4\n5\n6\n",
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 6, "{stdout}");
    for line in stdout.lines() {
        assert!(line.contains("\"ok\":false"), "{line}");
        assert!(line.contains("one output line per input line"), "{line}");
    }
}

#[test]
fn partial_line_then_exit_is_a_crash() {
    let out = run_with_input(
        &[
            "pool",
            "-j1",
            "--json",
            "--",
            "sh",
            "-c",
            "read x; printf partial; exit 3",
        ],
        b"a\nb\n",
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        !stdout.contains("partial"),
        "a truncated line is no result: {stdout}"
    );
    assert!(stdout.contains("worker died (exit status: 3)"), "{stdout}");
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "conductor-pool-workers-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
