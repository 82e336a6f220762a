//! Issue 15 in the pool: one `tracing` span per worker process (`worker`,
//! with `slot`, `pid` and `host`), and an event with its cause for every
//! respawn (here: recycling after `max_tasks_per_worker`).
#![cfg(unix)]

#[path = "common/capture.rs"]
mod capture;

use capture::{capturing_on_a_runtime, Fields};
use conductor::pool::{Mode, Pool, RespawnCause};
use conductor::Command;

#[test]
fn one_span_per_worker_and_an_event_per_respawn_with_its_cause() {
    let (capture, _guard, rt) = capturing_on_a_runtime();
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
    let respawns = capture.events("worker_respawned");
    assert_eq!(respawns.len() as u64, respawned, "{respawns:?}");
    for e in &respawns {
        assert_eq!(e["worker"], "0");
        assert_eq!(e["cause"], RespawnCause::MaxTasks.to_string());
        assert!(e.contains_key("pid"));
    }
}
