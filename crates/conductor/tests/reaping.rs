//! Waiting and reaping: many concurrent children, peaceful coexistence with
//! std and tokio children, and no zombies from dropped handles.
#![cfg(unix)]

mod common;
use common::*;
use conductor::blocking::Command;

#[test]
fn two_thousand_concurrent_children_are_all_waited_correctly() {
    conductor::unix::raise_fd_limit().unwrap();
    run_async(120, async {
        let mut children = Vec::new();
        for i in 0..2000 {
            let child = conductor::Command::new("sh")
                .arg("-c")
                .arg(format!("exit {}", i % 200))
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            children.push((i, child));
        }
        let waits = children.into_iter().map(|(i, mut c)| async move {
            let s = c.wait().await.unwrap();
            assert_eq!(s.code(), Some(i % 200), "child {i}");
        });
        futures_join_all(waits).await;
    });
}

async fn futures_join_all<F: std::future::Future<Output = ()> + 'static>(
    futs: impl IntoIterator<Item = F>,
) {
    let mut set = tokio::task::JoinSet::new();
    let local = tokio::task::LocalSet::new();
    let futs: Vec<_> = futs.into_iter().collect();
    local
        .run_until(async move {
            for f in futs {
                set.spawn_local(f);
            }
            while let Some(r) = set.join_next().await {
                r.unwrap();
            }
        })
        .await;
}

#[test]
fn std_tokio_and_conductor_children_coexist() {
    run_async(60, async {
        for round in 0..20 {
            let mut std_child = std::process::Command::new("sh")
                .args(["-c", "exit 11"])
                .spawn()
                .unwrap();
            let mut tokio_child = tokio::process::Command::new("sh")
                .args(["-c", "exit 12"])
                .spawn()
                .unwrap();
            let mut ours = conductor::Command::new("sh")
                .args(["-c", "exit 13"])
                .spawn()
                .unwrap();
            let blocking_ours = Command::new("sh").args(["-c", "exit 14"]).spawn().unwrap();
            let (t, o) = tokio::join!(tokio_child.wait(), ours.wait());
            assert_eq!(t.unwrap().code(), Some(12), "round {round}");
            assert_eq!(o.unwrap().code(), Some(13), "round {round}");
            assert_eq!(std_child.wait().unwrap().code(), Some(11), "round {round}");
            let mut b = blocking_ours;
            assert_eq!(b.wait().unwrap().code(), Some(14), "round {round}");
        }
    });
}

#[test]
fn dropped_children_leave_no_zombie() {
    let mut pids = Vec::new();
    for _ in 0..50 {
        // Exits at once, never waited for.
        pids.push(Command::new("true").spawn().unwrap().id());
    }
    // Still running when dropped; exits a little later, on EOF.
    let (late, stdin) = dropped_running_child();
    drop(stdin);
    pids.push(late);
    run_async(30, async {
        for _ in 0..50 {
            pids.push(conductor::Command::new("true").spawn().unwrap().id());
        }
    });
    pids.into_iter().for_each(assert_reaped);
}

/// Spawns `sleep 300` with `kill_on_drop` through the `Command` type given
/// (blocking or async, same API), drops the child and checks it was reaped.
macro_rules! dropped_sleeper_is_reaped {
    ($command:ty) => {{
        let child = <$command>::new("sleep")
            .arg("300")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id();
        drop(child);
        assert_reaped(pid);
    }};
}

#[test]
fn kill_on_drop_kills_and_reaps() {
    dropped_sleeper_is_reaped!(Command);
    run_async(30, async { dropped_sleeper_is_reaped!(conductor::Command) });
}

#[test]
fn a_dropped_running_child_without_kill_keeps_running() {
    let (pid, stdin) = dropped_running_child();
    assert!(
        matches!(proc_state(pid), Some((s, _)) if s != 'Z'),
        "still running"
    );
    drop(stdin);
    assert_reaped(pid);
}
