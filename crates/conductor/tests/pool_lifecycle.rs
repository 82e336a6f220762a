//! Issue 16 in the library: recycling (task count, age, rolling restart)
//! without failing tasks, and the replacement taking over before the old
//! worker has left.
#![cfg(target_os = "linux")]

use conductor::pool::{Mode, Pool, RespawnCause};
use conductor::Command;
use std::time::{Duration, Instant};

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
}

#[tokio::test]
async fn the_replacement_works_while_the_recycled_worker_is_still_leaving() {
    // After its stdin closes, the worker lingers 60 s (until killed).
    let pool = Pool::builder(|| {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat; exec sleep 60"]);
        cmd
    })
    .mode(Mode::Lines)
    .workers(1)
    .max_tasks_per_worker(1)
    .shutdown_grace(Duration::from_secs(60))
    .build()
    .await
    .unwrap();
    let first = pool.stats().workers[0].pid.unwrap();
    assert_eq!(pool.submit("a").await.unwrap(), b"a");
    assert_eq!(pool.submit("b").await.unwrap(), b"b");
    let stats = pool.stats();
    assert_ne!(stats.workers[0].pid, Some(first));
    assert!(alive(first), "the old worker is still shutting down");
    assert!(stats.respawn_causes.max_tasks >= 1);
    pool.kill().await;
    // Killed with the pool, not left behind.
    let deadline = Instant::now() + Duration::from_secs(20);
    while alive(first) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!alive(first));
}

#[tokio::test]
async fn workers_are_recycled_at_their_age_limit_without_failing_tasks() {
    let pool = Pool::builder(|| Command::new("cat"))
        .mode(Mode::Lines)
        .workers(2)
        .max_worker_age(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0u64;
    while pool.stats().respawn_causes.get(RespawnCause::MaxAge) < 4 {
        assert!(Instant::now() < deadline, "{:?}", pool.stats());
        let task = n.to_string();
        assert_eq!(pool.submit(task.clone()).await.unwrap(), task.as_bytes());
        n += 1;
    }
    let stats = pool.stats();
    assert_eq!(
        (stats.failed, stats.retried, stats.worker_crashes),
        (0, 0, 0)
    );
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_load_fails_nothing() {
    let pool = Pool::builder(|| Command::new("cat"))
        .mode(Mode::Lines)
        .workers(3)
        .build()
        .await
        .unwrap();
    let before: Vec<_> = pool.stats().workers.iter().map(|w| w.pid).collect();
    let inputs: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    let run = {
        let pool = pool.clone();
        let inputs = inputs.clone();
        tokio::spawn(async move { pool.run_all(inputs).await })
    };
    let replaced = pool.restart_workers().await;
    let results = run.await.unwrap();
    assert!(results
        .iter()
        .zip(&inputs)
        .all(|(r, i)| r.as_deref() == Ok(i.as_bytes())));
    let stats = pool.stats();
    assert_eq!(replaced, 3);
    assert_eq!(stats.respawn_causes.restart, 3);
    assert_eq!((stats.failed, stats.retried), (0, 0));
    let after: Vec<_> = stats.workers.iter().map(|w| w.pid).collect();
    assert!(before.iter().zip(&after).all(|(b, a)| b != a));
    pool.shutdown().await;
}

#[tokio::test]
async fn workers_are_monitored() {
    let pool = Pool::builder(|| Command::new("cat"))
        .mode(Mode::Lines)
        .workers(2)
        .monitor_interval(Some(Duration::from_millis(10)))
        .build()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stats = pool.stats();
        if stats.workers.iter().all(|w| w.rss_bytes.is_some()) {
            for w in &stats.workers {
                assert!(w.rss_bytes.unwrap() > 0);
                // stdin, stdout, stderr at least.
                assert!(w.open_fds.unwrap() >= 3, "{w:?}");
                assert_eq!(w.processes, Some(1));
            }
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    pool.shutdown().await;
}
