//! `conductor each` end to end through the built binary: inputs, templates,
//! output modes, results, job log and resume (also after a SIGKILL), halt,
//! timeouts, retries, memory limits, signals and exit statuses.
#![cfg(target_os = "linux")]

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

mod cli_support;

use cli_support::{
    communicate, conductor, line_reader, live_members, on_terminal, scratch, spawn, text,
    wait_until,
};
use conductor::Stdio;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `conductor each ARGS` with `input` on stdin; at most 60 s.
fn each(args: &[&str], input: &[u8]) -> conductor::Output {
    communicate(
        conductor().arg("each").args(args),
        input,
        Duration::from_secs(60),
    )
}

#[test]
fn inputs_from_stdin_arg_file_and_triple_colon() {
    let out = each(&["-j", "3", "--", "echo", "n"], b"1\n2\n3\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "n 1\nn 2\nn 3\n");
    let d = scratch("each-argfile");
    let f = d.join("items.txt");
    std::fs::write(&f, "a\nb").unwrap();
    let out = each(&["-a", f.to_str().unwrap(), "echo"], b"ignored\n");
    assert_eq!(text(&out.stdout), "a\nb\n");
    let out = each(&["echo", "x", ":::", "p", "q r"], b"");
    assert_eq!(text(&out.stdout), "x p\nx q r\n");
    let out = each(&["-0", "printf", "[%s]"], b"one\ntwo\0three\0");
    assert_eq!(text(&out.stdout), "[one\ntwo][three]");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn non_utf8_items_pass_through_unchanged() {
    let out = each(&["printf", "%s|"], b"caf\xe9\n\xff\xfe\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"caf\xe9|\xff\xfe|");
}

#[test]
fn placeholders_and_the_appended_item() {
    let out = each(
        &[
            "-j", "1", "echo", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}", "x{foo}",
        ],
        b"dir/a.tar.gz\nb\n",
    );
    assert_eq!(
        text(&out.stdout),
        "dir/a.tar.gz dir/a.tar a.tar.gz dir a.tar 1 1 x{foo}\nb b b . b 2 1 x{foo}\n"
    );
    // Never a shell: the item is one argument whatever it holds.
    let out = each(
        &["sh", "-c", "echo \"$#:$1\"", "sh", "{}"],
        b"a b; echo pwned\n",
    );
    assert_eq!(text(&out.stdout), "1:a b; echo pwned\n");
}

#[test]
fn dry_run_prints_shell_quoted_commands_and_unknown_placeholders() {
    let out = each(
        &[
            "--dry-run",
            "convert",
            "{}",
            "{/.}.png",
            "{foo}",
            ":::",
            "my dir/c.jpg",
            "it's",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "convert 'my dir/c.jpg' c.png '{foo}'\nconvert 'it'\\''s' 'it'\\''s.png' '{foo}'\n"
    );
}

#[test]
fn empty_input_runs_nothing_and_exits_0() {
    let out = each(&["false"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn output_is_whole_per_task_in_input_order_and_spills_huge_outputs() {
    // Each task writes 2,000 lines in small writes; 3 at a time.
    let script = "i=0; while [ $i -lt 2000 ]; do echo \"$0 line $i\"; i=$((i+1)); done";
    let out = each(
        &["-j", "3", "sh", "-c", script],
        b"t1\nt2\nt3\nt4\nt5\nt6\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let want: String = (1..=6)
        .flat_map(|t| (0..2000).map(move |i| format!("t{t} line {i}\n")))
        .collect();
    assert!(
        text(&out.stdout) == want,
        "whole, never interleaved, input order"
    );
    // 8 MiB from one task: past the memory bound, spilled, printed whole.
    let out = each(
        &[
            "sh",
            "-c",
            "head -c 8388608 /dev/zero | tr '\\0' x; echo",
            ":::",
            "1",
        ],
        b"",
    );
    assert_eq!(out.stdout.len(), 8 * 1024 * 1024 + 1);
    assert!(out.stdout[..8 * 1024 * 1024].iter().all(|&b| b == b'x'));
}

#[test]
fn unordered_prints_as_tasks_finish() {
    let d = scratch("each-unordered");
    let flag = d.join("second-done");
    // Task 1 waits (bounded) for a flag this test makes only once task 2's
    // output has been printed: with --unordered, "two" comes out while task 1
    // still runs.
    let script = format!(
        "if [ $0 = 1 ]; then i=0; while [ ! -e {f} ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; echo one; else echo two; fi",
        f = flag.display()
    );
    let mut child = conductor()
        .args([
            "each",
            "-j",
            "2",
            "--unordered",
            "sh",
            "-c",
            &script,
            ":::",
            "1",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut next = line_reader(child.stdout.take().unwrap(), Duration::from_secs(30));
    assert_eq!(next(), "two", "task 2's output before task 1 finished");
    std::fs::write(&flag, "").unwrap();
    assert_eq!(next(), "one");
    let status = child
        .wait_timeout(Duration::from_secs(30))
        .unwrap()
        .expect("exits");
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_file(&flag);
    // Task 2 finishes first (task 1 waits for its flag); the output is still
    // in input order.
    let script = format!(
        "if [ $0 = 1 ]; then i=0; while [ ! -e {f} ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; echo one; else echo two; touch {f}; fi",
        f = flag.display()
    );
    let out = each(&["-j", "2", "sh", "-c", &script, ":::", "1", "2"], b"");
    assert_eq!(text(&out.stdout), "one\ntwo\n", "input order by default");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn line_buffer_prints_lines_while_the_task_runs() {
    let d = scratch("each-linebuf");
    let flag = d.join("go");
    let script = format!(
        "echo first; i=0; while [ ! -e {f} ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i+1)); done; echo last",
        f = flag.display()
    );
    let mut child = conductor()
        .args([
            "each",
            "--line-buffer",
            "--tag",
            "sh",
            "-c",
            &script,
            ":::",
            "x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(
        first, "x\tfirst",
        "the first line arrives before the task ends"
    );
    std::fs::write(&flag, "").unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "x\tlast");
    assert!(child
        .wait_timeout(Duration::from_secs(20))
        .unwrap()
        .unwrap()
        .success());
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn tag_prefixes_stdout_and_stderr_lines() {
    let out = each(
        &["--tag", "sh", "-c", "echo out; echo err >&2", ":::", "a"],
        b"",
    );
    assert_eq!(text(&out.stdout), "a\tout\n");
    assert!(
        text(&out.stderr).contains("a\terr\n"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn json_reports_one_object_per_task() {
    let out = each(
        &[
            "--json",
            "-j",
            "2",
            "sh",
            "-c",
            "echo hi $0; exit $0",
            ":::",
            "0",
            "3",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("{\"seq\":1,\"item\":\"0\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("\"exit\":3,\"signal\":null"),
        "{}",
        lines[1]
    );
    for key in [
        "\"attempts\":1",
        "\"start\":",
        "\"duration\":",
        "\"host\":",
        "\"stdout\":\"hi 3\\n\"",
    ] {
        assert!(lines[1].contains(key), "{key} in {}", lines[1]);
    }
}

#[test]
fn results_directory_gets_stdout_stderr_and_status_per_task() {
    let d = scratch("each-results");
    let res = d.join("out");
    let out = each(
        &[
            "--results",
            res.to_str().unwrap(),
            "sh",
            "-c",
            "echo o$0; echo e$0 >&2; exit $0",
            ":::",
            "0",
            "2",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(res.join("1/stdout")).unwrap(),
        "o0\n"
    );
    assert_eq!(
        std::fs::read_to_string(res.join("2/stderr")).unwrap(),
        "e2\n"
    );
    let status = std::fs::read_to_string(res.join("2/status")).unwrap();
    assert!(status.contains("\"exit\":2"), "{status}");
    let names: Vec<_> = std::fs::read_dir(res.join("1"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 3, "no temporary files left: {names:?}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn unwritable_results_directory_is_refused_before_any_task_runs() {
    let d = scratch("each-badresults");
    let file = d.join("a-file");
    std::fs::write(&file, "").unwrap();
    let marker = d.join("ran");
    let out = each(
        &[
            "--results",
            file.join("sub").to_str().unwrap(),
            "touch",
            marker.to_str().unwrap(),
        ],
        b"1\n",
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("--results"),
        "{}",
        text(&out.stderr)
    );
    assert!(!marker.exists(), "no task ran");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn exit_statuses_follow_gnu_parallel() {
    assert_eq!(each(&["true"], b"1\n2\n").status.code(), Some(0));
    assert_eq!(
        each(&["sh", "-c", "exit $0"], b"0\n1\n2\n3\n")
            .status
            .code(),
        Some(3)
    );
    let many: String = (0..105).map(|i| format!("{i}\n")).collect();
    assert_eq!(each(&["false"], many.as_bytes()).status.code(), Some(101));
    let out = each(&["-j", "2", "/no/such/program"], many.as_bytes());
    assert_eq!(out.status.code(), Some(127));
    let err = text(&out.stderr);
    assert_eq!(
        err.matches("/no/such/program").count(),
        1,
        "reported once: {err}"
    );
    // Usage errors: one line, 125.
    for bad in [
        &["--resume", "echo"][..],
        &["-j", "0", "echo"],
        &["--halt", "sometimes", "echo"],
        &["--memfree", "lots", "echo"],
        &["--bogus", "echo"],
    ] {
        let out = each(bad, b"");
        assert_eq!(out.status.code(), Some(125), "{bad:?}");
        assert_eq!(
            text(&out.stderr).lines().count(),
            1,
            "{bad:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn retries_run_a_failed_task_again() {
    let d = scratch("each-retries");
    let counter = d.join("n");
    let script = format!(
        "echo x >> {c}; [ $(wc -l < {c}) -ge 3 ]",
        c = counter.display()
    );
    let out = each(
        &["--retries", "2", "--json", "sh", "-c", &script, ":::", "a"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"attempts\":3"),
        "{}",
        text(&out.stdout)
    );
    let _ = std::fs::remove_file(&counter);
    let out = each(&["--retries", "1", "sh", "-c", &script, ":::", "a"], b"");
    assert_eq!(out.status.code(), Some(1), "two attempts were not enough");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn timeout_stops_the_whole_tree_of_a_task() {
    let t = Instant::now();
    let out = each(
        &[
            "--timeout",
            "1s",
            "--grace",
            "500ms",
            "--json",
            "sh",
            "-c",
            "echo $$; sleep 300 & sleep 300 & wait",
            ":::",
            "x",
        ],
        b"",
    );
    assert!(t.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\"timed_out\":true"), "{stdout}");
    assert!(
        text(&out.stderr).contains("timed out"),
        "{}",
        text(&out.stderr)
    );
    let pgid = stdout
        .split("\"stdout\":\"")
        .nth(1)
        .unwrap()
        .split('\\')
        .next()
        .unwrap();
    assert!(
        live_members(pgid).is_empty(),
        "survivors of group {pgid}: {:?}",
        live_members(pgid)
    );
}

#[test]
fn halt_now_stops_within_one_tasks_time() {
    let t = Instant::now();
    let out = each(
        &[
            "-j",
            "3",
            "--halt",
            "now,fail=1",
            "--grace",
            "1s",
            "sh",
            "-c",
            "if [ $0 = bad ]; then exit 4; fi; sleep 60",
        ],
        b"slow1\nslow2\nbad\nslow3\nslow4\n",
    );
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "the 60 s tasks were stopped"
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "the status of the task that caused the halt"
    );
    assert!(
        text(&out.stderr).contains("--halt now,fail=1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn halt_soon_lets_running_tasks_finish_and_starts_no_more() {
    let out = each(
        &[
            "-j",
            "1",
            "--halt",
            "soon,fail=1",
            "sh",
            "-c",
            "echo $0; exit $0",
        ],
        b"0\n5\n0\n0\n",
    );
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(text(&out.stdout), "0\n5\n");
    let out = each(
        &["-j", "1", "--halt", "soon,success=2", "echo"],
        b"a\nb\nc\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "a\nb\n");
}

fn joblog_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn joblog_in_gnu_format_and_resume() {
    let d = scratch("each-joblog");
    let log = d.join("jobs.log");
    let l = log.to_str().unwrap();
    let out = each(&["--joblog", l, "sh", "-c", "exit $0"], b"0\n1\n0\n");
    assert_eq!(out.status.code(), Some(1));
    let head = std::fs::read_to_string(&log).unwrap();
    assert!(head.starts_with(
        "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
    ));
    let rows = joblog_rows(&log);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], "2");
    assert_eq!(rows[1][6], "1");
    assert_eq!(rows[1][8], "sh -c 'exit $0' 1");
    // --resume: nothing left to do.
    let out = each(
        &[
            "--joblog",
            l,
            "--resume",
            "sh",
            "-c",
            "echo ran $0; exit $0",
        ],
        b"0\n1\n0\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    // --resume-failed: the failed one runs again; a new input runs too.
    let out = each(
        &["--joblog", l, "--resume-failed", "sh", "-c", "echo ran $0"],
        b"0\n1\n0\n7\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "ran 1\nran 7\n");
    assert_eq!(joblog_rows(&log).len(), 5);
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn a_joblog_that_does_not_parse_is_refused_and_left_alone() {
    let d = scratch("each-badlog");
    let log = d.join("jobs.log");
    let content = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\tgarbage\n";
    std::fs::write(&log, content).unwrap();
    for extra in [&["--resume"][..], &[]] {
        let mut args = vec!["--joblog", log.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push("echo");
        let out = each(&args, b"a\n");
        assert_eq!(out.status.code(), Some(125));
        assert!(
            text(&out.stderr).contains("line 2"),
            "{}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        assert_eq!(std::fs::read_to_string(&log).unwrap(), content);
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn sigkill_mid_run_then_resume_leaves_one_result_and_one_row_per_input() {
    let d = scratch("each-crash");
    let log = d.join("jobs.log");
    let res = d.join("res");
    let (l, r) = (log.to_str().unwrap(), res.to_str().unwrap());
    let n = 40;
    let input: String = (1..=n).map(|i| format!("{i}\n")).collect();
    let args = [
        "each",
        "-j",
        "4",
        "--joblog",
        l,
        "--results",
        r,
        "--resume",
        "sh",
        "-c",
        "echo out $0; sleep 0.05",
    ];
    let mut child = spawn(&args, Stdio::null(), Stdio::null());
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    wait_until("ten rows in the log", Duration::from_secs(60), || {
        std::fs::read_to_string(&log).map_or(0, |t| t.lines().count()) > 10
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let before = joblog_rows(&log).len();
    assert!(before < n, "killed mid-run ({before} rows)");
    let out = each(&args[1..], input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = joblog_rows(&log);
    let mut seqs: Vec<u64> = rows.iter().map(|r| r[0].parse().unwrap()).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=n as u64).collect::<Vec<_>>(),
        "exactly one row per input"
    );
    for i in 1..=n {
        let dir = res.join(i.to_string());
        assert_eq!(
            std::fs::read_to_string(dir.join("stdout")).unwrap(),
            format!("out {i}\n")
        );
        assert!(std::fs::read_to_string(dir.join("status"))
            .unwrap()
            .contains("\"exit\":0"));
        let files = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(
            files,
            3,
            "one complete result, no leftovers, in {}",
            dir.display()
        );
    }
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn first_signal_stops_starting_second_stops_every_tree() {
    let d = scratch("each-signals");
    let started = d.join("started");
    let go = d.join("go");
    let script = format!(
        "echo $$ > {s}; i=0; while [ ! -e {g} ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; echo done $0",
        s = started.display(),
        g = go.display()
    );
    let mut child = conductor()
        .args(["each", "-j", "1", "sh", "-c", &script, ":::", "1", "2", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the first task", Duration::from_secs(30), || {
        started.exists()
    });
    child.signal(libc::SIGINT).unwrap();
    std::fs::write(&go, "").unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(30))
        .unwrap()
        .expect("exits");
    assert_eq!(status.code(), Some(130));
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(
        out, "done 1\n",
        "the running task finished; no other started"
    );

    // Twice: the running tree is stopped at once.
    let _ = std::fs::remove_file(&started);
    let _ = std::fs::remove_file(&go);
    let script = format!("echo $$ > {s}; sleep 300", s = started.display());
    let mut child = conductor()
        .args(["each", "--grace", "1s", "sh", "-c", &script, ":::", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    wait_until("the task", Duration::from_secs(30), || {
        std::fs::read_to_string(&started).is_ok_and(|s| s.ends_with('\n'))
    });
    let t = Instant::now();
    child.signal(libc::SIGTERM).unwrap();
    // The second signal once the first was seen (two pending signals merge).
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(line.contains("SIGTERM"), "{line}");
    child.signal(libc::SIGTERM).unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(30))
        .unwrap()
        .expect("exits");
    assert!(t.elapsed() < Duration::from_secs(30));
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    let pid = std::fs::read_to_string(&started).unwrap();
    assert!(live_members(pid.trim()).is_empty());
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn memfree_holds_tasks_back_until_memory_is_available() {
    let out = each(&["--memfree", "1K", "echo"], b"a\n");
    assert_eq!(text(&out.stdout), "a\n");
    // An impossible floor: nothing starts.
    let d = scratch("each-memfree");
    let marker = d.join("ran");
    let mut child = spawn(
        &[
            "each",
            "--memfree",
            "1000000T",
            "touch",
            marker.to_str().unwrap(),
        ],
        Stdio::null(),
        Stdio::null(),
    );
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"1\n").unwrap();
    }
    assert_eq!(
        child.wait_timeout(Duration::from_millis(500)).unwrap(),
        None
    );
    assert!(!marker.exists());
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn mem_limit_reports_an_oom_kill() {
    let out = each(
        &[
            "--mem-limit",
            "64M",
            "--json",
            "python3",
            "-c",
            "x = b'x' * (400 << 20); print('survived')",
            ":::",
            "big",
        ],
        b"",
    );
    let err = text(&out.stderr);
    if out.status.code() == Some(125) && err.contains("--mem-limit") {
        assert_eq!(err.lines().count(), 1, "{err}");
        skip::skipped(format!("no usable memory controller: {err}"));
        return;
    }
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\"oom_killed\":true"), "{stdout} {err}");
    assert!(err.contains("OOM"), "{err}");
    assert_ne!(out.status.code(), Some(0));
    let out = each(&["--mem-limit", "64M", "echo"], b"small\n");
    assert_eq!(text(&out.stdout), "small\n");
}

#[test]
fn containment_options_are_those_of_run() {
    for c in ["group", "session", "none", "best"] {
        let out = each(&["--containment", c, "echo"], b"x\n");
        assert_eq!(
            text(&out.stdout),
            "x\n",
            "--containment {c}: {}",
            text(&out.stderr)
        );
    }
    let out = each(&["--containment", "cgroup", "echo"], b"x\n");
    if out.status.code() != Some(0) {
        assert!(
            text(&out.stderr).contains("cgroup"),
            "{}",
            text(&out.stderr)
        );
        skip::skipped("no writable cgroup2 for --containment cgroup");
    }
}

#[test]
fn summary_line_on_stderr() {
    let out = each(&["sh", "-c", "exit $0"], b"0\n1\n");
    let err = text(&out.stderr);
    assert!(err.contains("1 succeeded, 1 failed"), "{err}");
}

#[test]
fn progress_bar_on_a_terminal() {
    let d = scratch("each-pty");
    let (code, screen) = on_terminal(&["each", "-j", "2", "sh", "-c", "sleep 0.02"], &d, 30);
    assert_eq!(code, Some(0));
    assert!(screen.contains("/30 done"), "{screen:?}");
    assert!(screen.contains("30 succeeded, 0 failed"), "{screen:?}");
    let _ = std::fs::remove_dir_all(d);
}

#[allow(dead_code)]
fn bytes(p: &Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}
