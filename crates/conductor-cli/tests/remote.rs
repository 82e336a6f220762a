//! `conductor pool` with workers on other hosts over ssh, against real
//! OpenSSH servers on loopback (tests/sshd): hostile arguments arrive
//! uninterpreted, a timed-out or SIGKILLed run leaves no remote process,
//! a host that refuses connections is marked down while the others do its
//! work, and every host gets one connection (ControlMaster) however many
//! workers it runs.
#![cfg(target_os = "linux")]

mod cli_support;
#[path = "../../conductor/tests/common/skip.rs"]
mod skip;
mod sshd;

use cli_support::{assert_succeeded, conductor, numbered_lines, run_with_input, spawn_piped, text};
use conductor::Stdio;
use sshd::{
    assert_outlived_not, cluster, hostile_items, recorded_pid, recorded_sleeper,
    sigkill_conductor_mid_task,
};
use std::time::{Duration, Instant};

/// A line worker that answers each task with a dump of its own arguments
/// (and the task): what it received, byte for byte.
const DUMP: &str =
    r#"while IFS= read -r l; do printf '%s|' "$@" "$l" | od -An -c | tr -d ' \n'; echo; done"#;

#[test]
fn hostile_arguments_and_tasks_are_not_interpreted() {
    let Some(c) = cluster(1) else { return };
    let x = c.dir.join("x");
    let y = c.dir.join("y");
    let hostile = hostile_items(&x, &y);
    let tasks = format!("$(touch {})\n'; `touch {}`\n", x.display(), y.display());
    let mut args = vec!["pool", "--retries", "0", "--", "sh", "-c", DUMP, "sh"];
    args.extend(hostile.iter().map(String::as_str));
    let local = run_with_input(&args, tasks.as_bytes(), Duration::from_secs(120));
    assert_succeeded(&local);
    let ssh = c.ssh();
    let mut remote_args = vec!["pool", "--ssh", &ssh, "-S", "1/h0"];
    remote_args.extend(&args[1..]);
    let remote = run_with_input(&remote_args, tasks.as_bytes(), Duration::from_secs(120));
    assert_succeeded(&remote);
    assert_eq!(
        text(&remote.stdout),
        text(&local.stdout),
        "the remote worker got other arguments"
    );
    assert_eq!(text(&remote.stdout).lines().count(), 2);
    assert!(!x.exists() && !y.exists(), "something was interpreted");
}

/// `conductor pool --ssh SSH ARGS` with `input` on stdin; at most 120 s.
fn pool_over_ssh(ssh: &str, args: &[&str], input: &[u8]) -> conductor::Output {
    let mut all = vec!["pool", "--ssh", ssh];
    all.extend_from_slice(args);
    run_with_input(&all, input, Duration::from_secs(120))
}

/// A line worker that, on the task `hang`, starts a grandchild, records its
/// pid in DIR/pid and hangs; other tasks are echoed.
fn hanging_worker(dir: &std::path::Path) -> String {
    format!(
        r#"while IFS= read -r l; do if [ "$l" = hang ]; then {}; fi; echo "$l"; done"#,
        recorded_sleeper(dir)
    )
}

#[test]
fn a_task_timeout_leaves_no_remote_process() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let worker = hanging_worker(&c.dir);
    let out = pool_over_ssh(
        &ssh,
        &[
            "-S",
            "1/h0",
            "--task-timeout",
            "1s",
            "--retries",
            "0",
            "--",
            "sh",
            "-c",
            &worker,
        ],
        b"a\nhang\nb\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("line 2"),
        "{}",
        text(&out.stderr)
    );
    let pid = recorded_pid(&c.dir);
    // The guard stops the group once the channel closes (after its grace).
    assert_outlived_not(pid, "remote grandchild", "the timed-out task");
}

#[test]
fn sigkilled_conductor_leaves_no_remote_process() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let worker = hanging_worker(&c.dir);
    sigkill_conductor_mid_task(
        &c,
        "ck",
        &[
            "pool", "--ssh", &ssh, "-S", "1/h0", "--", "sh", "-c", &worker,
        ],
        Some(b"hang\n"),
        "remote grandchild",
    );
}

#[test]
fn a_host_that_refuses_connections_is_down_and_the_others_do_its_work() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let input = numbered_lines("t", 0..40);
    let out = pool_over_ssh(
        &ssh,
        &[
            "-S",
            "2/down",
            "-S",
            "2/h0",
            "--json",
            "--retries",
            "5",
            "--",
            "cat",
        ],
        input.as_bytes(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("host down is down"), "{stderr}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 40, "{stdout}");
    for line in stdout.lines() {
        assert!(
            line.contains("\"ok\":true") && line.contains("\"host\":\"h0\""),
            "{line}"
        );
    }
    assert!(stderr.contains("tasks per host: h0 40"), "{stderr}");
}

#[test]
fn a_host_lost_mid_run_has_its_tasks_retried_on_the_others() {
    let Some(mut c) = cluster(2) else { return };
    let ssh = c.ssh();
    let input = numbered_lines("t", 0..60);
    let mut child = spawn_piped(&[
        "pool",
        "--ssh",
        &ssh,
        "-S",
        "1/h0,1/h1",
        "--json",
        "--retries",
        "5",
        "--",
        "sh",
        "-c",
        "while read l; do sleep 0.05; echo \"$l\"; done",
    ]);
    use std::io::{BufRead, Read, Write};
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    // stderr on a thread too, so a conductor that never exits fails the
    // bounded wait below instead of hanging the read.
    let (err_tx, err_rx) = std::sync::mpsc::channel();
    let mut stderr_pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        let _ = err_tx.send(s);
    });
    let mut lines = Vec::new();
    // Once both hosts have answered, host 1 crashes.
    while !(lines.iter().any(|l: &String| l.contains("\"host\":\"h1\""))
        && lines.iter().any(|l| l.contains("\"host\":\"h0\"")))
    {
        lines.push(
            rx.recv_timeout(Duration::from_secs(60))
                .expect("both hosts answer"),
        );
    }
    c.crash(1);
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(120)) {
        lines.push(l);
    }
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("conductor ends");
    let stderr = err_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("conductor's stderr closes");
    assert!(status.success(), "{stderr}");
    assert_eq!(lines.len(), 60, "{stderr}");
    assert!(lines.iter().all(|l| l.contains("\"ok\":true")), "{lines:?}");
    let retried: u64 = stderr
        .split(" retried")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a summary");
    assert!(
        retried >= 1,
        "the task in flight on the lost host is retried: {stderr}"
    );
}

#[test]
fn one_connection_per_host_however_many_workers() {
    let Some(c) = cluster(2) else { return };
    let ssh = c.ssh();
    let input = numbered_lines("t", 0..200);
    let before = (c.accepted(0), c.accepted(1));
    // conductor's own temporary directory (short: socket paths are limited),
    // to see that it cleans up.
    let tmp = std::path::PathBuf::from(format!("/tmp/ct{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = conductor()
        .args([
            "pool",
            "--ssh",
            &ssh,
            "-S",
            "3/h0,3/h1",
            "--json",
            "--",
            "cat",
        ])
        .env("TMPDIR", &tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(Duration::from_secs(120))
        .spawn()
        .unwrap()
        .communicate(input.as_bytes())
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 200);
    let hosts: std::collections::BTreeSet<&str> = ["\"host\":\"h0\"", "\"host\":\"h1\""]
        .into_iter()
        .filter(|h| text(&out.stdout).contains(h))
        .collect();
    assert_eq!(hosts.len(), 2, "both hosts ran tasks: {stderr}");
    // sshd logs one "Accepted publickey" per connection: the master's.
    assert_eq!(
        (c.accepted(0) - before.0, c.accepted(1) - before.1),
        (1, 1),
        "one connection per host"
    );
    // At exit the masters were closed and their private directory removed.
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let tmp_s = tmp.display().to_string();
    let masters = std::fs::read_dir("/proc").unwrap().flatten().filter(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&tmp_s))
    });
    assert_eq!(masters.count(), 0, "a ControlMaster outlived conductor");
    let _ = std::fs::remove_dir(&tmp);
}

/// A $TMPDIR too long for a socket path does not make every host "down".
#[test]
fn a_long_tmpdir_still_gets_control_sockets() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let tmp = c
        .dir
        .join("a-rather-long-temporary-directory-name-for-the-socket-path-limit");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = conductor()
        .args(["pool", "--ssh", &ssh, "-S", "2/h0", "--", "cat"])
        .env("TMPDIR", &tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(Duration::from_secs(120))
        .spawn()
        .unwrap()
        .communicate(b"a\nb\n")
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success() && !stderr.contains("down"), "{stderr}");
    assert_eq!(text(&out.stdout), "a\nb\n");
}

/// Per-command cost: a new ssh connection each time against a channel on an
/// open ControlMaster (printed; run with --nocapture to see the figures).
#[test]
fn per_command_cost_new_connection_vs_master() {
    let Some(c) = cluster(1) else { return };
    let cfg = c.dir.join("ssh_config");
    let n = 20;
    let time = |extra: &[&str]| {
        let start = Instant::now();
        for _ in 0..n {
            let st = std::process::Command::new("ssh")
                .arg("-F")
                .arg(&cfg)
                .args(extra)
                .args(["h0", "true"])
                .status()
                .unwrap();
            assert!(st.success());
        }
        start.elapsed() / n
    };
    let fresh = time(&[]);
    let sock = c.dir.join("ctl");
    let path = format!("ControlPath={}", sock.display());
    let st = std::process::Command::new("ssh")
        .arg("-F")
        .arg(&cfg)
        .args([
            "-o",
            &path,
            "-o",
            "ControlMaster=yes",
            "-o",
            "ControlPersist=30",
            "-f",
            "-N",
            "h0",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let muxed = time(&["-o", &path]);
    let _ = std::process::Command::new("ssh")
        .arg("-F")
        .arg(&cfg)
        .args(["-o", &path, "-O", "exit", "h0"])
        .status();
    eprintln!("ssh per command: new connection {fresh:?}, channel over a ControlMaster {muxed:?}");
    // A pool worker over ssh: per-task cost once the worker runs.
    let input = numbered_lines("t", 0..5000);
    let ssh = c.ssh();
    let mut per_task = Vec::new();
    for args in [
        vec!["pool", "-j", "1", "--", "cat"],
        vec!["pool", "--ssh", &ssh, "-S", "1/h0", "--", "cat"],
    ] {
        let start = Instant::now();
        let out = run_with_input(&args, input.as_bytes(), Duration::from_secs(120));
        assert!(out.status.success());
        per_task.push(start.elapsed() / 5000);
    }
    eprintln!(
        "pool, 5000 tasks through 1 cat worker: local {:?}/task, over ssh {:?}/task (start-up included)",
        per_task[0], per_task[1]
    );
    assert!(muxed < Duration::from_secs(10) && fresh < Duration::from_secs(10));
}

/// Framed workers over ssh: the same frame protocol, health ping included,
/// several tasks in flight per remote worker.
#[test]
fn framed_workers_over_ssh() {
    let Some(c) = cluster(1) else { return };
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_err()
    {
        skip::skipped("no python3");
        return;
    }
    let ssh = c.ssh();
    let worker = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/python/conductor_worker.py")
        .canonicalize()
        .unwrap();
    let worker = worker.to_str().unwrap();
    let input: String = (0..300).map(|i| format!("task {i}\n")).collect();
    let out = run_with_input(
        &[
            "pool",
            "--framed",
            "--in-flight",
            "4",
            "--ssh",
            &ssh,
            "-S",
            "2/h0",
            "--",
            "python3",
            worker,
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    assert_succeeded(&out);
    let expected: String = (0..300).map(|i| format!("TASK {i}\n")).collect();
    assert_eq!(text(&out.stdout), expected);
    assert!(
        text(&out.stderr).contains("tasks per host: h0 300"),
        "{}",
        text(&out.stderr)
    );
}

/// Without N/ or -j, a host gets as many slots as it has CPUs (GNU parallel's default).
#[test]
fn default_slots_are_the_hosts_cpus() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let cpus = std::thread::available_parallelism().unwrap().get();
    let input: String = (0..cpus * 4).map(|i| format!("t{i}\n")).collect();
    let out = run_with_input(
        &[
            "pool",
            "--json",
            "--ssh",
            &ssh,
            "-S",
            "h0",
            "--",
            "sh",
            "-c",
            "while read l; do sleep 0.2; echo \"$l\"; done",
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    assert_succeeded(&out);
    let workers: std::collections::BTreeSet<String> = text(&out.stdout)
        .lines()
        .map(|l| {
            l[l.find("\"worker\":").unwrap()..]
                .split(',')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(workers.len(), cpus, "{workers:?}");
}

/// A login given as a whole ssh command, from a login file with comments.
#[test]
fn whole_ssh_command_logins_from_a_file() {
    let Some(c) = cluster(2) else { return };
    let file = c.dir.join("logins");
    std::fs::write(
        &file,
        format!("# two hosts\n1/{ssh} h0\n\n2/{ssh} h1\n", ssh = c.ssh()),
    )
    .unwrap();
    let input = numbered_lines("t", 0..30);
    let out = run_with_input(
        &[
            "pool",
            "--json",
            "--sshloginfile",
            file.to_str().unwrap(),
            "--",
            "cat",
        ],
        input.as_bytes(),
        Duration::from_secs(120),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 30);
    assert!(
        stderr.contains("tasks per host: h0 ") && stderr.contains(", h1 "),
        "{stderr}"
    );
}

/// `--line-buffered` over ssh: stdbuf wraps the remote program (not the
/// local ssh client), so a block-buffering filter (`tr`) on the host
/// answers each line; PYTHONUNBUFFERED reaches the remote side; the
/// worker's stderr comes back prefixed with its slot and host; and
/// `--containment cgroup` (for workers on this machine) does not stop a
/// remote slot, whose ssh client gets a process group.
#[test]
fn line_buffered_workers_over_ssh() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let input = numbered_lines("task-", 0..50);
    let out = pool_over_ssh(
        &ssh,
        &[
            "-S",
            "2/h0",
            "--line-buffered",
            "--containment",
            "cgroup",
            "--task-timeout",
            "30s",
            "--retries",
            "0",
            "--",
            "tr",
            "a-z",
            "A-Z",
        ],
        input.as_bytes(),
    );
    assert_succeeded(&out);
    assert_eq!(text(&out.stdout), input.to_uppercase());
    assert!(text(&out.stderr).contains("tasks per host: h0 50"));
    let out = pool_over_ssh(
        &ssh,
        &[
            "-S",
            "1/h0",
            "--line-buffered",
            "--json",
            "--",
            "sh",
            "-c",
            r#"while IFS= read -r l; do echo "$l=$PYTHONUNBUFFERED"; echo "err $l" >&2; done"#,
        ],
        b"x\n",
    );
    assert_succeeded(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(r#""result":"x=1","host":"h0""#), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("[worker 0 on h0] err x\n"), "{stderr}");
}
