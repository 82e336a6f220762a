//! The SIGCHLD-driven fallback for kernels without pidfd, forced on here so it
//! is exercised on every kernel (its own test binary: the switch is process-wide).
#![cfg(target_os = "linux")]

mod common;
use common::*;
use conductor::blocking::Command;
use std::time::Duration;

fn fallback() {
    conductor::unix::force_sigchld_fallback(true);
}

#[test]
fn blocking_wait_kill_and_output_work_without_pidfd() {
    fallback();
    let mut child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
    let err = child.pidfd().unwrap_err();
    assert_eq!(err.operation(), conductor::Operation::Pidfd);
    assert_eq!(err.kind(), std::io::ErrorKind::Unsupported);
    assert!(err.to_string().contains("SIGCHLD fallback"), "{err}");
    assert_eq!(child.wait().unwrap().code(), Some(3));
    let mut child = Command::new("sleep").arg("300").spawn().unwrap();
    assert_eq!(child.wait_timeout(Duration::from_millis(20)).unwrap(), None);
    child.kill().unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(9));
    let out = Command::new("echo").arg("fallback").output().unwrap();
    assert_eq!(out.stdout, b"fallback\n");
    assert!(Command::new("no-such-program-xyz").spawn().is_err());
}

#[test]
fn async_wait_works_without_pidfd() {
    fallback();
    run_async(60, async {
        let mut waits = Vec::new();
        for i in 0..200 {
            let mut c = conductor::Command::new("sh")
                .arg("-c")
                .arg(format!("exit {}", i % 100))
                .spawn()
                .unwrap();
            waits.push(tokio::spawn(async move { (i, c.wait().await.unwrap()) }));
        }
        for w in waits {
            let (i, s) = w.await.unwrap();
            assert_eq!(s.code(), Some(i % 100));
        }
    });
}

#[test]
fn dropped_children_are_reaped_without_pidfd() {
    fallback();
    let mut pids = Vec::new();
    for _ in 0..20 {
        pids.push(Command::new("true").spawn().unwrap().id());
    }
    let (gate, stdin) = dropped_running_child();
    pids.push(gate);
    drop(stdin);
    pids.into_iter().for_each(assert_reaped);
}

#[test]
fn signal_handlers_are_reset_on_the_legacy_clone_path() {
    fallback();
    extern "C" fn handler(_: libc::c_int) {}
    unsafe { libc::signal(libc::SIGUSR2, handler as *const () as libc::sighandler_t) };
    // `cat` installs no handlers of its own (grep, for one, catches SIGSEGV).
    let out = Command::new("cat")
        .arg("/proc/self/status")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let sig: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("SigCgt") || l.starts_with("SigBlk"))
        .collect();
    assert_eq!(sig.len(), 2, "{text}");
    assert!(
        sig.iter().all(|l| l.ends_with("0000000000000000")),
        "{sig:?}"
    );
}
