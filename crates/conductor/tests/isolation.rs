//! Process-wide conditions that other code may impose (run in their own test
//! binary): SIGCHLD ignored, SA_NOCLDWAIT, SIGPIPE at its default, and a
//! `waitpid(-1)` reaper elsewhere in the program. Exit statuses the kernel
//! discards in those cases are recovered through the pidfd (Linux 6.15+).
#![cfg(target_os = "linux")]

use conductor::blocking::Command;
use conductor::Stdio;
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::sync::Mutex;

#[path = "common/skip.rs"]
mod skip;

/// Recovering a discarded status needs PIDFD_INFO_EXIT (Linux 6.15+).
fn kernel_keeps_exit_status() -> bool {
    let rel = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    let mut it = rel
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let ok = (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (6, 15);
    if !ok {
        skip::skipped(format_args!("kernel {rel} predates PIDFD_INFO_EXIT (6.15)"));
    }
    ok
}

/// These tests change process-wide signal state: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn with_sigchld(action: libc::sighandler_t, flags: libc::c_int, f: impl FnOnce()) {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        let mut old: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = action;
        sa.sa_flags = flags;
        libc::sigaction(libc::SIGCHLD, &sa, &mut old);
        f();
        libc::sigaction(libc::SIGCHLD, &old, std::ptr::null_mut());
    }
}

#[test]
fn exit_status_survives_sigchld_ignored() {
    if !kernel_keeps_exit_status() {
        return;
    }
    with_sigchld(libc::SIG_IGN, 0, || {
        for code in [0, 3, 77] {
            let s = Command::new("sh")
                .arg("-c")
                .arg(format!("exit {code}"))
                .status()
                .unwrap();
            assert_eq!(s.code(), Some(code));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = conductor::Command::new("sh")
                .args(["-c", "exit 9"])
                .status()
                .await
                .unwrap();
            assert_eq!(s.code(), Some(9));
        });
    });
}

#[test]
fn exit_status_survives_sa_nocldwait() {
    if !kernel_keeps_exit_status() {
        return;
    }
    extern "C" fn noop(_: libc::c_int) {}
    with_sigchld(
        noop as *const () as libc::sighandler_t,
        libc::SA_NOCLDWAIT,
        || {
            let s = Command::new("sh").args(["-c", "exit 5"]).status().unwrap();
            assert_eq!(s.code(), Some(5));
        },
    );
}

#[test]
fn a_foreign_waitpid_minus_one_does_not_lose_the_status() {
    if !kernel_keeps_exit_status() {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut child = Command::new("sh").args(["-c", "exit 6"]).spawn().unwrap();
    // Let it exit (the pidfd says when) without reaping it.
    let fd = child.pidfd().expect("pidfd").as_fd();
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let ts = rustix::event::Timespec {
        tv_sec: 10,
        tv_nsec: 0,
    };
    assert_eq!(rustix::event::poll(&mut fds, Some(&ts)).unwrap(), 1);
    // Someone else's "reap everything" loop steals it...
    let mut st = 0;
    let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
    assert_eq!(r as u32, child.id());
    // ...yet conductor still reports how it ended (the kernel keeps it for the pidfd).
    assert_eq!(child.wait().unwrap().code(), Some(6));
}

#[test]
fn parent_survives_broken_pipe_with_default_sigpipe() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let mut child = Command::new("true").stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    child.wait().unwrap();
    let e = stdin.write_all(b"hello").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BrokenPipe);
    let out = Command::new("true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
        .communicate(&vec![1u8; 4 << 20])
        .unwrap();
    assert!(out.status.success());
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}
