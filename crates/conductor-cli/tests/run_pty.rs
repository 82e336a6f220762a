//! `conductor run --pty` end to end, on a real terminal: conductor itself
//! runs on a pseudo-terminal (made by the library), relays it to its
//! child's own terminal, follows its window size, and leaves the terminal
//! as it found it (raw mode undone) however the run ends.
#![cfg(target_os = "linux")]

use conductor::pty::{Pty, PtySize};
use conductor::Command;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

/// Bound for anything that should take milliseconds (catches hangs only).
const HANG: Duration = Duration::from_secs(30);

const BIN: &str = env!("CARGO_BIN_EXE_conductor");

/// `sh -c script` on a new terminal of `size`, with $C naming conductor.
fn on_terminal(script: &str, size: PtySize) -> (conductor::Child, Pty) {
    let mut child = Command::new("sh")
        .args(["-c", script])
        .env("C", BIN)
        .pty(size)
        .spawn()
        .unwrap();
    let pty = child.take_pty().unwrap();
    (child, pty)
}

async fn read_until(pty: &mut Pty, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let found = timeout(HANG, async {
        while !String::from_utf8_lossy(&seen).contains(needle) {
            let n = pty.read(&mut buf).await.unwrap();
            if n == 0 {
                return false;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        true
    })
    .await;
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(
        matches!(found, Ok(true)),
        "no {needle:?} (within {HANG:?}); got {text:?}"
    );
    text
}

async fn read_to_end(pty: &mut Pty) -> String {
    let mut all = Vec::new();
    timeout(HANG, pty.read_to_end(&mut all))
        .await
        .expect("end of stream")
        .unwrap();
    String::from_utf8_lossy(&all).into_owned()
}

async fn exit_code(child: &mut conductor::Child) -> Option<i32> {
    timeout(HANG, child.wait()).await.unwrap().unwrap().code()
}

#[tokio::test]
async fn the_program_gets_a_terminal_of_the_callers_size_and_its_exit_code() {
    let (mut child, mut pty) = on_terminal(
        "\"$C\" run --pty -- sh -c 'tty; stty size; test -t 0 && test -t 1 && echo in-tty; exit 3'",
        PtySize::new(20, 60),
    );
    let all = read_to_end(&mut pty).await;
    assert_eq!(exit_code(&mut child).await, Some(3));
    assert!(all.contains("/dev/pts/"), "{all:?}");
    assert!(all.contains("20 60"), "{all:?}");
    assert!(all.contains("in-tty"), "{all:?}");
}

#[tokio::test]
async fn keystrokes_are_relayed() {
    let (mut child, mut pty) = on_terminal(
        "\"$C\" run --pty -- sh -c 'echo ready; read -r x; echo got-$x'",
        PtySize::default(),
    );
    read_until(&mut pty, "ready").await;
    pty.write_all(b"abc\r").await.unwrap();
    let rest = read_to_end(&mut pty).await;
    assert!(rest.contains("got-abc"), "{rest:?}");
    // Echoed once, by the program's terminal: the caller's is in raw mode.
    assert_eq!(rest.matches("abc").count(), 2, "{rest:?}");
    assert_eq!(exit_code(&mut child).await, Some(0));
}

#[tokio::test]
async fn the_window_size_is_followed() {
    let have_python = std::process::Command::new("python3")
        .args(["-c", ""])
        .status()
        .is_ok_and(|s| s.success());
    if !have_python {
        return skip::skipped("no python3");
    }
    let (mut child, mut pty) = on_terminal(
        "\"$C\" run --pty -- python3 -c \"import os,signal; \
         signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGWINCH}); print('ready', flush=True); \
         signal.sigwait({signal.SIGWINCH}); os.execvp('stty', ['stty', 'size'])\"",
        PtySize::new(24, 80),
    );
    read_until(&mut pty, "ready").await;
    pty.resize(PtySize::new(41, 101)).unwrap();
    let rest = read_to_end(&mut pty).await;
    assert!(rest.contains("41 101"), "{rest:?}");
    assert_eq!(exit_code(&mut child).await, Some(0));
}

/// `stty -a` after conductor ran shows canonical mode and echo again.
fn assert_cooked(all: &str) {
    let after = all.rsplit_once("AFTER").map_or("", |(_, a)| a);
    assert!(after.contains(" icanon"), "{all:?}");
    assert!(after.contains(" echo "), "{all:?}");
    assert!(!after.contains("-icanon"), "{all:?}");
}

#[tokio::test]
async fn raw_mode_is_undone_after_a_normal_exit() {
    let (mut child, mut pty) = on_terminal(
        "\"$C\" run --pty -- sh -c 'exit 5'; echo AFTER; stty -a",
        PtySize::default(),
    );
    let all = read_to_end(&mut pty).await;
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert_cooked(&all);
}

#[tokio::test]
async fn raw_mode_is_undone_after_a_timeout() {
    let (mut child, mut pty) = on_terminal(
        "\"$C\" run --pty --timeout 300ms --grace 100ms -- sh -c 'sleep 300 & sleep 300'; \
         echo code=$?; echo AFTER; stty -a",
        PtySize::default(),
    );
    let all = read_to_end(&mut pty).await;
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert!(all.contains("code=124"), "{all:?}");
    assert_cooked(&all);
}

#[tokio::test]
async fn raw_mode_is_undone_when_conductor_is_signalled() {
    // SIGTERM is forwarded to the program, which dies of it; conductor then
    // exits 143 after restoring the terminal.
    let (mut child, mut pty) = on_terminal(
        "\"$C\" run --pty -- sh -c 'echo ready; exec sleep 300'; echo code=$?; echo AFTER; stty -a",
        PtySize::default(),
    );
    read_until(&mut pty, "ready").await;
    // The conductor process: the outer shell's child.
    let outer = child.id();
    let conductor_pid = timeout(HANG, async {
        loop {
            let kids = std::fs::read_to_string(format!("/proc/{outer}/task/{outer}/children"))
                .unwrap_or_default();
            if let Some(pid) = kids.split_whitespace().next() {
                return pid.parse::<i32>().unwrap();
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    kill_with(conductor_pid, "TERM");
    let all = read_to_end(&mut pty).await;
    assert!(all.contains("code=143"), "{all:?}");
    assert_cooked(&all);
    assert_eq!(exit_code(&mut child).await, Some(0));
}

fn kill_with(pid: i32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn without_a_terminal_stdin_end_is_passed_on() {
    // stdin a pipe (not a terminal): no raw mode; its end reaches the
    // program as the terminal's end of file.
    let out = std::process::Command::new(BIN)
        .args([
            "run",
            "--pty",
            "--timeout",
            "20s",
            "--",
            "sh",
            "-c",
            "cat; echo done",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"hello\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text:?}");
    assert!(text.contains("hello"), "{text:?}");
    assert!(text.contains("done"), "{text:?}");
}
