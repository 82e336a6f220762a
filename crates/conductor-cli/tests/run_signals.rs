//! `conductor run` as a supervisor, end to end: every signal it should pass
//! on reaches the child and kills conductor never; its cgroup is gone when it
//! exits, even after an interrupt; at a real terminal, Ctrl-C reaches the
//! child once and a child may read the terminal; orphans of the tree are
//! reaped by conductor.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

/// Every wait is bounded by this (catches hangs only). The children's loops
/// end by themselves within a minute, so a failing run leaves nothing for long.
const LIMIT: Duration = Duration::from_secs(20);

const FORWARDED: [(&str, i32); 8] = [
    ("INT", libc::SIGINT),
    ("TERM", libc::SIGTERM),
    ("HUP", libc::SIGHUP),
    ("QUIT", libc::SIGQUIT),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("WINCH", libc::SIGWINCH),
    ("CONT", libc::SIGCONT),
];

/// Starts `conductor run ARGS` with piped stdin/stdout; its stdout lines
/// arrive on the receiver.
fn start(args: &[&str]) -> (Child, Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_conductor"))
        .arg("run")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn next(rx: &Receiver<String>, what: &str) -> String {
    rx.recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("no {what} within {LIMIT:?}"))
}

fn send(pid: u32, sig: i32) {
    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
    let sig = rustix::process::Signal::from_named_raw(sig).unwrap();
    rustix::process::kill_process(pid, sig).unwrap();
}

/// Waits (bounded) for `child` to exit; its exit code.
fn finish(mut child: Child) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            return st
                .code()
                .unwrap_or_else(|| panic!("conductor died of signal {:?}", st.signal()));
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("conductor did not exit within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn every_forwarded_signal_reaches_the_child_and_kills_conductor_never() {
    for containment in ["best", "group"] {
        for (name, sig) in FORWARDED {
            // The child traps the signal, reports it and exits 7.
            let script =
                format!("exec 2>/dev/null; trap 'echo got-{name}; exit 7' {name}; echo ready; i=0; while [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done");
            let (child, rx) = start(&["--containment", containment, "--", "sh", "-c", &script]);
            assert_eq!(next(&rx, "ready"), "ready");
            send(child.id(), sig);
            assert_eq!(next(&rx, name), format!("got-{name}"), "{containment}");
            assert_eq!(
                finish(child),
                7,
                "SIG{name} ({containment}): the child's status"
            );
        }
    }
}

#[test]
fn a_child_killed_by_a_forwarded_signal_gives_128_plus_the_signal() {
    for (name, sig) in [
        ("TERM", libc::SIGTERM),
        ("USR1", libc::SIGUSR1),
        ("HUP", libc::SIGHUP),
    ] {
        let (child, rx) = start(&["--", "sh", "-c", "echo ready; exec sleep 60"]);
        assert_eq!(next(&rx, "ready"), "ready");
        // The exec'd sleep may not run yet: wait until the child is sleep.
        wait_for_comm(child.id(), "sleep");
        send(child.id(), sig);
        assert_eq!(finish(child), 128 + sig, "SIG{name}");
    }
}

/// Waits until conductor's only child runs program `comm`.
fn wait_for_comm(conductor: u32, comm: &str) {
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        let kids = std::fs::read_to_string(format!("/proc/{conductor}/task/{conductor}/children"))
            .unwrap_or_default();
        if kids.split_whitespace().any(|k| {
            std::fs::read_to_string(format!("/proc/{k}/comm")).is_ok_and(|c| c.trim() == comm)
        }) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no child running {comm} within {LIMIT:?}");
}

/// The cgroup v2 mount point, from /proc/self/mountinfo.
fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let point = pre.split(' ').nth(4)?;
        post.starts_with("cgroup2 ").then(|| PathBuf::from(point))
    })
}

fn cgroup_usable() -> bool {
    Command::new(env!("CARGO_BIN_EXE_conductor"))
        .args(["run", "--containment", "cgroup", "--", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_cgroup_is_removed_after_interrupted_runs() {
    let Some(mount) = cgroup2_mount().filter(|_| cgroup_usable()) else {
        skip::skipped("no writable cgroup v2 for --containment cgroup");
        return;
    };
    for round in 0..10 {
        // The child leaves an orphan in its cgroup, then is interrupted.
        let script = "exec 2>/dev/null; grep '^0::' /proc/self/cgroup; (sleep 60 &); echo ready; \
                      i=0; while [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done";
        let (child, rx) = start(&["--containment", "cgroup", "--", "sh", "-c", script]);
        let line = next(&rx, "the cgroup line");
        let dir: PathBuf = mount.join(line.trim_start_matches("0::/"));
        assert!(dir.is_dir(), "{}", dir.display());
        assert_eq!(next(&rx, "ready"), "ready");
        send(child.id(), [libc::SIGINT, libc::SIGTERM][round % 2]);
        let code = finish(child);
        assert!(code > 128, "round {round}: exit {code}");
        assert!(
            !dir.exists(),
            "round {round}: {} left behind",
            dir.display()
        );
    }
}

/// Runs `pty_run.py STEPS -- conductor run ARGS` on a new pseudo-terminal;
/// its report (the terminal's output, then "EXIT n").
fn on_terminal(steps: &[&str], args: &[&str]) -> Option<String> {
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let out = Command::new("python3")
        .arg(support.join("pty_run.py"))
        .args(steps)
        .args(["--", env!("CARGO_BIN_EXE_conductor"), "run"])
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "pty_run.py: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(text)
}

fn containments() -> Vec<&'static str> {
    let mut c = vec!["group", "session", "none"];
    if cgroup_usable() {
        c.push("cgroup");
    } else {
        skip::skipped("no writable cgroup v2: --containment cgroup not tried at the terminal");
    }
    c
}

#[test]
fn one_ctrl_c_at_a_terminal_reaches_the_child_once() {
    let sigwait = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/sigwait.py");
    let sigwait = sigwait.to_str().unwrap();
    // The child's two INTs (the terminal's and a forwarded one) can merge into
    // one when both are pending at once: a few rounds make a double likely seen.
    for containment in containments() {
        for _round in 0..3 {
            let steps = ["expect:ready", "send:\\x03", "expect:got-int", "kill:TERM"];
            let Some(report) = on_terminal(
                &steps,
                &["--containment", containment, "--", "python3", sigwait],
            ) else {
                skip::skipped("no python3 for the pseudo-terminal");
                return;
            };
            assert!(report.contains("ints=1"), "{containment}: {report}");
            assert!(
                report.trim_end().ends_with("EXIT 0"),
                "{containment}: {report}"
            );
        }
    }
}

#[test]
fn a_child_reading_the_terminal_is_not_stopped() {
    for containment in containments() {
        let script = "echo ready; read line; echo \"got:$line\"";
        let Some(report) = on_terminal(
            &["expect:ready", "send:hello\\r", "expect:got:hello"],
            &["--containment", containment, "--", "sh", "-c", script],
        ) else {
            skip::skipped("no python3 for the pseudo-terminal");
            return;
        };
        assert!(
            report.trim_end().ends_with("EXIT 0"),
            "{containment}: {report}"
        );
    }
}

#[test]
fn ctrl_z_stops_a_child_given_the_terminal_and_conductor_with_it() {
    // The child leads its own group, which holds the terminal: Ctrl-Z stops
    // it, conductor takes the terminal back and stops too (the shell's job
    // is stopped); continued, conductor gives the terminal back and resumes
    // the child, which then reads the terminal.
    // The child says "ready" once its group holds the terminal.
    let fg_read = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fg_read.py");
    let steps = [
        "expect:ready",
        "send:\\x1a",
        "stopped:",
        "kill:CONT",
        "send:hello\\r",
        "expect:got:hello",
    ];
    let Some(report) = on_terminal(
        &steps,
        &[
            "--containment",
            "group",
            "--",
            "python3",
            fg_read.to_str().unwrap(),
        ],
    ) else {
        skip::skipped("no python3 for the pseudo-terminal");
        return;
    };
    assert!(report.trim_end().ends_with("EXIT 0"), "{report}");
}

#[test]
fn orphans_of_the_tree_are_reaped_by_conductor() {
    // The child starts a grandchild through a shell that exits at once, so
    // the grandchild is orphaned; then it waits for a line on stdin.
    let script = "sh -c 'sleep 60 & echo $!'; echo ready; read x";
    for containment in ["best", "group"] {
        let (mut child, rx) = start(&["--containment", containment, "--", "sh", "-c", script]);
        let orphan: i32 = next(&rx, "the orphan's pid").parse().unwrap();
        assert_eq!(next(&rx, "ready"), "ready");
        let stat = std::fs::read_to_string(format!("/proc/{orphan}/stat")).unwrap();
        let ppid: u32 = stat[stat.rfind(')').unwrap() + 2..]
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(ppid, child.id(), "{containment}: the orphan is conductor's");
        send(orphan as u32, libc::SIGKILL);
        // conductor reaps it: no zombie left.
        let start = Instant::now();
        while Path::new(&format!("/proc/{orphan}")).exists() {
            assert!(
                start.elapsed() < LIMIT,
                "{containment}: orphan {orphan} not reaped"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        assert_eq!(finish(child), 0);
    }
}
