//! Issue 15, observability: structured `tracing` events (fields, not
//! formatted strings) at spawn, exit, signal, timeout and tree stop.
#![cfg(unix)]

use conductor::blocking::Command;
use conductor::Containment;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

/// Records every event's fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Fields>>>);

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        fields.insert("target".into(), event.metadata().target().into());
        event.record(&mut Visitor(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn events(&self, kind: &str) -> Vec<Fields> {
        let all = self.0.lock().unwrap();
        all.iter()
            .filter(|f| f.get("event").map(String::as_str) == Some(kind))
            .cloned()
            .collect()
    }
}

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
    let cap = Capture::default();
    let _guard = tracing::subscriber::set_default(cap.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
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
