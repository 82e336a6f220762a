//! Ending worker processes: [`stop_worker`], the one place a worker is
//! ended by force, and [`graceful_stop`], the shutdown escalation
//! (acknowledged shutdown, then SIGTERM, then [`stop_worker`]).

use std::future::poll_fn;
use std::time::Duration;

use tokio::time::timeout;

use super::conn::Conn;
use crate::{Child, ExitStatus};

/// Stops a worker now and reaps it; `None` if it could not be waited for.
///
/// For now this is SIGKILL to the worker process itself. It is the single
/// place the pool ends a worker by force (timeouts, protocol violations,
/// unresponsive workers, the end of [`graceful_stop`]), so that a
/// whole-process-tree `terminate(grace)` can replace it here.
pub(super) async fn stop_worker(child: &mut Child, _grace: Duration) -> Option<ExitStatus> {
    // An error means the child is already gone; the wait below reports it.
    let _ = child.start_kill();
    child.wait().await.ok()
}

/// Shuts a worker down at pool shutdown: sends Shutdown (frame mode) or
/// closes stdin (line mode), waits up to `grace` for it to exit, then sends
/// SIGTERM and waits up to `grace` again, then [`stop_worker`].
pub(super) async fn graceful_stop(
    child: &mut Child,
    conn: &mut Conn,
    grace: Duration,
) -> Option<ExitStatus> {
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
    if child.signal(libc::SIGTERM).is_ok() {
        if let Ok(status) = timeout(grace, child.wait()).await {
            return status.ok();
        }
    }
    tracing::warn!(
        pid = child.id(),
        "worker ignored SIGTERM for {grace:?}; killing it"
    );
    stop_worker(child, grace).await
}
