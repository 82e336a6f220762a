//! The Windows backend end to end, run under Wine by `.ci/windows.sh` (or
//! natively on Windows): exit codes, pipes, kill, big concurrent output on
//! both APIs, Job-contained trees killed as a whole, argument round trips
//! through conductor's own spawn, batch files and injection attempts,
//! PATHEXT resolution, errors, timeouts and the I/O grace.
//!
//! Children are `examples/child_helper.exe` and `examples/print_argv.exe`,
//! built for the target by `.ci/windows.sh`. Every wait is bounded, so a
//! bug fails fast instead of hanging the run.
//!
//! On other operating systems this file compiles to nothing.
#![cfg(windows)]

use conductor::windows::CommandExt;
use conductor::{Containment, Stdio};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::windows::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// Longest any single step may take before the test fails.
const BOUND: Duration = Duration::from_secs(30);

fn examples_dir() -> PathBuf {
    // target/<triple>/debug/deps/windows_backend-*.exe -> target/<triple>/debug/examples
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("examples"))
        .expect("test exe directory")
}

fn example(name: &str) -> PathBuf {
    let path = examples_dir().join(format!("{name}.exe"));
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p conductor --examples --target <windows triple>` (see .ci/windows.sh)",
        path.display()
    );
    path
}

fn helper() -> PathBuf {
    example("child_helper")
}

fn under_wine() -> bool {
    std::env::var_os("CONDUCTOR_UNDER_WINE").is_some()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("conductor backend {} {name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs an async test body under [`BOUND`].
fn run_async<F: std::future::Future<Output = ()>>(f: F) {
    rt().block_on(async {
        timeout(BOUND * 2, f).await.expect("async test timed out");
    });
}

// ------------------------------------------------------------ process checks

/// True once the process `pid` is gone (it exits within `within`).
fn process_gone(pid: u32, within: Duration) -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0};
    use windows_sys::Win32::System::Threading::{
        OpenProcess, WaitForSingleObject, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    };
    // SAFETY: opening by pid; the handle is closed below.
    let h = unsafe {
        OpenProcess(
            PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            pid,
        )
    };
    if h.is_null() {
        // No such process any more.
        return true;
    }
    let ms = within.as_millis() as u32;
    // SAFETY: a handle we own.
    let gone = unsafe { WaitForSingleObject(h, ms) } == WAIT_OBJECT_0;
    // SAFETY: closed once.
    unsafe { CloseHandle(h) };
    gone
}

/// True when `file` stops growing (its writer is gone).
fn heartbeat_stopped(file: &Path) -> bool {
    let len = || std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    std::thread::sleep(Duration::from_millis(200));
    let before = len();
    std::thread::sleep(Duration::from_millis(400));
    len() == before
}

/// Asserts that the tree's grandchild is gone (within the bound) and that its
/// heartbeat file has stopped growing.
fn assert_tree_stopped(grandchild: u32, beat: &Path) {
    assert!(
        process_gone(grandchild, BOUND),
        "grandchild {grandchild} survived"
    );
    assert!(heartbeat_stopped(beat), "the heartbeat goes on");
}

/// Waits until `file` exists and has a line (the heartbeat started).
fn wait_for_heartbeat(file: &Path) {
    let start = Instant::now();
    while std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(start.elapsed() < BOUND, "heartbeat never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- basics

#[test]
fn exit_codes_blocking() {
    for code in [0, 1, 3, 255, 4242] {
        let status = conductor::blocking::Command::new(helper())
            .args(["exit", &code.to_string()])
            .status()
            .expect("status");
        assert_eq!(status.code(), Some(code));
        assert_eq!(status.success(), code == 0);
        assert_eq!(status.signal(), None);
    }
}

#[test]
fn exit_codes_async_and_usage() {
    run_async(async {
        let mut child = conductor::Command::new(helper())
            .args(["exit", "7"])
            .spawn()
            .expect("spawn");
        assert!(child.id() > 0);
        let status = child.wait().await.expect("wait");
        assert_eq!(status.code(), Some(7));
        let usage = child.resource_usage().expect("usage after wait");
        eprintln!("resource usage: {usage:?}");
        if !under_wine() {
            // Wine reports no peak working set for another process.
            assert!(usage.max_rss_bytes > 0, "{usage:?}");
        }
        // A second wait gives the same status.
        assert_eq!(child.wait().await.expect("wait again").code(), Some(7));
    });
}

#[test]
fn many_concurrent_async_waits() {
    run_async(async {
        let mut waits = Vec::new();
        for i in 0..16 {
            let mut child = conductor::Command::new(helper())
                .args(["exit", &i.to_string()])
                .spawn()
                .expect("spawn");
            waits.push(tokio::spawn(
                async move { child.wait().await.map(|s| s.code()) },
            ));
        }
        for (i, w) in waits.into_iter().enumerate() {
            assert_eq!(w.await.expect("join").expect("wait"), Some(i as i32));
        }
    });
}

#[test]
fn stdin_stdout_round_trip_async() {
    run_async(async {
        let mut child = conductor::Command::new(helper())
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"ping over a named pipe")
            .await
            .expect("write");
        drop(stdin);
        let mut got = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut got)
            .await
            .expect("read");
        assert_eq!(got, "ping over a named pipe");
        assert!(child.wait().await.expect("wait").success());

        let child = conductor::Command::new(helper())
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        let input = vec![b'x'; 3 << 20];
        let out = child.communicate(&input).await.expect("communicate");
        assert_eq!(out.stdout.len(), input.len());
        assert!(out.status.success());
    });
}

#[test]
fn stdin_stdout_round_trip_blocking() {
    let mut child = conductor::blocking::Command::new(helper())
        .arg("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"ping")
        .expect("write");
    let mut got = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut got)
        .expect("read");
    assert_eq!(got, "ping");
    assert!(child.wait().expect("wait").success());

    let child = conductor::blocking::Command::new(helper())
        .arg("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let input = vec![b'y'; 3 << 20];
    let out = child.communicate(&input).expect("communicate");
    assert_eq!(out.stdout, input);
}

#[test]
fn pipe_to_another_child() {
    // Blocking: a's stdout becomes b's stdin.
    let mut a = conductor::blocking::Command::new(helper())
        .arg("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn a");
    let a_out = a.stdout.take().expect("stdout");
    let b = conductor::blocking::Command::new(helper())
        .arg("cat")
        .stdin(a_out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn b");
    a.stdin
        .take()
        .expect("stdin")
        .write_all(b"through two")
        .expect("write");
    assert!(a.wait().expect("wait a").success());
    assert_eq!(b.wait_with_output().expect("b").stdout, b"through two");

    // Async: the same, through From<ChildStdout>.
    run_async(async {
        let mut a = conductor::Command::new(helper())
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn a");
        let a_out: Stdio = a.stdout.take().expect("stdout").into();
        let b = conductor::Command::new(helper())
            .arg("cat")
            .stdin(a_out)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn b");
        let mut stdin = a.stdin.take().expect("stdin");
        stdin.write_all(b"async pair").await.expect("write");
        drop(stdin);
        assert!(a.wait().await.expect("wait a").success());
        assert_eq!(b.wait_with_output().await.expect("b").stdout, b"async pair");
    });
}

#[test]
fn kill_async_and_blocking() {
    run_async(async {
        let mut child = conductor::Command::new(helper())
            .args(["sleep", "60000"])
            .spawn()
            .expect("spawn");
        assert_eq!(child.try_wait().expect("try_wait"), None);
        child.start_kill().expect("kill");
        let status = timeout(BOUND, child.wait())
            .await
            .expect("bounded")
            .expect("wait");
        assert_eq!(status.code(), Some(1));
        // Killing an exited child is not an error.
        child.start_kill().expect("kill again");
    });
    let mut child = conductor::blocking::Command::new(helper())
        .args(["sleep", "60000"])
        .spawn()
        .expect("spawn");
    assert_eq!(
        child.wait_timeout(Duration::from_millis(50)).expect("wait"),
        None
    );
    child.kill().expect("kill");
    let status = child.wait_timeout(BOUND).expect("wait").expect("exited");
    assert!(!status.success());
}

#[test]
fn registered_wait_survives_timeouts_and_drop() {
    run_async(async {
        let mut child = conductor::Command::new(helper())
            .args(["sleep", "60000"])
            .spawn()
            .expect("spawn");
        // Each timed-out wait leaves the registered wait in place.
        for _ in 0..3 {
            let r = child
                .wait_timeout(Duration::from_millis(30))
                .await
                .expect("wait");
            assert_eq!(r, None);
        }
        child.start_kill().expect("kill");
        let status = timeout(BOUND, child.wait())
            .await
            .expect("bounded")
            .expect("wait");
        assert_eq!(status.code(), Some(1));

        // Dropping a child while its wait is registered unregisters it.
        let mut child = conductor::Command::new(helper())
            .args(["sleep", "60000"])
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let pid = child.id();
        assert_eq!(
            child
                .wait_timeout(Duration::from_millis(30))
                .await
                .expect("wait"),
            None
        );
        drop(child);
        assert!(
            process_gone(pid, BOUND),
            "kill_on_drop left the child running"
        );
    });
}

#[test]
fn stdout_to_a_file() {
    let dir = scratch("file");
    let path = dir.join("out.txt");
    let file = std::fs::File::create(&path).expect("create");
    let status = conductor::blocking::Command::new(helper())
        .args(["env", "CONDUCTOR_FILE_TEST"])
        .env("CONDUCTOR_FILE_TEST", "to a file")
        .stdout(file)
        .status()
        .expect("status");
    assert!(status.success());
    let text = std::fs::read_to_string(&path).expect("read");
    assert_eq!(text.trim(), "to a file");
}

#[test]
fn signals_map_or_refuse() {
    let mut child = conductor::blocking::Command::new(helper())
        .args(["sleep", "60000"])
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    child.signal(0).expect("signal 0 checks only");
    let err = child.signal(2).expect_err("SIGINT has no equivalent");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    let err = child
        .signal(conductor::windows::SIGBREAK)
        .expect_err("SIGBREAK needs a process group");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    child
        .signal(conductor::windows::SIGTERM)
        .expect("SIGTERM terminates");
    let status = child.wait_timeout(BOUND).expect("wait").expect("exited");
    assert_eq!(status.code(), Some(1));
}

// ------------------------------------------------------- big output, no deadlock

fn check_spew(out: &conductor::Output, mib: usize) {
    assert!(out.status.success(), "{:?}", out.status);
    for (name, data) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert_eq!(data.len(), mib << 20, "{name} size");
        assert!(
            data.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
            "{name} content"
        );
    }
}

#[test]
fn output_megabytes_both_streams_async() {
    run_async(async {
        let out = timeout(
            BOUND,
            conductor::Command::new(helper())
                .args(["spew", "4"])
                .output(),
        )
        .await
        .expect("no deadlock")
        .expect("output");
        check_spew(&out, 4);
    });
}

#[test]
fn output_megabytes_both_streams_blocking() {
    let out = conductor::blocking::Command::new(helper())
        .args(["spew", "4"])
        .timeout(BOUND)
        .output()
        .expect("output");
    check_spew(&out, 4);
}

#[test]
fn capture_limit_keeps_draining() {
    let out = conductor::blocking::Command::new(helper())
        .args(["spew", "2"])
        .capture_limit(1000)
        .timeout(BOUND)
        .capture()
        .expect("output");
    assert!(out.output.status.success());
    assert_eq!(
        (out.output.stdout.len(), out.output.stderr.len()),
        (1000, 1000)
    );
    assert!(out.stdout_truncated && out.stderr_truncated);
    run_async(async {
        let out = conductor::Command::new(helper())
            .args(["spew", "2"])
            .capture_limit(10)
            .timeout(BOUND)
            .capture()
            .await
            .expect("output");
        assert!(out.output.status.success());
        assert_eq!(out.output.stdout, (0..10u8).collect::<Vec<_>>());
        assert!(out.stdout_truncated);
    });
}

// ------------------------------------------------------------------ trees

/// Spawns `tree FILE` in a Job, returns the child and the grandchild's pid.
async fn spawn_tree(dir: &Path, kill_on_drop: bool) -> (conductor::Child, u32, PathBuf) {
    let beat = dir.join("heartbeat.txt");
    let mut child = conductor::Command::new(helper())
        .arg("tree")
        .arg(&beat)
        .containment(Containment::ProcessGroup)
        .kill_on_drop(kill_on_drop)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn tree");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = timeout(BOUND, lines.next_line())
        .await
        .expect("bounded")
        .expect("read")
        .expect("a pid line");
    let pid: u32 = line.trim().parse().expect("pid");
    wait_for_heartbeat(&beat);
    (child, pid, beat)
}

#[test]
fn job_tree_killed_as_a_whole() {
    let dir = scratch("tree");
    run_async(async {
        let (mut child, grandchild, beat) = spawn_tree(&dir, false).await;
        assert!(!process_gone(grandchild, Duration::ZERO), "grandchild runs");
        child
            .signal_tree(conductor::windows::SIGKILL)
            .expect("kill the job");
        timeout(BOUND, child.wait())
            .await
            .expect("bounded")
            .expect("wait");
        assert_tree_stopped(grandchild, &beat);
    });
}

#[test]
fn job_tree_terminate_with_grace_and_wait_tree() {
    let dir = scratch("terminate");
    run_async(async {
        let (mut child, grandchild, beat) = spawn_tree(&dir, false).await;
        let start = Instant::now();
        let status = timeout(BOUND, child.terminate(Duration::from_millis(500)))
            .await
            .expect("bounded")
            .expect("terminate");
        assert!(!status.success());
        eprintln!("terminate: {status:?} after {:?}", start.elapsed());
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_tree_stopped(grandchild, &beat);
        // The tree is empty now.
        timeout(BOUND, child.wait_tree())
            .await
            .expect("bounded")
            .expect("wait_tree");
    });
}

#[test]
fn job_tree_blocking_terminate() {
    let dir = scratch("blocking tree");
    let beat = dir.join("heartbeat.txt");
    let mut child = conductor::blocking::Command::new(helper())
        .arg("tree")
        .arg(&beat)
        .containment(Containment::BestAvailable)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    let mut out = child.stdout.take().expect("stdout");
    let mut byte = [0u8; 1];
    while !line.ends_with('\n') {
        assert_eq!(out.read(&mut byte).expect("read"), 1, "pid line");
        line.push(byte[0] as char);
    }
    let grandchild: u32 = line.trim().parse().expect("pid");
    wait_for_heartbeat(&beat);
    let status = child.terminate(Duration::ZERO).expect("terminate");
    assert!(!status.success());
    assert!(process_gone(grandchild, BOUND));
    child.wait_tree().expect("wait_tree");
}

#[test]
fn kill_on_drop_kills_the_tree() {
    let dir = scratch("drop");
    run_async(async {
        let (child, grandchild, beat) = spawn_tree(&dir, true).await;
        let pid = child.id();
        drop(child);
        assert!(process_gone(pid, BOUND), "child survived the drop");
        assert_tree_stopped(grandchild, &beat);
    });
}

#[test]
fn dropped_tree_without_kill_runs_on() {
    let dir = scratch("runs on");
    run_async(async {
        let (child, grandchild, beat) = spawn_tree(&dir, false).await;
        let pid = child.id();
        drop(child);
        assert!(!process_gone(grandchild, Duration::from_millis(300)));
        assert!(
            !heartbeat_stopped(&beat),
            "the tree was killed by closing its job"
        );
        // Clean up by pid.
        for p in [grandchild, pid] {
            kill_pid(p);
        }
    });
}

fn kill_pid(pid: u32) {
    use windows_sys::Win32::Foundation::CloseHandle;
    use windows_sys::Win32::System::Threading::{OpenProcess, TerminateProcess, PROCESS_TERMINATE};
    // SAFETY: open, terminate and close a process we started.
    unsafe {
        let h = OpenProcess(PROCESS_TERMINATE, 0, pid);
        if !h.is_null() {
            TerminateProcess(h, 1);
            CloseHandle(h);
        }
    }
}

#[test]
fn wait_tree_waits_for_the_grandchild() {
    // The child exits at once; its grandchild (in the job) sleeps on.
    let start = Instant::now();
    let mut child = conductor::blocking::Command::new(helper())
        .args(["hold", "800"])
        .containment(Containment::ProcessGroup)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    assert!(child.wait_tree().expect("wait_tree").success());
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(700),
        "returned before the grandchild ended: {took:?}"
    );
    assert!(took < BOUND, "{took:?}");
    run_async(async {
        let start = Instant::now();
        let mut child = conductor::Command::new(helper())
            .args(["hold", "800"])
            .containment(Containment::ProcessGroup)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        assert!(child.wait_tree().await.expect("wait_tree").success());
        assert!(start.elapsed() >= Duration::from_millis(700));
    });
}

#[test]
fn worker_pool_round_trip() {
    use conductor::pool::Pool;
    run_async(async {
        let worker = example("upper_worker");
        let pool = Pool::builder(move || conductor::Command::new(&worker))
            .workers(2)
            .build()
            .await
            .expect("pool");
        assert_eq!(pool.submit(b"abc".to_vec()).await.expect("task"), b"ABC");
        let inputs: Vec<Vec<u8>> = (0..40).map(|i| format!("task {i}").into_bytes()).collect();
        for (i, r) in pool.run_all(inputs).await.into_iter().enumerate() {
            assert_eq!(r.expect("task"), format!("TASK {i}").into_bytes());
        }
        timeout(BOUND, pool.shutdown())
            .await
            .expect("bounded shutdown");
    });
}

#[test]
fn timeout_stops_the_tree_and_keeps_partial_output() {
    let err = conductor::blocking::Command::new(helper())
        .args(["sleep", "60000"])
        .containment(Containment::ProcessGroup)
        .timeout(Duration::from_millis(300))
        .grace(Duration::from_millis(200))
        .output()
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");
    assert!(err.partial_output().is_some());
    run_async(async {
        let start = Instant::now();
        let err = conductor::Command::new(helper())
            .args(["sleep", "60000"])
            .timeout(Duration::from_millis(300))
            .status()
            .await
            .expect_err("times out");
        assert!(err.is_timeout(), "{err}");
        assert!(start.elapsed() < BOUND);
    });
}

#[test]
fn io_grace_bounds_output_held_by_a_grandchild() {
    for blocking in [true, false] {
        let start = Instant::now();
        let out = if blocking {
            conductor::blocking::Command::new(helper())
                .args(["hold", "5000"])
                .io_grace(Duration::from_millis(200))
                .capture()
                .expect("output")
        } else {
            rt().block_on(
                conductor::Command::new(helper())
                    .args(["hold", "5000"])
                    .io_grace(Duration::from_millis(200))
                    .capture(),
            )
            .expect("output")
        };
        assert!(out.output.status.success());
        assert!(out.output.stdout.starts_with(b"started"), "{out:?}");
        assert!(out.stdout_truncated, "{out:?}");
        assert!(
            start.elapsed() < Duration::from_millis(4000),
            "waited for the grandchild ({blocking}): {:?}",
            start.elapsed()
        );
    }
}

// ---------------------------------------------------------- environment, cwd

#[test]
fn environment_and_working_directory() {
    let out = conductor::blocking::Command::new(helper())
        .args(["env", "CONDUCTOR_TEST_VAR"])
        .env("CONDUCTOR_TEST_VAR", "first")
        .env("conductor_test_var", "second")
        .output()
        .expect("output");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "second");

    let out = conductor::blocking::Command::new(helper())
        .args(["env", "PATH"])
        .env_clear()
        .env(
            "SystemRoot",
            std::env::var_os("SystemRoot").unwrap_or_default(),
        )
        .output()
        .expect("output");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "<unset>");

    let dir = scratch("cwd");
    let out = conductor::blocking::Command::new(helper())
        .arg("pwd")
        .current_dir(&dir)
        .output()
        .expect("output");
    let got = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(
        std::fs::canonicalize(got).expect("canonical child cwd"),
        std::fs::canonicalize(&dir).expect("canonical dir")
    );

    let err = conductor::blocking::Command::new(helper())
        .arg("pwd")
        .current_dir(dir.join("missing"))
        .output()
        .expect_err("no such directory");
    assert_eq!(err.operation(), conductor::Operation::ChangeDirectory);
}

// ------------------------------------------------------------------ errors

#[test]
fn errors_name_what_failed() {
    let err = conductor::blocking::Command::new("conductor-no-such-program")
        .status()
        .expect_err("not found");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains("conductor-no-such-program"),
        "{err}"
    );

    let err = conductor::blocking::Command::new(helper())
        .args(["ok", "bad\0arg"])
        .status()
        .expect_err("NUL");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("args[1]"), "{err}");

    let err = conductor::blocking::Command::new(helper())
        .arg("exit")
        .containment(Containment::Cgroup)
        .status()
        .expect_err("no cgroups on Windows");
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
}

// ------------------------------------------------------- arguments round trip

fn wide(s: impl AsRef<OsStr>) -> Vec<u16> {
    s.as_ref().encode_wide().collect()
}

/// Decodes print_argv's JSON string lines into UTF-16 (see examples/print_argv.rs).
fn decode_json(line: &str) -> Vec<u16> {
    let inner = line
        .trim_end_matches('\r')
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a JSON string: {line:?}"));
    let bytes = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(u16::from(bytes[i]));
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'"') => out.push(u16::from(b'"')),
            Some(b'\\') => out.push(u16::from(b'\\')),
            Some(b'u') => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 6]).expect("hex");
                out.push(u16::from_str_radix(hex, 16).expect("hex"));
                i += 4;
            }
            other => panic!("bad escape {other:?} in {line:?}"),
        }
        i += 2;
    }
    out
}

/// Runs `program args` through conductor and returns what print_argv saw after argv[0].
fn argv_seen(program: &Path, args: &[String]) -> Vec<Vec<u16>> {
    let out = conductor::blocking::Command::new(program)
        .args(args)
        .timeout(BOUND)
        .output()
        .expect("run print_argv");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("ASCII output");
    let mut lines: Vec<Vec<u16>> = text.lines().map(decode_json).collect();
    assert!(!lines.is_empty(), "no argv[0]");
    lines.remove(0);
    lines
}

fn hard_cases() -> Vec<Vec<&'static str>> {
    vec![
        vec![],
        vec![""],
        vec!["", "", ""],
        vec![" ", "\t", "a b", "c\td"],
        vec!["\"", "\"\"", "\"\"\""],
        vec!["\\", "\\\\", "a\\", "a b\\", "a b\\\\"],
        vec!["\\\"", "\\\\\"", "\\\\\\\""],
        vec!["a\\\"b c", "\"a b\"", "\" \""],
        vec![r"C:\Program Files\", r"\\server\share\", r"C:\x\"],
        vec!["%PATH%", "^", "&", "|", "<", ">", "(", ")", "!x!"],
        vec!["é", "日本語", "😀", "a\u{3000}b"],
        vec!["line\nbreak", "cr\rlf"],
        vec![
            "-Dkey=\"value with spaces\"",
            "--json={\"a\": [1, \"b\\\\\"]}",
        ],
    ]
}

#[test]
fn args_hard_cases_round_trip_through_spawn() {
    let exe = example("print_argv");
    for case in hard_cases() {
        let args: Vec<String> = case.iter().map(|s| s.to_string()).collect();
        let got = argv_seen(&exe, &args);
        let want: Vec<Vec<u16>> = args.iter().map(wide).collect();
        assert_eq!(got, want, "{args:?}");
    }
}

const TRICKY: &[char] = &[
    '\\', '"', ' ', '\t', '%', '^', '&', '|', '<', '>', '(', ')', '!', ',', ';', '=', 'a', 'Z',
    'é', '😀',
];

fn arg_list(max: usize) -> impl Strategy<Value = Vec<String>> {
    let arg = prop::collection::vec(prop::sample::select(TRICKY), 0..8).prop_map(String::from_iter);
    prop::collection::vec(arg, 0..=max)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn args_random_round_trip_through_spawn(args in arg_list(6)) {
        let got = argv_seen(&example("print_argv"), &args);
        let want: Vec<Vec<u16>> = args.iter().map(wide).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
fn raw_arg_is_passed_verbatim() {
    let out = conductor::blocking::Command::new(example("print_argv"))
        .arg("quoted arg")
        .raw_arg(r#""raw one" two"#)
        .arg("last")
        .output()
        .expect("output");
    let text = String::from_utf8(out.stdout).expect("ASCII");
    let got: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| String::from_utf16(&decode_json(l)).expect("utf16"))
        .collect();
    assert_eq!(got, ["quoted arg", "raw one", "two", "last"]);
}

// ------------------------------------------------------------- batch files

/// A scratch directory whose name has characters cmd.exe treats specially.
fn batch_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("batch 100% & (x)");
        let exe = example("print_argv");
        std::fs::write(
            dir.join("forward.bat"),
            format!("@echo off\r\n\"{}\" %*\r\n", exe.display()),
        )
        .expect("write forward.bat");
        std::fs::write(
            dir.join("noop.bat"),
            "@echo off\r\nrem ignores its arguments\r\n",
        )
        .expect("write noop.bat");
        dir
    })
}

#[test]
fn batch_file_forwards_arguments() {
    let dir = batch_dir();
    // `%` is left out: Wine's cmd.exe re-expands %* (see tests/winargs_wine.rs).
    let args = ["plain", "a b", "", "x&y", "a\"b", "(|)", "^!", "dir\\"];
    let out = conductor::blocking::Command::new(dir.join("forward.bat"))
        .args(args)
        .current_dir(dir)
        .timeout(BOUND)
        .output()
        .expect("run batch");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("ASCII");
    let got: Vec<Vec<u16>> = text.lines().skip(1).map(decode_json).collect();
    let want: Vec<Vec<u16>> = args.iter().map(wide).collect();
    assert_eq!(got, want, "{text}");
}

#[test]
fn batch_injection_never_creates_canary() {
    let dir = batch_dir();
    let canary = dir.join("canary.txt");
    let attempts = [
        "\"&echo pwned>canary.txt",
        "&echo pwned>canary.txt",
        "\"&echo pwned>canary.txt&\"",
        "\\\"&echo pwned>canary.txt",
        "^\"&echo pwned>canary.txt",
        ")&echo pwned>canary.txt&(",
        "|echo pwned>canary.txt",
        "\">canary.txt",
        "%INJ%",
        "\"%INJ%\"",
        "!INJ!",
        "\"\"&echo pwned>canary.txt",
    ];
    for attempt in attempts {
        for script in ["noop.bat", "forward.bat"] {
            if under_wine() && script == "forward.bat" && attempt.contains('%') {
                // Wine 8's cmd.exe re-expands the text it substitutes for %*
                // inside a script (real cmd.exe never does; see
                // tests/winargs_wine.rs, batch_script_parameter_rescan), so a
                // forwarding script is injectable there whatever the command
                // line. The /c line itself is still checked with noop.bat.
                continue;
            }
            let out = conductor::blocking::Command::new(dir.join(script))
                .args(["a b", attempt, "c"])
                .env("INJ", "x\"&echo pwned>canary.txt&\"")
                .current_dir(dir)
                .timeout(BOUND)
                .output()
                .expect("run batch");
            assert!(out.status.success(), "{attempt:?} {script}: {out:?}");
            assert!(
                !canary.exists(),
                "canary created by {attempt:?} via {script}"
            );
        }
    }
    let err = conductor::blocking::Command::new(dir.join("noop.bat"))
        .args(["ok", "two\nlines"])
        .status()
        .expect_err("line break refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("args[1]"), "{err}");
    let err = conductor::blocking::Command::new(dir.join("noop.bat"))
        .raw_arg("&echo pwned>canary.txt")
        .status()
        .expect_err("raw arguments refused for batch files");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn pathext_finds_a_cmd_wrapper_but_never_the_current_directory() {
    let dir = scratch("pathext");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    std::fs::write(
        bin.join("npmlike.cmd"),
        "@echo off\r\necho npmlike ran %1\r\n",
    )
    .expect("write npmlike.cmd");
    std::fs::write(
        dir.join("localonly.cmd"),
        "@echo off\r\necho must not run\r\n",
    )
    .expect("write localonly.cmd");
    let sys = std::env::var_os("SystemRoot")
        .map(PathBuf::from)
        .unwrap_or_else(|| "C:\\windows".into());
    let path = std::env::join_paths([bin.clone(), sys.join("system32")]).expect("PATH");
    let out = conductor::blocking::Command::new("npmlike")
        .arg("install")
        .env("PATH", &path)
        .env("PATHEXT", ".COM;.EXE;.BAT;.CMD")
        .timeout(BOUND)
        .output()
        .expect("npmlike found through PATHEXT");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "npmlike ran install"
    );

    let err = conductor::blocking::Command::new("localonly")
        .env("PATH", &path)
        .current_dir(&dir)
        .status()
        .expect_err("the current directory is not searched");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("localonly"), "{err}");
}

// ------------------------------------------------------ inherited handles

#[test]
fn only_listed_handles_are_inherited() {
    use std::os::windows::io::{AsRawHandle, OwnedHandle};
    let dir = scratch("handles");
    let make = |name: &str| -> (OwnedHandle, PathBuf) {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).expect("file");
        (f.into(), path)
    };
    let reached = |path: &Path| std::fs::read(path).expect("read") == b"reached";
    let run = |value: usize, extra: Option<OwnedHandle>| {
        let mut cmd = conductor::blocking::Command::new(helper());
        cmd.args(["handle", &value.to_string()]);
        if let Some(h) = extra {
            cmd.inherit_handle(h);
        }
        assert!(cmd.status().expect("status").success());
    };
    // A handle asked for reaches the child, with the same value.
    let (listed, listed_path) = make("listed");
    run(listed.as_raw_handle() as usize, Some(listed));
    assert!(reached(&listed_path), "the listed handle was not inherited");
    // An inheritable handle that is not listed must stay out.
    let (stray, stray_path) = make("stray");
    set_inherit(&stray);
    run(stray.as_raw_handle() as usize, None);
    assert!(!reached(&stray_path), "a handle outside the list leaked");
    // Positive control: std passes every inheritable handle, so the check
    // above can see a leak.
    let (control, control_path) = make("control");
    set_inherit(&control);
    let status = std::process::Command::new(helper())
        .args(["handle", &(control.as_raw_handle() as usize).to_string()])
        .status()
        .expect("std spawn");
    assert!(status.success());
    assert!(
        reached(&control_path),
        "std's child did not inherit the handle"
    );
}

fn set_inherit(h: &std::os::windows::io::OwnedHandle) {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{SetHandleInformation, HANDLE_FLAG_INHERIT};
    // SAFETY: sets a flag on a handle we own.
    let ok = unsafe {
        SetHandleInformation(h.as_raw_handle(), HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)
    };
    assert_ne!(ok, 0, "SetHandleInformation");
}

// ------------------------------------------------------------ std parity (issue 15)

#[test]
fn child_and_pipes_expose_handles_like_std() {
    use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle, IntoRawHandle, OwnedHandle};
    let mut child = conductor::blocking::Command::new(helper())
        .arg("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    assert!(!child.as_handle().as_raw_handle().is_null());
    assert_eq!(child.as_raw_handle(), child.as_handle().as_raw_handle());
    let stdin = child.stdin.take().expect("stdin");
    (&stdin)
        .write_all(b"by ref")
        .expect("write through &ChildStdin");
    drop(stdin);
    let raw = child.stdout.take().expect("stdout").into_raw_handle();
    // SAFETY: into_raw_handle gave us ownership of `raw`.
    let mut file = std::fs::File::from(unsafe { OwnedHandle::from_raw_handle(raw) });
    let mut got = String::new();
    file.read_to_string(&mut got).expect("read");
    assert_eq!(got, "by ref");
    assert!(child.wait().expect("wait").success());
    run_async(async {
        let mut child = conductor::Command::new(helper())
            .arg("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn");
        assert!(!child.as_handle().as_raw_handle().is_null());
        let stdout = child.stdout.take().expect("stdout");
        assert!(!stdout.as_handle().as_raw_handle().is_null());
        let raw = stdout.into_raw_handle();
        // SAFETY: into_raw_handle gave us ownership of `raw`.
        let mut file = std::fs::File::from(unsafe { OwnedHandle::from_raw_handle(raw) });
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"async").await.expect("write");
        drop(stdin);
        let mut got = String::new();
        file.read_to_string(&mut got).expect("read");
        assert_eq!(got, "async");
        let handle = child.into_raw_handle();
        // SAFETY: a duplicate handle we now own.
        drop(unsafe { OwnedHandle::from_raw_handle(handle) });
    });
}

#[test]
fn exit_status_display_matches_std_on_windows() {
    use std::os::windows::process::ExitStatusExt;
    for code in [0u32, 1, 3, 0xC000_0005, 0x8000_0000] {
        let ours = conductor::ExitStatus::from_raw(code as i32);
        let std = std::process::ExitStatus::from_raw(code);
        assert_eq!(ours.to_string(), std.to_string());
        assert_eq!(format!("{ours:?}"), format!("{std:?}"));
        assert_eq!(ours.code(), std.code());
    }
}

/// Pseudo-terminals are Unix-only for now: a clear Unsupported error from
/// spawn, on both APIs, before anything is started.
#[test]
fn a_pty_is_refused_as_unsupported() {
    use conductor::pty::PtySize;
    let err = conductor::blocking::Command::new(helper())
        .pty(PtySize::default())
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
    rt().block_on(async {
        let err = conductor::Command::new(helper())
            .pty(PtySize::default())
            .status()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{err}");
    });
}
