//! A `wait()` polled in one tokio runtime, cancelled, and that runtime
//! dropped: a later `wait()` in another runtime picks up where it left off
//! (the child's handle moves to the current reactor). Both the pidfd path and
//! the SIGCHLD fallback (Linux), in one test because the fallback switch is
//! process-wide.
#![cfg(unix)]

use conductor::Command;
use std::time::Duration;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn wait_across_runtimes(label: &str) {
    let first = current_thread();
    let mut child = first.block_on(async {
        let mut child = Command::new("sleep").arg("300").spawn().unwrap();
        // Poll the wait once (registering with this runtime), then cancel it.
        let r = tokio::time::timeout(Duration::from_millis(20), child.wait()).await;
        assert!(r.is_err(), "{label}: sleep 300 is still running");
        child
    });
    drop(first);

    let second = current_thread();
    let status = second.block_on(async {
        child.start_kill().unwrap();
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{label}: wait in the second runtime hung"))
            .unwrap_or_else(|e| panic!("{label}: wait in the second runtime failed: {e}"))
    });
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{label}");

    // And a runtime that is still alive but no longer driven: the wait must
    // not depend on it either.
    let idle = current_thread();
    let mut child = idle.block_on(async {
        let mut child = Command::new("sleep").arg("300").spawn().unwrap();
        let r = tokio::time::timeout(Duration::from_millis(20), child.wait()).await;
        assert!(r.is_err());
        child
    });
    let status = second.block_on(async {
        child.start_kill().unwrap();
        tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{label}: wait beside an idle runtime hung"))
            .unwrap()
    });
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{label}");
    drop(idle);
}

#[test]
fn a_cancelled_wait_continues_in_another_runtime() {
    wait_across_runtimes("pidfd");
    #[cfg(target_os = "linux")]
    {
        conductor::unix::force_sigchld_fallback(true);
        wait_across_runtimes("SIGCHLD fallback");
        conductor::unix::force_sigchld_fallback(false);
    }
}
