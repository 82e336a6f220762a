//! Worker pool: start-up, dispatch, results, modes, backpressure, stats,
//! stderr forwarding and shutdown. Fault handling is in pool_faults.rs.
//!
//! Every wait is bounded, and pools are killed on drop, so a bug fails a
//! test quickly and leaves no process behind.
#![cfg(unix)]

mod pool_support;

use std::time::{Duration, Instant};

use conductor::pool::{BuildError, Mode, Pool, TaskError};
use conductor::Command;
use pool_support::*;

fn cat_pool(workers: usize) -> conductor::pool::PoolBuilder {
    Pool::builder(|| Command::new("/bin/cat"))
        .mode(Mode::Lines)
        .workers(workers)
}

#[tokio::test]
async fn four_cat_workers_in_line_mode() {
    let pool = built(10, cat_pool(4)).await;
    let stats = pool.stats();
    assert_eq!(stats.healthy_workers, 4);
    let pids = worker_pids(&pool);
    assert_eq!(pids.len(), 4);

    let inputs = numbered(500);
    let results = within(10, "run_all", pool.run_all(inputs.clone())).await;
    let results: Vec<Vec<u8>> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(results, inputs);

    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.succeeded, stats.failed),
        (500, 500, 0)
    );
    assert_eq!(stats.queue_depth, 0);
    assert_eq!(stats.in_flight, 0);
    assert!(stats.workers.iter().all(|w| w.completed > 0), "{stats:?}");
    within(10, "shutdown", pool.shutdown()).await;
    for pid in pids {
        assert!(!is_our_child(pid), "worker {pid} left behind");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_workers() {
    let pool = built(20, cat_pool(20)).await;
    assert_eq!(pool.stats().healthy_workers, 20);
    // Concurrent submitters, so that every worker gets work.
    let mut joins = tokio::task::JoinSet::new();
    for t in 0..40 {
        let pool = pool.clone();
        joins.spawn(async move {
            for i in 0..50 {
                let body = format!("{t}/{i}");
                assert_eq!(pool.submit(body.clone()).await.unwrap(), body.as_bytes());
            }
        });
    }
    within(20, "submitters", async {
        while let Some(res) = joins.join_next().await {
            res.unwrap();
        }
    })
    .await;
    let stats = pool.stats();
    assert_eq!(stats.succeeded, 2000);
    assert_eq!(stats.healthy_workers, 20);
    let busy = stats.workers.iter().filter(|w| w.completed > 0).count();
    assert!(busy >= 10, "only {busy} of 20 workers got tasks: {stats:?}");
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn one_worker_runs_tasks_in_order() {
    let pool = built(10, cat_pool(1)).await;
    for i in 0..50 {
        let body = format!("line {i}");
        assert_eq!(pool.submit(body.clone()).await.unwrap(), body.as_bytes());
    }
    let stats = pool.stats();
    assert_eq!(stats.workers.len(), 1);
    assert_eq!(stats.workers[0].completed, 50);
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn zero_workers_is_a_clear_error() {
    let err = cat_pool(0).build().await.unwrap_err();
    assert!(matches!(err, BuildError::Invalid(_)));
    assert_eq!(
        err.to_string(),
        "invalid pool configuration: a pool needs at least 1 worker, got 0"
    );
}

#[tokio::test]
async fn other_build_errors() {
    let err = Pool::builder(|| Command::new("/nonexistent/worker"))
        .workers(2)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::Spawn(_)), "{err}");
    assert!(err.to_string().contains("/nonexistent/worker"), "{err}");

    let err = cat_pool(1).tasks_per_worker(2).build().await.unwrap_err();
    assert!(err.to_string().contains("line mode"), "{err}");

    let outside = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // A runtime exists but build() is polled outside it: no runtime context.
        let fut = cat_pool(1).build();
        drop(rt);
        futures_lite_block_on(fut)
    });
    assert!(matches!(
        outside.join().unwrap(),
        Err(BuildError::NoRuntime)
    ));
}

/// Polls a future to completion on this thread without any runtime.
fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = Waker::from(std::sync::Arc::new(Noop));
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[tokio::test]
async fn ten_tasks_on_three_framed_workers() {
    let pool = built(20, python_pool(&[]).workers(3)).await;
    let pids = worker_pids(&pool);
    assert_eq!(pids.len(), 3);
    let results = within(10, "run_all", pool.run_all(numbered(10))).await;
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(result.unwrap(), format!("TASK-{i}").into_bytes());
    }
    // The same three workers are still running.
    assert_eq!(worker_pids(&pool), pids);
    assert!(pids.iter().all(|&pid| is_our_child(pid)));
    assert_eq!(pool.stats().healthy_workers, 3);
    within(10, "shutdown", pool.shutdown()).await;
    assert!(pids.iter().all(|&pid| !is_our_child(pid)));
}

#[tokio::test]
async fn one_mib_payloads() {
    let pool = built(20, python_pool(&[]).workers(2)).await;
    let inputs: Vec<Vec<u8>> = (0..6u8)
        .map(|i| {
            (0..1 << 20)
                .map(|j| b'a' + ((j + usize::from(i)) % 26) as u8)
                .collect()
        })
        .collect();
    assert_answers(&pool, 20, &inputs, |input| input.to_ascii_uppercase()).await;
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn task_errors_are_reported_not_retried() {
    let pool = built(20, python_pool(&[]).workers(1)).await;
    let pid = worker_pids(&pool);
    let err = pool.submit("fail please").await.unwrap_err();
    match &err {
        TaskError::Failed(msg) => assert!(msg.contains("asked to fail"), "{msg}"),
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("worker reported an error: ValueError"),
        "{err}"
    );
    assert_eq!(pool.submit("ok").await.unwrap(), b"OK");
    let stats = pool.stats();
    assert_eq!((stats.succeeded, stats.failed, stats.retried), (1, 1, 0));
    assert_eq!(worker_pids(&pool), pid, "the worker was not replaced");
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn pipelined_replies_out_of_order_are_matched_by_id() {
    // --reverse answers each batch of tasks in reverse order.
    let pool = built(
        20,
        python_pool(&["--reverse"]).workers(2).tasks_per_worker(16),
    )
    .await;
    let inputs = numbered(2000);
    assert_answers(&pool, 20, &inputs, |input| input.to_ascii_uppercase()).await;
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn map_yields_in_input_order_with_errors_in_place() {
    let pool = built(20, python_pool(&[]).workers(3)).await;
    let inputs = ["a", "sleep:0.05", "fail", "b"];
    let mut results = pool.map(inputs);
    let mut got = Vec::new();
    while let Some(r) = within(10, "next", results.next()).await {
        got.push(r.map_err(|e| matches!(e, TaskError::Failed(_))));
    }
    assert_eq!(
        got,
        [
            Ok(b"A".to_vec()),
            Ok(b"SLEEP:0.05".to_vec()),
            Err(true),
            Ok(b"B".to_vec())
        ]
    );
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn invalid_tasks_are_refused_at_submit() {
    let pool = built(10, cat_pool(1).max_message_len(100)).await;
    assert!(matches!(
        pool.submit("two\nlines").await,
        Err(TaskError::Invalid(_))
    ));
    let err = pool.submit(vec![b'x'; 101]).await.unwrap_err();
    assert!(matches!(err, TaskError::Invalid(_)), "{err}");
    assert_eq!(pool.stats().submitted, 0);
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn full_queue_makes_submit_wait() {
    let pool = built(20, python_pool(&[]).workers(1).queue_capacity(2)).await;
    // One on the worker, two in the queue: the queue is full.
    let running = pool.enqueue("sleep:0.3").await.unwrap();
    let q1 = pool.enqueue("q1").await.unwrap();
    let q2 = pool.enqueue("q2").await.unwrap();
    assert_eq!(pool.stats().queue_depth, 2);
    let start = Instant::now();
    assert!(
        tokio::time::timeout(Duration::from_millis(100), pool.enqueue("q3"))
            .await
            .is_err(),
        "enqueue should wait while the queue is full"
    );
    // A waiting enqueue that was cancelled left nothing behind.
    assert_eq!(pool.stats().submitted, 3);
    let q3 = within(5, "enqueue q3", pool.enqueue("q3")).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(200));
    for (handle, want) in [(running, "SLEEP:0.3"), (q1, "Q1"), (q2, "Q2"), (q3, "Q3")] {
        assert_eq!(within(5, want, handle).await.unwrap(), want.as_bytes());
    }
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_and_queued_tasks() {
    let pool = built(20, python_pool(&[]).workers(3).tasks_per_worker(4)).await;
    let pids = worker_pids(&pool);
    let mut handles = Vec::new();
    for i in 0..60 {
        let body = if i % 10 == 0 {
            "sleep:0.1".to_string()
        } else {
            format!("t{i}")
        };
        handles.push((body.to_uppercase(), pool.enqueue(body).await.unwrap()));
    }
    let other = pool.clone();
    within(20, "shutdown", pool.shutdown()).await;
    assert_eq!(other.submit("late").await, Err(TaskError::ShutDown));
    for (want, handle) in handles {
        assert_eq!(
            within(1, "resolved", handle).await.unwrap(),
            want.as_bytes()
        );
    }
    let stats = other.stats();
    assert_eq!((stats.succeeded, stats.healthy_workers), (60, 0));
    assert!(stats.workers.iter().all(|w| w.pid.is_none()));
    for pid in pids {
        assert!(!is_our_child(pid), "worker {pid} left behind");
    }
    // A second shutdown returns at once.
    within(1, "second shutdown", other.shutdown()).await;
}

#[tokio::test]
async fn dropping_the_pool_kills_the_workers() {
    let pool = built(10, cat_pool(3)).await;
    let pids = worker_pids(&pool);
    let pending = pool.enqueue("x").await.unwrap();
    drop(pool);
    // The handle resolves either way: with its result or as shut down.
    let _ = within(5, "pending", pending).await;
    wait_until(Duration::from_secs(5), "workers gone", || {
        pids.iter().all(|&pid| !is_our_child(pid))
    })
    .await;
}

#[tokio::test]
async fn stats_track_busy_time() {
    let pool = built(20, python_pool(&[]).workers(2)).await;
    let a = pool.enqueue("sleep:0.2").await.unwrap();
    let b = pool.enqueue("sleep:0.2").await.unwrap();
    within(5, "a", a).await.unwrap();
    within(5, "b", b).await.unwrap();
    let stats = pool.stats();
    for w in &stats.workers {
        assert!(w.busy >= Duration::from_millis(150), "{w:?}");
        assert_eq!((w.completed, w.spawns, w.in_flight), (1, 1, 0));
    }
    within(10, "shutdown", pool.shutdown()).await;
}

/// A `tracing` subscriber that records worker stderr events.
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<(u64, String)>>>);

#[derive(Default)]
struct Fields {
    worker: Option<u64>,
    message: String,
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "worker" {
            self.worker = Some(value);
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "conductor::pool::worker" {
            let mut fields = Fields::default();
            event.record(&mut fields);
            let worker = fields.worker.expect("worker field");
            self.0.lock().unwrap().push((worker, fields.message));
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn worker_stderr_goes_to_tracing_line_by_line() {
    // Current-thread runtime: the pool's tasks run on this thread, where
    // the capturing subscriber is the default.
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let _guard = tracing::subscriber::set_default(Capture(lines.clone()));
    let pool = built(20, rogue_pool(vec![]).workers(1)).await;
    assert_eq!(pool.submit("stderr:200").await.unwrap(), b"logged");
    wait_until(Duration::from_secs(5), "200 stderr lines", || {
        lines.lock().unwrap().len() >= 200
    })
    .await;
    let got = lines.lock().unwrap().clone();
    for (i, (worker, line)) in got.iter().enumerate() {
        assert_eq!(
            (*worker, line.as_str()),
            (0, format!("log line {i}").as_str())
        );
    }
    within(10, "shutdown", pool.shutdown()).await;
}

/// Submits `body` and asserts the answer is `want` and came within 300 ms.
async fn answered_within_300ms(pool: &Pool, body: &str, want: &[u8]) {
    let start = Instant::now();
    assert_eq!(pool.submit(body).await.unwrap(), want);
    assert!(
        start.elapsed() < Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn first_task_on_a_new_worker_is_not_delayed() {
    // Regression: a kick left pending by the health check swallowed the
    // wake-up for the first task, which then waited for an unrelated timer.
    let pool = built(20, python_pool(&[]).workers(1)).await;
    answered_within_300ms(&pool, "first", b"FIRST").await;
    // The same on a replacement worker.
    let pid = worker_pids(&pool)[0];
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    wait_until(Duration::from_secs(5), "replacement healthy", || {
        let stats = pool.stats();
        stats.healthy_workers == 1 && stats.workers[0].pid != Some(pid)
    })
    .await;
    answered_within_300ms(&pool, "second", b"SECOND").await;
    within(10, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn huge_durations_do_not_overflow() {
    let pool = built(
        10,
        cat_pool(1)
            .task_timeout(Duration::MAX)
            .start_timeout(Duration::MAX)
            .circuit_breaker(5, Duration::MAX)
            .backoff(Duration::MAX, Duration::MAX),
    )
    .await;
    assert_eq!(pool.submit("x").await.unwrap(), b"x");
    within(10, "shutdown", pool.shutdown()).await;
}
