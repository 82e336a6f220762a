//! The pool's contract where it was broken: line mode's one line in, one
//! line out (extra lines and partial lines are never results), poison tasks
//! in framed mode, `Pool::kill` resolving queued tasks, start-up that is
//! not charged to tasks, and slow start-up that is not failure.
//!
//! Every wait is bounded (hang catchers, generous on a loaded machine).
#![cfg(unix)]

mod common;
mod pool_support;

use std::time::Duration;

use common::episode::start_up_episode;
use conductor::pool::{Mode, OpenCircuit, Pool, TaskError};
use pool_support::*;

#[tokio::test]
async fn line_worker_writing_two_lines_per_task_is_a_violation_not_a_result() {
    let pool = built(
        20,
        Pool::builder(worker("sed", &["-u", "p"]))
            .mode(Mode::Lines)
            .workers(1),
    )
    .await;
    let inputs: Vec<String> = (1..=6).map(|i| i.to_string()).collect();
    let results = within(60, "run_all", pool.run_all(inputs.clone())).await;
    for (input, result) in inputs.iter().zip(results) {
        match result {
            Err(TaskError::ProtocolViolation { detail, attempts }) => {
                assert_eq!(attempts, 3);
                assert!(
                    detail
                        .to_string()
                        .contains("one output line per input line"),
                    "{detail}"
                );
            }
            other => panic!("task {input}: {other:?}"),
        }
    }
    assert!(pool.stats().protocol_violations >= 6);
    within(20, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn partial_line_then_exit_is_a_crash_not_a_result() {
    for code in ["3", "0"] {
        let script: &'static str = if code == "3" {
            "read x; printf partial; exit 3"
        } else {
            "read x; printf partial; exit 0"
        };
        let pool = built(20, sh_lines(script, 1).attempts(2)).await;
        let result = within(30, "submit", pool.submit("a")).await;
        match result {
            Err(TaskError::WorkerDied { status, attempts }) => {
                assert_eq!(attempts, 2);
                assert_eq!(status.code(), Some(code.parse().unwrap()));
            }
            other => panic!("exit {code}: {other:?}"),
        }
        within(20, "shutdown", pool.shutdown()).await;
    }
}

#[tokio::test]
async fn one_line_per_task_still_flows() {
    let pool = built(20, sh_lines("exec cat", 2)).await;
    let inputs: Vec<String> = (0..500).map(|i| format!("line {i}")).collect();
    assert_answers(&pool, 60, &inputs, |input| input.as_bytes().to_vec()).await;
    within(20, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn kill_resolves_queued_tasks_and_leaves_consistent_stats() {
    // One worker that takes a task and never answers: one task in flight,
    // the others queued.
    let pool = built(20, sh_lines("read x; exec sleep 300", 1)).await;
    let mut handles = Vec::new();
    for body in ["a", "b", "c"] {
        handles.push(within(10, "enqueue", pool.enqueue(body)).await.unwrap());
    }
    let stats = pool.stats();
    assert_eq!((stats.in_flight, stats.queue_depth), (1, 2), "{stats:?}");
    within(20, "kill", pool.kill()).await;
    for handle in handles {
        assert_eq!(
            within(10, "a killed pool's task", handle).await,
            Err(TaskError::ShutDown)
        );
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.queue_depth, stats.in_flight, stats.healthy_workers),
        (0, 0, 0),
        "{stats:?}"
    );
    assert!(stats
        .workers
        .iter()
        .all(|w| w.pid.is_none() && !w.healthy && w.in_flight == 0));
    // The pool handle is still alive here: nothing waits on it.
    drop(pool);
}

#[tokio::test]
async fn poison_task_alone_exhausts_its_attempts() {
    if !python3_available() {
        return;
    }
    // One worker, 4 tasks in flight: the poison is always in flight beside
    // innocent tasks when it kills the worker.
    let pool = built(
        20,
        python_pool(&[]).workers(1).tasks_per_worker(4).attempts(3),
    )
    .await;
    let poison = within(10, "enqueue", pool.enqueue("crash")).await.unwrap();
    let mut innocents = Vec::new();
    for i in 0..7 {
        innocents.push(
            within(10, "enqueue", pool.enqueue(format!("t{i}")))
                .await
                .unwrap(),
        );
    }
    match within(60, "poison", poison).await {
        Err(TaskError::WorkerDied { status, attempts }) => {
            assert_eq!((status.code(), attempts), (Some(3), 3));
        }
        other => panic!("{other:?}"),
    }
    for (i, handle) in innocents.into_iter().enumerate() {
        let result = within(60, "innocent", handle).await;
        assert_eq!(result, Ok(format!("T{i}").into_bytes()), "task t{i}");
    }
    let stats = pool.stats();
    assert_eq!((stats.failed, stats.succeeded), (1, 7), "{stats:?}");
    within(20, "shutdown", pool.shutdown()).await;
}

fn python3_available() -> bool {
    let found = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        common::skipped("no python3");
    }
    found
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "conductor-pool-contract-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn task_timeout_clock_starts_when_a_line_worker_can_work() {
    // 1 s of start-up, 50 ms tasks, a 500 ms task timeout: start-up is not
    // the tasks' time.
    let pool = built(
        20,
        sh_lines("sleep 1; while read l; do sleep 0.05; echo \"$l\"; done", 2)
            .attempts(1)
            .task_timeout(Duration::from_millis(500)),
    )
    .await;
    let inputs: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
    let results = within(60, "run_all", pool.run_all(inputs.clone())).await;
    for (input, result) in inputs.iter().zip(results) {
        assert_eq!(result, Ok(input.clone().into_bytes()));
    }
    assert_eq!(pool.stats().timeouts, 0);
    within(20, "shutdown", pool.shutdown()).await;
}

#[tokio::test]
async fn first_task_is_not_charged_for_a_line_worker_that_never_started() {
    let dir = temp_dir("never-started");
    let mark = dir.join("mark");
    // The first worker dies at once without reading; later ones work.
    let script = format!(
        "if mkdir {} 2>/dev/null; then exit 1; fi; exec cat",
        mark.display()
    );
    let pool = built(20, sh_lines(script, 1).attempts(1)).await;
    assert_eq!(
        within(30, "submit", pool.submit("x")).await,
        Ok(b"x".to_vec())
    );
    let stats = pool.stats();
    assert!(stats.start_failures >= 1, "{stats:?}");
    within(20, "shutdown", pool.shutdown()).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn line_worker_that_never_reads_fails_to_start_without_charging() {
    // Never reads: it fails its start (start timeout), every time; the task
    // is never charged, so it ends Degraded, not TimedOut.
    let pool = built(
        20,
        sh_lines("exec sleep 300", 1)
            .attempts(1)
            .start_timeout(Duration::from_millis(200))
            .backoff(Duration::from_millis(1), Duration::from_millis(10))
            .circuit_breaker(2, Duration::from_secs(1)),
    )
    .await;
    let err = within(60, "submit", pool.submit("x")).await.unwrap_err();
    assert!(
        matches!(err, TaskError::Degraded { ref last_failure }
        if last_failure.to_string().contains("did not read its first task")),
        "{err:?}"
    );
    within(20, "kill", pool.kill()).await;
}

#[tokio::test]
async fn hold_keeps_tasks_queued_through_a_start_up_episode() {
    let dir = temp_dir("hold");
    let (flag, _starts, script) = start_up_episode(&dir);
    let pool = built(
        20,
        sh_lines(script, 2)
            .queue_capacity(10_000)
            .circuit_breaker(3, Duration::from_secs(1))
            .open_circuit(OpenCircuit::Hold {
                give_up_after: Duration::from_secs(600),
            }),
    )
    .await;
    let mut handles = Vec::new();
    for i in 0..2000 {
        handles.push(pool.enqueue(format!("t{i}")).await.unwrap());
    }
    wait_until(Duration::from_secs(6) * SLACK, "circuit open", || {
        pool.stats().circuit_open
    })
    .await;
    let stats = pool.stats();
    assert!(!stats.degraded && stats.failed == 0, "{stats:?}");
    // The episode ends: workers start again, and every task gets its result.
    std::fs::remove_file(&flag).unwrap();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(
            within(60, "task", handle).await,
            Ok(format!("t{i}").into_bytes())
        );
    }
    within(20, "shutdown", pool.shutdown()).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn hold_gives_up_after_the_bound() {
    let pool = built(
        20,
        sh_lines("exit 1", 2)
            .circuit_breaker(2, Duration::from_secs(1))
            .backoff(Duration::from_millis(5), Duration::from_millis(50))
            .open_circuit(OpenCircuit::Hold {
                give_up_after: Duration::from_millis(500),
            }),
    )
    .await;
    let start = std::time::Instant::now();
    let results = within(
        60,
        "run_all",
        pool.run_all((0..50).map(|i| format!("t{i}"))),
    )
    .await;
    assert!(start.elapsed() >= Duration::from_millis(500), "held first");
    for result in results {
        assert!(
            matches!(result, Err(TaskError::Degraded { .. })),
            "{result:?}"
        );
    }
    // A line worker counts as healthy while it starts, so between respawns
    // the flag can briefly read false: it must be seen set (bounded wait).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !pool.stats().degraded && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(pool.stats().degraded);
    within(20, "kill", pool.kill()).await;
}

/// Issue 16 follow-up: once a `Hold` pool gave up, it stays degraded until
/// a worker is proven. A respawned line worker that lives a while but never
/// works counts as healthy while it starts; that alone must not end the
/// give-up (the flag read false and tasks went to it before the fix).
#[tokio::test]
async fn hold_stays_given_up_across_respawns_of_workers_that_never_work() {
    let pool = built(
        20,
        sh_lines("sleep 0.2; exit 1", 1)
            .circuit_breaker(2, Duration::from_secs(600))
            .backoff(Duration::from_millis(5), Duration::from_millis(20))
            .open_circuit(OpenCircuit::Hold {
                give_up_after: Duration::from_millis(300),
            }),
    )
    .await;
    let first = within(60, "first task", pool.submit("t")).await;
    assert!(
        matches!(first, Err(TaskError::Degraded { .. })),
        "{first:?}"
    );
    let gave_up_at = pool.stats().start_failures;
    // Several more workers start (each healthy for 0.2 s) and die: the pool
    // reads degraded throughout, and a new task fails at once every time.
    let limit = Duration::from_secs(6) * SLACK;
    let start = std::time::Instant::now();
    while pool.stats().start_failures < gave_up_at + 4 {
        assert!(start.elapsed() < limit, "workers stopped respawning");
        let stats = pool.stats();
        assert!(stats.degraded && stats.circuit_open, "{stats:?}");
        let result = within(2, "refused at once", pool.submit("t")).await;
        assert!(
            matches!(result, Err(TaskError::Degraded { .. })),
            "{result:?}"
        );
        assert_eq!(pool.stats().in_flight, 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    within(20, "kill", pool.kill()).await;
}
