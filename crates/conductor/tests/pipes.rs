//! Pipes: deadlock-free capture and feeding, broken pipes, wiring children together.
#![cfg(unix)]

mod common;
use common::*;
use conductor::blocking::Command;
use conductor::Stdio;
use std::io::{ErrorKind, Write};

const BIG: usize = 256 << 20;

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn blocking_communicate_256_mib_through_cat() {
    let input = pattern(BIG);
    let child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.communicate(&input).unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), BIG);
    assert!(out.stdout == input, "data came back intact");
}

#[test]
fn async_communicate_256_mib_through_cat() {
    let input = pattern(BIG);
    run_async(120, async {
        let child = conductor::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.communicate(&input).await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), BIG);
        assert!(out.stdout == input);
    });
}

#[test]
fn output_drains_both_streams_concurrently() {
    // 8 MiB to each stream, interleaved: a sequential reader would deadlock.
    let script =
        "head -c 8388608 /dev/zero; head -c 8388608 /dev/zero >&2; head -c 8388608 /dev/zero";
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len()), (16 << 20, 8 << 20));
    run_async(60, async {
        let out = conductor::Command::new("sh")
            .args(["-c", script])
            .output()
            .await
            .unwrap();
        assert_eq!((out.stdout.len(), out.stderr.len()), (16 << 20, 8 << 20));
    });
}

#[test]
fn async_capture_streams_pause_and_resume_on_a_multi_thread_runtime() {
    // Megabytes at a time take the pipe out of the reactor; the pauses in
    // between (the child writing the other stream, or waiting on `read`) put
    // it back. Run from block_on on a multi-thread runtime, as `#[tokio::main]`
    // does, and from a spawned task, with both streams and a capped one.
    let script = "head -c 8388608 /dev/zero; echo mid >&2; read _; \
                  head -c 4194304 /dev/zero >&2; head -c 8388608 /dev/zero";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = || async move {
        let child = conductor::Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.communicate(b"go\n").await.unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout.len(), 16 << 20);
        assert!(out.stdout.iter().all(|&b| b == 0));
        assert_eq!(&out.stderr[..4], b"mid\n");
        assert_eq!(out.stderr.len(), 4 + (4 << 20));
        let out = conductor::Command::new("sh")
            .args(["-c", "head -c 33554432 /dev/zero"])
            .capture_limit(5 << 20)
            .capture()
            .await
            .unwrap();
        assert_eq!(out.output.stdout.len(), 5 << 20);
        assert!(out.stdout_truncated);
    };
    let limit = std::time::Duration::from_secs(60);
    rt.block_on(async { tokio::time::timeout(limit, run()).await })
        .expect("timed out in block_on");
    rt.block_on(async { tokio::time::timeout(limit, tokio::spawn(run())).await })
        .expect("timed out in a task")
        .expect("task panicked");
}

#[test]
fn writing_to_an_exited_child_is_broken_pipe() {
    let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    child.wait().unwrap();
    let e = stdin.write_all(&[0u8; 1 << 20]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);

    run_async(30, async {
        use tokio::io::AsyncWriteExt;
        let mut child = conductor::Command::new("true")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        child.wait().await.unwrap();
        let e = stdin.write_all(&[0u8; 1 << 20]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn communicate_with_a_child_that_ignores_stdin_completes() {
    let input = pattern(8 << 20);
    let child = Command::new("echo")
        .arg("done")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.communicate(&input).unwrap();
    assert_eq!(out.stdout, b"done\n");
}

#[test]
fn a_pipe_between_two_children() {
    let mut a = Command::new("printf")
        .arg("b\\na\\nc\\n")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new("sort")
        .stdin(a.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(a.wait().unwrap().success());
    assert_eq!(out.stdout, b"a\nb\nc\n");

    run_async(30, async {
        let mut a = conductor::Command::new("printf")
            .arg("b\\na\\n")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe: Stdio = a.stdout.take().unwrap().into();
        let out = conductor::Command::new("sort")
            .stdin(pipe)
            .output()
            .await
            .unwrap();
        assert!(a.wait().await.unwrap().success());
        assert_eq!(out.stdout, b"a\nb\n");
    });
}

#[test]
fn files_as_stdio() {
    let path = std::env::temp_dir().join(format!("conductor-stdio-{}", std::process::id()));
    let f = std::fs::File::create(&path).unwrap();
    Command::new("echo")
        .arg("to file")
        .stdout(f)
        .status()
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"to file\n");
    let out = Command::new("cat")
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"to file\n");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn stdin_defaults_to_null_for_output() {
    let out = Command::new("cat").output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}
