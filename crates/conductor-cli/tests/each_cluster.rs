//! `conductor each` beyond one machine: `-S/--sshlogin` against real
//! OpenSSH servers on loopback (tests/sshd): hostile items arrive as data,
//! a task timeout or a SIGKILL of conductor leaves no remote process, a host that refuses
//! connections is marked down while the others run every task (and the
//! job log, `--json` and `--results` name the host), a host lost mid-run
//! has its task retried elsewhere, and each host gets one connection
//! (ControlMaster). `--shard`: three shards' job logs and `--results`
//! together hold exactly one row and one result per input.
#![cfg(target_os = "linux")]

mod cli_support;
#[path = "../../conductor/tests/common/skip.rs"]
mod skip;
#[allow(dead_code)]
mod sshd;

use cli_support::{assert_succeeded, conductor, numbered_lines, run_with_input, scratch, text};
use conductor::blocking::Command;
use conductor::Stdio;
use sshd::{
    assert_outlived_not, cluster, hostile_items, recorded_sleeper, sigkill_conductor_mid_task,
    wait_until,
};
use std::path::Path;
use std::time::Duration;

/// Prints its arguments, byte for byte, as od sees them.
const DUMP: &str = r#"printf '%s|' "$@" | od -An -c | tr -d ' \n'; echo"#;

#[test]
fn hostile_items_arrive_as_data() {
    let Some(c) = cluster(1) else { return };
    let x = c.dir.join("x");
    let y = c.dir.join("y");
    let mut items = hostile_items(&x, &y);
    items.insert(5, "  spaced  out ".to_string());
    let input: Vec<u8> = items
        .iter()
        .flat_map(|i| [i.as_bytes(), b"\0"].concat())
        .collect();
    let args = [
        "each", "-0", "-j", "2", "--", "sh", "-c", DUMP, "sh", "{}", "{#}",
    ];
    let local = run_with_input(&args, &input, Duration::from_secs(180));
    assert_succeeded(&local);
    let ssh = c.ssh();
    let mut remote_args = vec!["each", "--ssh", &ssh, "-S", "2/h0"];
    remote_args.extend(&args[1..]);
    let remote = run_with_input(&remote_args, &input, Duration::from_secs(180));
    assert_succeeded(&remote);
    assert_eq!(text(&remote.stdout).lines().count(), items.len());
    assert_eq!(
        text(&remote.stdout),
        text(&local.stdout),
        "the remote tasks got other arguments"
    );
    assert!(!x.exists() && !y.exists(), "something was interpreted");
}

#[test]
fn a_task_timeout_over_ssh_leaves_no_remote_process() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let script = recorded_sleeper(&c.dir);
    let out = run_with_input(
        &[
            "each",
            "--ssh",
            &ssh,
            "-S",
            "1/h0",
            "--timeout",
            "1s",
            "--grace",
            "1s",
            "--",
            "sh",
            "-c",
            &script,
            "sh",
            ":::",
            "hang",
        ],
        b"",
        Duration::from_secs(180),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    let f = c.dir.join("pid");
    assert!(f.exists(), "the remote task never started: {stderr}");
    let pid: i32 = std::fs::read_to_string(f).unwrap().trim().parse().unwrap();
    assert_outlived_not(pid, "remote grandchild", "the timed-out task");
}

/// The job log's rows: (seq, host, exit value).
fn joblog_rows(path: &Path) -> Vec<(u64, String, i32)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[6].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_refused_host_is_down_and_the_others_run_every_task() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let log = c.dir.join("jobs.log");
    let results = c.dir.join("results");
    let out = run_with_input(
        &[
            "each",
            "--ssh",
            &ssh,
            "-S",
            "2/down",
            "-S",
            "2/h0",
            "--json",
            "--joblog",
            log.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "--",
            "echo",
        ],
        numbered_lines("t", 1..=20).as_bytes(),
        Duration::from_secs(180),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("host down is down"), "{stderr}");
    assert!(stderr.contains("tasks per host: h0 20"), "{stderr}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 20, "{stdout}");
    for line in stdout.lines() {
        assert!(
            line.contains("\"exit\":0") && line.contains("\"host\":\"h0\""),
            "{line}"
        );
    }
    let rows = joblog_rows(&log);
    assert_eq!(rows.len(), 20);
    assert!(
        rows.iter().all(|(_, h, e)| h == "h0" && *e == 0),
        "{rows:?}"
    );
    let status = std::fs::read_to_string(results.join("7").join("status")).unwrap();
    assert!(status.contains("\"host\":\"h0\""), "{status}");
}

#[test]
fn a_host_lost_mid_run_has_its_task_retried_elsewhere() {
    let Some(mut c) = cluster(2) else { return };
    let ssh = c.ssh();
    let gate = c.dir.join("gate");
    // Tasks note that they started, then wait (bounded) for the gate file:
    // the test crashes h1 while its task runs, then opens the gate.
    let script = format!(
        "touch {d}/started.$0; i=0; while [ ! -e {g} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; echo \"$0\"",
        d = c.dir.display(),
        g = gate.display()
    );
    let child = conductor()
        .args([
            "each",
            "--ssh",
            &ssh,
            "-S",
            "1/h0,1/h1",
            "--json",
            "--",
            "sh",
            "-c",
            &script,
            ":::",
            "a",
            "b",
            "c",
            "d",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(Duration::from_secs(180))
        .spawn()
        .unwrap();
    // Tasks a and b run, one on each host.
    let (a, b) = (c.dir.join("started.a"), c.dir.join("started.b"));
    assert!(
        wait_until(Duration::from_secs(60), || a.exists() && b.exists()),
        "the first tasks never started"
    );
    c.crash(1);
    std::fs::write(&gate, "").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 4, "{stdout}\n{stderr}");
    assert!(stdout.lines().all(|l| l.contains("\"exit\":0")), "{stdout}");
    assert!(stderr.contains("host h1 is down"), "{stderr}");
    assert!(
        !stderr.contains(" 0 retried"),
        "counted as a retry: {stderr}"
    );
}

#[test]
fn one_connection_per_host_however_many_tasks() {
    let Some(c) = cluster(2) else { return };
    let ssh = c.ssh();
    let before = (c.accepted(0), c.accepted(1));
    let out = run_with_input(
        &[
            "each",
            "--ssh",
            &ssh,
            "-S",
            "3/h0,3/h1",
            "--json",
            "--",
            "echo",
        ],
        numbered_lines("t", 0..60).as_bytes(),
        Duration::from_secs(180),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 60);
    assert!(stdout.contains("\"host\":\"h0\"") && stdout.contains("\"host\":\"h1\""));
    assert_eq!(
        (c.accepted(0) - before.0, c.accepted(1) - before.1),
        (1, 1),
        "one connection per host: {stderr}"
    );
}

#[test]
fn shards_joblogs_and_results_combine_into_one_complete_set() {
    let dir = scratch("shards");
    let n = 20;
    let items: String = (1..=n).map(|i| format!("item{i}\n")).collect();
    for i in 1..=3 {
        let log = dir.join(format!("jobs{i}.log"));
        let res = dir.join(format!("results{i}"));
        let shard = format!("{i}/3");
        let out = run_with_input(
            &[
                "each",
                "--shard",
                &shard,
                "--joblog",
                log.to_str().unwrap(),
                "--results",
                res.to_str().unwrap(),
                "--",
                "echo",
                "{#}",
                "{}",
            ],
            items.as_bytes(),
            Duration::from_secs(180),
        );
        assert_succeeded(&out);
        // Each shard prints its own share, in order.
        let want: String = (1..=n)
            .filter(|s| (s - 1) % 3 == i - 1)
            .map(|s| format!("{s} item{s}\n"))
            .collect();
        assert_eq!(text(&out.stdout), want);
    }
    // The recipe of the README: cat the job logs (one header), sort by seq;
    // cp -r the result directories into one.
    let merged = Command::new("sh")
        .args([
            "-c",
            "{ head -n1 jobs1.log; tail -q -n +2 jobs1.log jobs2.log jobs3.log | sort -n; } > jobs.log && \
             mkdir all && cp -r results1/. results2/. results3/. all/",
        ])
        .current_dir(&dir)
        .status()
        .unwrap();
    assert!(merged.success());
    let rows = joblog_rows(&dir.join("jobs.log"));
    let seqs: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<u64>>(), "one row per input");
    let mut stored: Vec<u64> = std::fs::read_dir(dir.join("all"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().parse().unwrap())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        (1..=n).collect::<Vec<u64>>(),
        "one result per input"
    );
    for s in 1..=n {
        let got =
            std::fs::read_to_string(dir.join("all").join(s.to_string()).join("stdout")).unwrap();
        assert_eq!(got, format!("{s} item{s}\n"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Per-task cost of `each` on this machine against over ssh (a channel of
/// the ControlMaster; tasks run `true`, 2 at a time). Prints the figures for
/// the README: `cargo test -p conductor-cli --test each_cluster
/// per_task_cost -- --nocapture`.
#[test]
fn per_task_cost_local_vs_ssh() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let time = |args: &[&str], n: usize| {
        let input: String = (0..n).map(|i| format!("{i}\n")).collect();
        let start = std::time::Instant::now();
        let out = run_with_input(args, input.as_bytes(), Duration::from_secs(180));
        assert_succeeded(&out);
        start.elapsed() / n as u32
    };
    let local = time(&["each", "-j", "2", "--", "true"], 1000);
    let remote = time(&["each", "--ssh", &ssh, "-S", "2/h0", "--", "true"], 200);
    println!(
        "each -j 2 true, per task: local {local:?}, over ssh (ControlMaster channel) {remote:?}"
    );
    assert!(remote > Duration::ZERO && local > Duration::ZERO);
}

#[test]
fn launcher_tasks_read_no_input_and_bad_cluster_options_are_usage_errors() {
    // A task under a launcher gets /dev/null as stdin, as a plain task does.
    let out = run_with_input(
        &[
            "each",
            "--timeout",
            "60s",
            "--launcher",
            "env",
            "--",
            "sh",
            "-c",
            "cat; echo \"$0\"",
            "{}",
            ":::",
            "a",
        ],
        b"",
        Duration::from_secs(180),
    );
    assert_succeeded(&out);
    assert_eq!(text(&out.stdout), "a\n");
    for (args, what) in [
        (
            &["each", "--shard", "4/3", "--", "true", ":::", "a"][..],
            "--shard",
        ),
        (
            &[
                "each",
                "--launcher",
                "env",
                "--containment",
                "cgroup",
                "--",
                "true",
                ":::",
                "a",
            ][..],
            "--containment cgroup",
        ),
        (
            &["each", "-S", "0/h", "--", "true", ":::", "a"][..],
            "--sshlogin",
        ),
    ] {
        let out = run_with_input(args, b"", Duration::from_secs(180));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(
            stderr.contains(what) && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
}

#[test]
fn no_reachable_host_fails_at_once() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let start = std::time::Instant::now();
    let out = run_with_input(
        &[
            "each", "--ssh", &ssh, "-S", "down", "--", "true", ":::", "a",
        ],
        b"",
        Duration::from_secs(180),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("host down is down") && stderr.contains("nothing ran"),
        "{stderr}"
    );
    // Not a backoff loop (minutes): a bound that only catches that.
    assert!(start.elapsed() < Duration::from_secs(60), "{stderr}");
}

#[test]
fn sigkilled_conductor_leaves_no_remote_task() {
    let Some(c) = cluster(1) else { return };
    let ssh = c.ssh();
    let script = recorded_sleeper(&c.dir);
    sigkill_conductor_mid_task(
        &c,
        "cek",
        &[
            "each", "--ssh", &ssh, "-S", "1/h0", "--", "sh", "-c", &script, "sh", ":::", "hang",
        ],
        None,
        "remote task",
    );
}
