//! `unix::SignalListener`: every delivery arrives once, with the sending
//! process as its origin; this process does not die of what it catches.
#![cfg(unix)]

use conductor::unix::{SignalListener, SignalOrigin};
use std::time::Duration;

/// Sends `sig` to this process from a separate `kill` process; its pid.
fn kill_from_child(sig: &str) -> i32 {
    let mut kill = std::process::Command::new("kill")
        .args([sig, &std::process::id().to_string()])
        .spawn()
        .unwrap();
    let pid = kill.id() as i32;
    assert!(kill.wait().unwrap().success());
    pid
}

#[tokio::test(flavor = "current_thread")]
async fn each_signal_arrives_with_its_sender() {
    let mut signals = SignalListener::new(&[libc::SIGUSR2, libc::SIGHUP]).unwrap();
    assert_eq!(signals.try_recv().unwrap(), None);
    for (name, sig) in [("-USR2", libc::SIGUSR2), ("-HUP", libc::SIGHUP)] {
        let sender = kill_from_child(name);
        let got = tokio::time::timeout(Duration::from_secs(20), signals.recv())
            .await
            .expect("the signal within 20 s")
            .unwrap();
        assert_eq!(got.signal, sig);
        match got.origin {
            SignalOrigin::Process { pid, .. } => assert_eq!(pid, sender),
            other => panic!("{name}: origin {other:?}"),
        }
    }
    assert_eq!(signals.try_recv().unwrap(), None);
}

#[test]
fn uncatchable_signals_are_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    assert!(SignalListener::new(&[libc::SIGKILL]).is_err());
}

#[tokio::test(flavor = "current_thread")]
async fn sigchld_says_which_child_did_what() {
    let mut signals = SignalListener::new(&[libc::SIGCHLD]).unwrap();
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 3"])
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let s = signals.recv().await.unwrap();
            if matches!(s.origin, SignalOrigin::Child { pid: p, .. } if p == pid) {
                return s;
            }
        }
    })
    .await
    .expect("SIGCHLD within 20 s");
    assert_eq!(
        got.origin,
        SignalOrigin::Child {
            pid,
            code: libc::CLD_EXITED,
            status: 3
        }
    );
    assert_eq!(child.wait().unwrap().code(), Some(3));
}
