//! `conductor pool` and its workers' lives, end to end through the built
//! binary: workers die with conductor (even by SIGKILL), start-up is not
//! charged to tasks, line-mode output that breaks the one-line-in,
//! one-line-out contract is never a result, and slow start-up is not failure.
#![cfg(target_os = "linux")]

use conductor::Stdio;
use std::time::Duration;

mod cli_support;
#[path = "../../conductor/tests/common/episode.rs"]
mod episode;
#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

use episode::start_up_episode;

use cli_support::{
    conductor, gone, pids_in, python3, root, run_with_input, scratch, spawn, wait_until,
};

#[test]
fn workers_die_when_conductor_is_sigkilled() {
    let dir = scratch("workers-sigkill");
    let pids = dir.join("pids");
    // Workers that never read their input, so nothing but the death signal
    // ends them (not the end of their stdin).
    let script = format!("echo $$ >> {}; exec sleep 300", pids.display());
    let mut child = spawn(
        &["pool", "-j", "3", "--", "sh", "-c", &script],
        Stdio::null(),
        Stdio::null(),
    );
    wait_until("3 workers started", Duration::from_secs(60), || {
        pids_in(&pids).len() == 3
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let workers = pids_in(&pids);
    wait_until("every worker gone", Duration::from_secs(30), || {
        workers.iter().all(|&pid| gone(pid))
    });
    let _ = std::fs::remove_dir_all(dir);
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

#[test]
fn task_timeout_does_not_count_worker_start_up() {
    // 1.5 s of start-up, 0.1 s tasks, --task-timeout 1s.
    let input: String = (1..=10).map(|i| format!("{i}\n")).collect();
    let out = run_with_input(
        &[
            "pool",
            "-j2",
            "--task-timeout",
            "1s",
            "--",
            "sh",
            "-c",
            "sleep 1.5; while read l; do sleep 0.1; echo \"$l\"; done",
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout, input.as_bytes(), "{stderr}");
}

#[test]
fn slow_starting_worker_works_with_start_timeout() {
    let out = run_with_input(
        &[
            "pool",
            "-j1",
            "--start-timeout",
            "10s",
            "--",
            "sh",
            "-c",
            "sleep 6; exec cat",
        ],
        b"a\nb\n",
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout, b"a\nb\n");
}

#[test]
fn slow_starting_framed_worker_works_with_start_timeout() {
    if !python3() {
        skip::skipped("no python3");
        return;
    }
    let worker = root().join("examples/python/conductor_worker.py");
    let script = format!("sleep 6; exec python3 {}", worker.display());
    let out = run_with_input(
        &[
            "pool",
            "-j1",
            "--framed",
            "--start-timeout",
            "10s",
            "--",
            "sh",
            "-c",
            &script,
        ],
        b"a\nb\n",
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout, b"A\nB\n");
}

#[test]
fn start_up_episode_holds_tasks_instead_of_failing_them() {
    let dir = scratch("workers-startup");
    let (flag, starts, script) = start_up_episode(&dir);
    let input: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    let mut child = conductor()
        .args(["pool", "-j2", "--", "sh", "-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(Duration::from_secs(180))
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    // Well past the circuit breaker's threshold (5 failed starts in a row).
    wait_until("8 failed starts", Duration::from_secs(60), || {
        std::fs::read_to_string(&starts).is_ok_and(|s| s.lines().count() >= 8)
    });
    std::fs::remove_file(&flag).unwrap();
    feeder.join().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let expected: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    assert!(
        out.stdout == expected.as_bytes(),
        "every task ran: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn gives_up_after_the_bound_and_reports_every_task() {
    let input: String = (1..=50).map(|i| format!("{i}\n")).collect();
    let out = run_with_input(
        &[
            "pool",
            "-j2",
            "--json",
            "--give-up-after",
            "1s",
            "--",
            "sh",
            "-c",
            "exit 1",
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(stdout.lines().count(), 50, "{stdout}");
    assert!(
        stdout
            .lines()
            .all(|l| l.contains("\"ok\":false") && l.contains("pool degraded")),
        "{stdout}"
    );
}

#[test]
fn poison_task_does_not_take_innocent_tasks_in_flight_down() {
    if !python3() {
        skip::skipped("no python3");
        return;
    }
    let worker = root().join("examples/python/conductor_worker.py");
    let worker = worker.to_str().unwrap();
    let input = "crash\na\nb\nc\nd\ne\nf\ng\n";
    let out = run_with_input(
        &[
            "pool",
            "-j1",
            "--framed",
            "--in-flight",
            "4",
            "--",
            "python3",
            worker,
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stdout, "A\nB\nC\nD\nE\nF\nG\n", "{stderr}");
    assert!(
        stderr.contains("line 1 failed: worker died (exit status: 3) after 3 attempts"),
        "{stderr}"
    );
}
