//! Issue 15 in the pool: one `tracing` span per worker process (`worker`,
//! with `slot`, `pid` and `host`), and an event with its cause for every
//! respawn (here: recycling after `max_tasks_per_worker`).
#![cfg(unix)]

use conductor::pool::{Mode, Pool, RespawnCause};
use conductor::Command;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

/// Records every span's and event's fields.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Fields>>>,
    events: Arc<Mutex<Vec<Fields>>>,
    next: Arc<AtomicU64>,
}

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
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut fields = Fields::new();
        fields.insert("span".into(), attrs.metadata().name().into());
        attrs.record(&mut Visitor(&mut fields));
        self.spans.lock().unwrap().push(fields);
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn one_span_per_worker_and_an_event_per_respawn_with_its_cause() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (pids, respawned) = rt.block_on(async {
        let pool = Pool::builder(|| Command::new("cat"))
            .mode(Mode::Lines)
            .workers(1)
            .max_tasks_per_worker(1)
            .worker_host(|_| Some("here".into()))
            .build()
            .await
            .unwrap();
        let mut pids = Vec::new();
        for task in ["a", "b", "c"] {
            pids.push(pool.stats().workers[0].pid);
            assert_eq!(pool.submit(task).await.unwrap(), task.as_bytes());
        }
        pool.shutdown().await;
        let stats = pool.stats();
        // The third worker's replacement may have started before shutdown.
        let respawns = stats.respawn_causes.get(RespawnCause::MaxTasks);
        assert!((2..=3).contains(&respawns), "{stats:?}");
        assert_eq!(stats.respawns, respawns);
        assert_eq!(stats.recycles, 3);
        (pids, respawns)
    });
    let spans: Vec<Fields> = capture
        .spans
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s["span"] == "worker")
        .cloned()
        .collect();
    assert!(spans.len() >= 3, "{spans:?}");
    for span in &spans {
        assert_eq!(span["slot"], "0");
        assert_eq!(span["host"], "here");
    }
    // One span per process: the first worker's, then each replacement's.
    let span_pids: Vec<&String> = spans.iter().map(|s| &s["pid"]).collect();
    assert_eq!(span_pids[0], &pids[0].unwrap().to_string());
    let distinct: std::collections::BTreeSet<_> = span_pids.iter().collect();
    assert_eq!(distinct.len(), span_pids.len(), "{span_pids:?}");
    let respawns: Vec<Fields> = capture
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.get("event").map(String::as_str) == Some("worker_respawned"))
        .cloned()
        .collect();
    assert_eq!(respawns.len() as u64, respawned, "{respawns:?}");
    for e in &respawns {
        assert_eq!(e["worker"], "0");
        assert_eq!(e["cause"], RespawnCause::MaxTasks.to_string());
        assert!(e.contains_key("pid"));
    }
}
