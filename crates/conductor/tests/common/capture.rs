//! A `tracing` subscriber for the tests that records every span's and
//! event's fields. Included with
//! `#[path = "common/capture.rs"] mod capture;`.
#![allow(dead_code)] // not every test binary reads both spans and events

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span's or event's fields by name (values as `Debug` shows them,
/// strings as they are); spans add `span` (their name), events `target`.
pub type Fields = BTreeMap<String, String>;

/// Records every span's and event's fields.
#[derive(Clone, Default)]
pub struct Capture {
    pub spans: Arc<Mutex<Vec<Fields>>>,
    pub events: Arc<Mutex<Vec<Fields>>>,
    next: Arc<AtomicU64>,
}

/// A fresh [`Capture`], installed as this thread's default subscriber until
/// the guard drops, and a current-thread runtime to run async code under it.
pub fn capturing_on_a_runtime() -> (
    Capture,
    tracing::subscriber::DefaultGuard,
    tokio::runtime::Runtime,
) {
    let capture = Capture::default();
    let guard = tracing::subscriber::set_default(capture.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (capture, guard, rt)
}

impl Capture {
    /// The recorded events whose `event` field is `kind`.
    pub fn events(&self, kind: &str) -> Vec<Fields> {
        let all = self.events.lock().unwrap();
        all.iter()
            .filter(|f| f.get("event").map(String::as_str) == Some(kind))
            .cloned()
            .collect()
    }
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
        fields.insert("target".into(), event.metadata().target().into());
        event.record(&mut Visitor(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
