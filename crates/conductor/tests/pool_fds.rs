//! After shutdown (and after dropping a pool) no descriptor of the pool's
//! is left open in this process. Alone in its own test binary, so that no
//! other test opens or closes descriptors meanwhile.
#![cfg(unix)]

mod pool_support;

use std::time::Duration;

use conductor::pool::{Mode, Pool};
use conductor::Command;
use pool_support::*;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test]
async fn no_descriptor_is_left_open() {
    // Warm up what the runtime and the library open once per process (the
    // reactor, and the background reaper's epoll, created the first time a
    // dropped child must be reaped), then take the baseline.
    let warm = built(20, python_pool(&[]).workers(1)).await;
    warm.submit("warm").await.unwrap();
    within(10, "shutdown", warm.shutdown()).await;
    let orphan = Command::new("sleep")
        .arg("10")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    drop(orphan);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = open_fds();

    let pool = built(20, python_pool(&[]).workers(3)).await;
    assert!(open_fds() >= before + 9, "3 pipes per worker are open");
    pool.run_all(numbered(100)).await;
    within(10, "shutdown", pool.shutdown()).await;
    assert_eq!(open_fds(), before, "after shutdown");

    // A grandchild that keeps the worker's stdout and stderr open: the pool
    // still closes its ends (the grandchild itself is not the pool's to kill).
    let pool = built(10, sh_lines("sleep 2 & exec cat", 2)).await;
    assert_eq!(pool.submit("x").await.unwrap(), b"x");
    within(10, "shutdown", pool.shutdown()).await;
    assert_eq!(
        open_fds(),
        before,
        "after shutdown, grandchildren holding pipes"
    );

    let pool = built(
        10,
        Pool::builder(|| Command::new("cat"))
            .mode(Mode::Lines)
            .workers(3),
    )
    .await;
    let pids = worker_pids(&pool);
    let list = || {
        let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .flatten()
            .map(|e| {
                format!(
                    "{:?}->{:?}",
                    e.file_name(),
                    std::fs::read_link(e.path()).ok()
                )
            })
            .collect();
        v.sort();
        v
    };
    eprintln!("with pool: {:?}", list());
    drop(pool);
    tokio::time::sleep(Duration::from_millis(500)).await;
    eprintln!("after drop: {:?} (before {before})", list());
    wait_until(Duration::from_secs(5), "fds closed after drop", || {
        open_fds() == before
    })
    .await;
    wait_until(Duration::from_secs(5), "workers gone after drop", || {
        pids.iter().all(|&pid| !is_our_child(pid))
    })
    .await;
}
