//! `conductor pool` as a job people can trust (issue 11): stopping signals,
//! silent block-buffered workers, worker stderr, the bounded reorder window,
//! a closed stdout, lossless JSON and CR handling, the summary's time and
//! respawn causes, and `--containment`.
#![cfg(target_os = "linux")]

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

mod cli_support;

use cli_support::{
    assert_all_gone, conductor, line_reader, lines_in, pids_in_files, pool_of_hanging_workers,
    pool_on_terminal, run_with_input, scratch, spawn, spawn_piped, wait_until,
};
use conductor::blocking::Child;
use conductor::Stdio;
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

fn read_all(r: Option<impl Read>) -> String {
    let mut s = String::new();
    r.unwrap().read_to_string(&mut s).unwrap();
    s
}

/// A line worker that logs each task, and on task `block` waits until the
/// FIFO `dir/gate` is written to.
fn gated_worker(dir: &Path, block: &str) -> String {
    let gate = dir.join("gate");
    let made = std::process::Command::new("mkfifo")
        .arg(&gate)
        .status()
        .unwrap();
    assert!(made.success());
    format!(
        "while read l; do echo \"$l\" >> {log}; if [ \"$l\" = {block} ]; then touch {dir}/held; read x < {gate}; fi; echo \"$l\"; done",
        log = dir.join("log").display(),
        dir = dir.display(),
        gate = gate.display(),
    )
}

fn open_gate(dir: &Path) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("gate"))
        .unwrap();
    f.write_all(b"go\n").unwrap();
}

fn exit_code(child: &mut Child) -> Option<i32> {
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("conductor exits");
    status.code()
}

/// Item 3: SIGTERM, SIGHUP and the first Ctrl-C start nothing more: the
/// task on a worker finishes and is printed, the queued ones are "not run",
/// and the exit status is 128 + the signal.
#[test]
fn first_stopping_signal_runs_no_queued_task_and_exits_128_plus_signal() {
    for (sig, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
    ] {
        let dir = scratch(&format!("sig{sig}"));
        let mut child = spawn_piped(&[
            "pool",
            "-j",
            "1",
            "--",
            "sh",
            "-c",
            &gated_worker(&dir, "1"),
        ]);
        // Input stays open: only the signal ends the job.
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(
                (1..=100)
                    .map(|i| format!("{i}\n"))
                    .collect::<String>()
                    .as_bytes(),
            )
            .unwrap();
        wait_until("the worker holds task 1", Duration::from_secs(30), || {
            dir.join("held").exists()
        });
        let mut next_err = line_reader(child.stderr.take().unwrap(), Duration::from_secs(30));
        child.signal(sig).unwrap();
        let said = next_err();
        assert!(
            said.contains(name) && said.contains("starting no more"),
            "{said}"
        );
        open_gate(&dir);
        let code = exit_code(&mut child);
        drop(stdin);
        let summary = next_err();
        assert_eq!(code, Some(128 + sig), "{name}: {summary}");
        assert_eq!(read_all(child.stdout.take()), "1\n", "{name}");
        assert_eq!(lines_in(&dir.join("log")), 1, "{name}: a queued task ran");
        assert!(
            summary.contains("1 succeeded, 0 failed, 99 not run"),
            "{name}: {summary}"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Item 3: a second signal (any of them) kills every worker tree at once,
/// and conductor exits only once they are gone.
#[test]
fn second_signal_kills_every_worker_tree() {
    let dir = scratch("second");
    let (mut child, stdin) = pool_of_hanging_workers(&dir);
    let workers = || pids_in_files(&dir);
    wait_until("both tasks started", Duration::from_secs(30), || {
        workers().len() == 2
    });
    let mut next_err = line_reader(child.stderr.take().unwrap(), Duration::from_secs(30));
    child.signal(libc::SIGHUP).unwrap();
    assert!(next_err().contains("SIGHUP"));
    child.signal(libc::SIGTERM).unwrap();
    assert_eq!(exit_code(&mut child), Some(128 + libc::SIGTERM));
    drop(stdin);
    assert_all_gone(&workers(), "the second signal");
    let _ = std::fs::remove_dir_all(dir);
}

/// Item 8: a worker that block-buffers its output (tr writing to a pipe)
/// gets one warning naming it, the cause and the remedy; `--line-buffered`
/// makes it work unchanged.
#[test]
fn silent_block_buffered_worker_is_named_and_line_buffered_fixes_it() {
    let mut child = spawn(
        &[
            "pool",
            "-j",
            "1",
            "--warn-silent",
            "300ms",
            "--",
            "tr",
            "a-z",
            "A-Z",
        ],
        Stdio::null(),
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"abc\n").unwrap();
    let mut next_err = line_reader(child.stderr.take().unwrap(), Duration::from_secs(30));
    let warning = next_err();
    assert!(
        warning.contains("worker 0")
            && warning.contains("buffer")
            && warning.contains("--line-buffered"),
        "{warning}"
    );
    child.kill().unwrap();
    let _ = child.wait_timeout(Duration::from_secs(20));
    drop(stdin);

    let out = run_with_input(
        &[
            "pool",
            "-j",
            "2",
            "--line-buffered",
            "--",
            "tr",
            "a-z",
            "A-Z",
        ],
        b"abc\ndef\n",
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout, b"ABC\nDEF\n");
}

/// Item 9: worker stderr reaches conductor's stderr line by line, prefixed
/// with the worker; RUST_LOG turns on conductor's own log.
#[test]
fn worker_stderr_is_forwarded_and_rust_log_is_honoured() {
    let out = run_with_input(&[
            "pool",
            "-j",
            "1",
            "--retries",
            "0",
            // The worker never starts: give up on it soon.
            "--give-up-after",
            "1s",
            "--",
            "python3",
            "-c",
            "import sys\nsys.stderr.write('Traceback (most recent call last):\\nValueError: boom\\n')\nsys.exit(1)",
        ], b"x\n", Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "[worker 0] Traceback (most recent call last):\n[worker 0] ValueError: boom\n"
        ),
        "{stderr}"
    );
    let child = conductor()
        .args(["pool", "-j", "1", "--", "cat"])
        .env("RUST_LOG", "conductor=debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(Duration::from_secs(60))
        .spawn()
        .unwrap();
    let out = child.communicate(b"x\n").unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("worker healthy"), "{stderr}");
}

/// Item 10: with one task hung, conductor reads no further than the reorder
/// window: the tasks started stay within it, and all complete, in order,
/// once the hung one is released.
#[test]
fn hung_task_bounds_the_reorder_window() {
    let dir = scratch("window");
    let mut child = spawn_piped(&[
        "pool",
        "-j",
        "2",
        "--reorder-window",
        "50",
        "--",
        "sh",
        "-c",
        &gated_worker(&dir, "1"),
    ]);
    let total = 3000;
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let input: String = (1..=total).map(|i| format!("{i}\n")).collect();
        let _ = stdin.write_all(input.as_bytes());
    });
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || read_all(Some(stdout)));
    let log = dir.join("log");
    wait_until("the window fills", Duration::from_secs(30), || {
        lines_in(&log) >= 45
    });
    // Observe for a while: the count must not pass the window (plus the hung task).
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let n = lines_in(&log);
        assert!(n <= 51, "{n} tasks started while task 1 hangs (window 50)");
        std::thread::sleep(Duration::from_millis(20));
    }
    open_gate(&dir);
    writer.join().unwrap();
    assert_eq!(exit_code(&mut child), Some(0));
    let want: String = (1..=total).map(|i| format!("{i}\n")).collect();
    assert!(reader.join().unwrap() == want, "every result, in order");
    let _ = std::fs::remove_dir_all(dir);
}

/// Item 11: `conductor pool ... | head -2` stops promptly and quietly with
/// 141 (128 + SIGPIPE), without running the rest of the tasks.
#[test]
fn closed_stdout_stops_the_job_quietly() {
    let dir = scratch("head");
    let input = dir.join("tasks.txt");
    let total = 200_000;
    std::fs::write(
        &input,
        (1..=total).map(|i| format!("{i}\n")).collect::<String>(),
    )
    .unwrap();
    let log = dir.join("log");
    let script = format!(
        "while read l; do echo $l >> {}; echo $l; done",
        log.display()
    );
    let mut child = conductor()
        .args(["pool", "-j", "2", "--", "sh", "-c", &script])
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        // `head -2`: read two lines, then close the pipe.
        use std::io::BufRead;
        let mut head = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut two = String::new();
        head.read_line(&mut two).unwrap();
        head.read_line(&mut two).unwrap();
        assert_eq!(two, "1\n2\n");
    }
    let code = exit_code(&mut child);
    let stderr = read_all(child.stderr.take());
    assert_eq!(code, Some(141), "{stderr}");
    assert_eq!(stderr, "", "quiet");
    let ran = lines_in(&log);
    assert!(
        ran < total / 2,
        "{ran} of {total} tasks ran after stdout closed"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Item 12: `--json` keeps every byte (`result_base64` for results that
/// are not UTF-8); a CR before the newline is dropped from results as it is
/// from task lines.
#[test]
fn json_is_lossless_and_cr_is_handled_alike_both_ways() {
    let out = run_with_input(
        &["pool", "-j", "1", "--json", "--", "cat"],
        b"ok\na\xff\n",
        Duration::from_secs(120),
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[0].contains(r#""result":"ok""#), "{text}");
    assert!(
        rows[1].contains(r#""result_base64":"Yf8=""#) && !rows[1].contains(r#""result":"#),
        "{text}"
    );
    let crlf_worker = ["sed", "-u", "s/$/\r/"];
    let mut args = vec!["pool", "-j", "1", "--"];
    args.extend(crlf_worker);
    let out = run_with_input(&args, b"x\r\ny\r\n", Duration::from_secs(120));
    assert!(out.status.success());
    assert_eq!(out.stdout, b"x\ny\n");
}

/// Item 13: the summary's time excludes worker start-up, which it reports apart.
#[test]
fn summary_time_excludes_worker_start_up() {
    let worker =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/conductor_worker.py");
    let script = format!("sleep 2; exec python3 {}", worker.display());
    let out = run_with_input(
        &["pool", "--framed", "-j", "2", "--", "sh", "-c", &script],
        b"a\nb\nc\n",
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary = stderr.lines().last().unwrap();
    let number_after = |key: &str| -> f64 {
        let rest = &summary[summary
            .find(key)
            .unwrap_or_else(|| panic!("{key}: {summary}"))
            + key.len()..];
        rest.split('s').next().unwrap().parse().unwrap()
    };
    assert!(number_after("workers started in ") >= 1.9, "{summary}");
    assert!(number_after(" timeouts in ") < 1.9, "{summary}");
}

/// Item 16: the summary's respawns are broken down by cause and add up.
#[test]
fn respawns_are_counted_by_cause() {
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "1",
            "--retries",
            "0",
            "--task-timeout",
            "500ms",
            "--",
            "sh",
            "-c",
            "while read l; do [ $l = crash ] && exit 3; [ $l = hang ] && sleep 300; echo $l; done",
        ],
        b"ok\ncrash\nhang\nok\n",
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("2 respawns (1 after crashes, 1 after timeouts)"),
        "{stderr}"
    );
}

/// Item 16: `--containment cgroup` keeps a worker's grandchild that calls
/// setsid in the worker's tree: it is gone when conductor is.
#[test]
fn cgroup_containment_catches_a_setsid_grandchild() {
    let usable = conductor()
        .args(["run", "--containment", "cgroup", "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .timeout(Duration::from_secs(30))
        .status()
        .unwrap();
    if !usable.success() {
        skip::skipped("no writable cgroup2 here");
        return;
    }
    let dir = scratch("setsid");
    let pidfile = dir.join("escapee");
    let script = format!(
        "setsid sh -c 'echo $$ > {p}; exec sleep 300' & while read l; do until [ -s {p} ]; do sleep 0.01; done; echo $l; done",
        p = pidfile.display()
    );
    let out = run_with_input(
        &[
            "pool",
            "-j",
            "1",
            "--containment",
            "cgroup",
            "--",
            "sh",
            "-c",
            &script,
        ],
        b"a\n",
        Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    wait_until(
        "the grandchild wrote its pid",
        Duration::from_secs(30),
        || std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n')),
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
    if alive {
        cli_support::kill(pid, rustix::process::Signal::KILL);
    }
    assert!(
        !alive,
        "the setsid grandchild {pid} escaped the worker's cgroup"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Item 13: on a terminal, the bar shows a rate and an ETA computed from the
/// tasks done since the workers were ready.
#[test]
fn progress_bar_shows_rate_and_eta() {
    let screen = pool_on_terminal("bar", "while read l; do sleep 0.05; echo $l; done", 40);
    // e.g. "12/40 done, 0 failed, 31/s, ETA 1s"
    let sane = screen.split("/40 done, 0 failed, ").skip(1).any(|rest| {
        let Some((rate, after)) = rest.split_once("/s, ETA ") else {
            return false;
        };
        let eta: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        rate.parse::<f64>().is_ok_and(|r| r > 0.0) && eta.ends_with('s') && eta.len() <= 6
    });
    assert!(sane, "a bar with a rate and an ETA: {screen:?}");
}
