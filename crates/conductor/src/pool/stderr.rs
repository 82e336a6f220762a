//! Forwarding a worker's stderr to `tracing`, one event per line, and to
//! the owner's event hook ([`PoolEvent::WorkerStderr`]), so that worker logs
//! are kept apart from results.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::events::{EventHook, PoolEvent};
use crate::ChildStderr;

/// Longer lines are split into pieces of this size.
const MAX_LINE: usize = 16 * 1024;

/// The task forwarding one worker's stderr; aborted when dropped, so that
/// a grandchild holding the pipe open cannot keep it (and the pipe) alive
/// after the pool is gone.
pub(super) struct StderrForwarder(JoinHandle<()>);

impl StderrForwarder {
    /// Starts forwarding `stderr` of the worker in slot `worker`.
    pub fn spawn(
        stderr: ChildStderr,
        worker: usize,
        pid: u32,
        hook: Option<EventHook>,
    ) -> StderrForwarder {
        StderrForwarder(tokio::spawn(forward_stderr(stderr, worker, pid, hook)))
    }

    /// Once the worker is reaped: lets the forwarder reach the end of the
    /// pipe within `linger`, or cuts it off.
    pub async fn finish(mut self, linger: Duration) {
        let _ = timeout(linger, &mut self.0).await;
    }
}

impl Drop for StderrForwarder {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads `stderr` to its end, emitting each line as an `info` event with
/// target `conductor::pool::worker` and fields `worker` (slot index) and `pid`.
async fn forward_stderr(mut stderr: ChildStderr, worker: usize, pid: u32, hook: Option<EventHook>) {
    let emit = |line: &[u8]| emit(worker, pid, line, hook.as_ref());
    let mut buf = vec![0u8; 8 * 1024];
    let mut line = Vec::new();
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut rest = buf.get(..n).unwrap_or_default();
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(rest.get(..end).unwrap_or_default());
            emit(&line);
            line.clear();
            rest = rest.get(end + 1..).unwrap_or_default();
        }
        line.extend_from_slice(rest);
        if line.len() >= MAX_LINE {
            emit(&line);
            line.clear();
        }
    }
    if !line.is_empty() {
        emit(&line);
    }
}

fn emit(worker: usize, pid: u32, line: &[u8], hook: Option<&EventHook>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Some(hook) = hook {
        hook(PoolEvent::WorkerStderr {
            worker,
            pid,
            line: line.to_vec(),
        });
    }
    let text = String::from_utf8_lossy(line);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    tracing::info!(target: "conductor::pool::worker", worker, pid, "{text}");
}
