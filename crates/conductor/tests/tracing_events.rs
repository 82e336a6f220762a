//! Issue 15, observability: structured `tracing` events (fields, not
//! formatted strings) at spawn, exit, signal, timeout and tree stop.
#![cfg(unix)]

#[path = "common/capture.rs"]
mod capture;

use capture::{capturing_on_a_runtime, Capture};
use conductor::blocking::Command;
use conductor::Containment;
use std::time::Duration;

#[test]
fn spawn_exit_and_signal_events_carry_fields() {
    let cap = Capture::default();
    let pid = tracing::subscriber::with_default(cap.clone(), || {
        let mut child = Command::new("sleep").arg("300").spawn().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        child.wait().unwrap(); // a second wait emits no second exit event
        child.id()
    });
    let spawn = cap.events("spawn");
    assert_eq!(spawn.len(), 1, "{spawn:?}");
    assert_eq!(spawn[0]["program"], "sleep");
    assert_eq!(spawn[0]["pid"], pid.to_string());
    assert_eq!(spawn[0]["containment"], "None");
    assert_eq!(spawn[0]["target"], "conductor");
    assert!(!spawn[0].contains_key("cgroup"), "no cgroup: {spawn:?}");
    let signal = cap.events("signal");
    assert_eq!(signal.len(), 1, "{signal:?}");
    assert_eq!(signal[0]["signal"], libc::SIGKILL.to_string());
    assert_eq!(signal[0]["signal_name"], "SIGKILL");
    let exit = cap.events("exit");
    assert_eq!(exit.len(), 1, "{exit:?}");
    assert_eq!(exit[0]["status"], "signal: 9 (SIGKILL)");
    assert_eq!(exit[0]["signal"], "9");
    assert!(!exit[0].contains_key("code"), "None fields are left out");
    assert_eq!(exit[0]["pid"], pid.to_string());
    assert!(exit[0].contains_key("duration_ms"));
    assert!(
        exit[0]["max_rss_bytes"].parse::<u64>().unwrap() > 0,
        "rusage known: {exit:?}"
    );
}

#[test]
fn timeout_and_tree_stop_events() {
    let cap = Capture::default();
    tracing::subscriber::with_default(cap.clone(), || {
        let err = Command::new("sleep")
            .arg("300")
            .containment(Containment::ProcessGroup)
            .timeout(Duration::from_millis(100))
            .grace(Duration::from_millis(100))
            .status()
            .unwrap_err();
        assert!(err.is_timeout());
    });
    let stop = cap.events("tree_stop");
    assert_eq!(stop.len(), 1, "{stop:?}");
    assert_eq!(stop[0]["grace_ms"], "100");
    assert_eq!(stop[0]["status"], "signal: 15 (SIGTERM)");
    let timeout = cap.events("timeout");
    assert_eq!(timeout.len(), 1, "{timeout:?}");
    assert_eq!(timeout[0]["timeout_ms"], "100");
    assert_eq!(timeout[0]["program"], "sleep");
    assert_eq!(cap.events("exit").len(), 1);
}

#[test]
fn async_events_too() {
    let (cap, _guard, rt) = capturing_on_a_runtime();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            let status = conductor::Command::new("sh")
                .args(["-c", "exit 4"])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(4));
        })
        .await
        .unwrap();
    });
    assert_eq!(cap.events("spawn").len(), 1);
    let exit = cap.events("exit");
    assert_eq!(exit.len(), 1, "{exit:?}");
    assert_eq!(exit[0]["code"], "4");
}
