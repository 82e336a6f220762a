//! Ending worker processes: [`stop_worker`], the one place a worker is
//! ended by force, and [`graceful_stop`], the shutdown escalation
//! (acknowledged shutdown, then SIGTERM, then [`stop_worker`]).

use std::future::poll_fn;
use std::time::Duration;

use tokio::time::timeout;

use super::conn::Conn;
use crate::{Child, ExitStatus};

// The signals the pool sends, by each platform's public route (the pool
// is built on the library's public API, not on `sys`).
#[cfg(windows)]
use crate::windows::{SIGKILL, SIGTERM};
#[cfg(unix)]
use libc::{SIGKILL, SIGTERM};

/// Kills a worker's whole process tree now (SIGKILL to its process group or
/// cgroup) and reaps it; `None` if it could not be waited for.
///
/// This is the single place the pool ends a worker by force (timeouts,
/// protocol violations, unresponsive workers, the end of [`graceful_stop`]):
/// a misbehaving worker gets no grace, so its slot is refilled at once.
pub(super) async fn stop_worker(child: &mut Child) -> Option<ExitStatus> {
    match child.terminate(Duration::ZERO).await {
        Ok(status) => Some(status),
        // The tree could not be signalled (already gone): reap what is left.
        Err(_) => child.wait().await.ok(),
    }
}

/// Shuts a worker down at pool shutdown: sends Shutdown (frame mode) or
/// closes stdin (line mode), waits up to `grace` for it to exit, then sends
/// SIGTERM to its tree and waits up to `grace` again, then [`stop_worker`].
/// Whatever the worker left running in its process group (or cgroup) is
/// killed once it has exited: nothing of a worker outlives the pool.
pub(super) async fn graceful_stop(
    child: &mut Child,
    conn: &mut Conn,
    grace: Duration,
) -> Option<ExitStatus> {
    let status = stop_politely(child, conn, grace).await;
    let _ = child.signal_tree(SIGKILL);
    status
}

async fn stop_politely(child: &mut Child, conn: &mut Conn, grace: Duration) -> Option<ExitStatus> {
    conn.begin_close();
    let polite = timeout(grace, async {
        let mut output_closed = false;
        loop {
            tokio::select! {
                status = child.wait() => return status.ok(),
                () = poll_fn(|cx| conn.poll_close(cx)), if !output_closed => output_closed = true,
            }
        }
    });
    if let Ok(status) = polite.await {
        return status;
    }
    tracing::warn!(
        pid = child.id(),
        "worker ignored shutdown for {grace:?}; sending SIGTERM"
    );
    if child.signal_tree(SIGTERM).is_ok() {
        if let Ok(status) = timeout(grace, child.wait()).await {
            return status.ok();
        }
    }
    tracing::warn!(
        pid = child.id(),
        "worker ignored SIGTERM for {grace:?}; killing it"
    );
    stop_worker(child).await
}
