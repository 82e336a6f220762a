//! `conductor run` end to end: exit statuses, timeouts that leave nothing
//! behind, signal forwarding, --rusage.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

fn conductor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conductor"))
}

fn run(args: &[&str]) -> (i32, String) {
    let out = conductor().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_statuses_follow_timeout_1() {
    assert_eq!(run(&["run", "--", "true"]).0, 0);
    assert_eq!(run(&["run", "--", "sh", "-c", "exit 42"]).0, 42);
    assert_eq!(run(&["run", "--", "sh", "-c", "kill -KILL $$"]).0, 137);
    let (code, err) = run(&["run", "--", "no-such-program-xyz"]);
    assert_eq!(code, 127);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no-such-program-xyz"), "{err}");
    let (code, err) = run(&["run", "--", "/etc/hostname"]);
    assert_eq!(code, 126, "{err}");
    assert!(err.contains("/etc/hostname"));
    let (code, err) = run(&["run", "--timeout", "1s", "--", "sleep", "30"]);
    assert_eq!(code, 124, "{err}");
    assert!(err.contains("timed out"), "{err}");
    let (code, err) = run(&["run", "--timeout", "soon", "--", "true"]);
    assert_eq!(code, 125, "{err}");
    assert!(err.contains("invalid duration"), "{err}");
    assert_eq!(
        run(&["run", "--containment", "cgroup", "--", "true"]).0 % 125,
        0
    );
}

#[test]
fn timeout_leaves_no_process_of_the_tree() {
    let t = Instant::now();
    let out = conductor()
        .args([
            "run",
            "--timeout",
            "1s",
            "--grace",
            "500ms",
            "--containment",
            "group",
            "--",
            "sh",
            "-c",
        ])
        .arg("echo $$; sleep 300 & sleep 300 & wait")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124));
    assert!(t.elapsed() < Duration::from_secs(5));
    let pgid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) {
            let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            assert!(!(f[2] == pgid && f[0] != "Z"), "survivor {:?}", e.path());
        }
    }
}

#[test]
fn signals_are_forwarded_to_the_tree() {
    // Spawned with conductor's own blocking API, for its bounded wait_timeout.
    let mut child = conductor::blocking::Command::new(env!("CARGO_BIN_EXE_conductor"))
        .args(["run", "--containment", "group", "--", "sh", "-c"])
        .arg("trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.05; done")
        .stdout(conductor::Stdio::piped())
        .spawn()
        .unwrap();
    // Lines arrive through a channel so every wait below is bounded.
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a line within 10 s")
    };
    assert_eq!(next(), "ready");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill");
    assert_eq!(next(), "got-term");
    let status = child
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .expect("conductor exits");
    assert_eq!(
        status.code(),
        Some(9),
        "conductor exits with the child's status"
    );
}

#[test]
fn timeout_zero_means_no_timeout_and_days_are_a_unit() {
    // As timeout(1): `--timeout 0` runs the program without a limit.
    let (code, err) = run(&["run", "--timeout", "0", "--", "sleep", "0.3"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = run(&["run", "--timeout", "0s", "--", "sh", "-c", "exit 7"]);
    assert_eq!(code, 7, "{err}");
    let (code, err) = run(&["run", "--timeout", "1d", "--", "true"]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = run(&["run", "--timeout", "1d2h", "--grace", "0.5d", "--", "true"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn rusage_is_printed() {
    let (code, err) = run(&["run", "--rusage", "--", "true"]);
    assert_eq!(code, 0);
    assert!(err.contains("max-rss") && err.contains("wall"), "{err}");
}

#[test]
fn help_and_version() {
    let out = conductor().args(["run", "--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Examples"));
    let out = conductor().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("conductor "));
}

#[test]
fn unwritable_cgroup_root_is_a_clear_error_or_falls_back() {
    if !rustix::process::geteuid().is_root() {
        skip::skipped("needs root to run conductor as an unprivileged user");
        return;
    }
    use conductor::unix::CommandExt;
    // As `nobody`, the cgroup2 mount is not writable.
    let as_nobody = |containment: &str| {
        conductor::blocking::Command::new(env!("CARGO_BIN_EXE_conductor"))
            .args(["run", "--containment", containment, "--", "true"])
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap()
    };
    let out = as_nobody("cgroup");
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        skip::skipped("the cgroup2 mount is writable even for nobody here");
        return;
    }
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains("cgroup") && err.lines().count() == 1, "{err}");
    // The advice speaks the CLI's options, not the library's API.
    assert!(err.contains("--containment best"), "{err}");
    assert!(!err.contains("Containment::"), "{err}");
    // "best" falls back to a process group and runs the program.
    assert_eq!(as_nobody("best").status.code(), Some(0));
}
