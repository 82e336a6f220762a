//! Worker stderr on conductor's stderr: each line a worker writes, prefixed
//! with `[worker N] ` (N is the worker slot, as in `--json`'s `worker`), or
//! `[worker N on HOST] ` for a worker on an ssh host, bytes passed through
//! unchanged, drawn around the progress bar.

use conductor::pool::PoolEvent;
use indicatif::ProgressBar;
use std::io::Write;

/// The pool event hook that forwards worker stderr; `hosts[slot]` names a
/// slot's ssh host.
pub fn forwarder(
    bar: Option<ProgressBar>,
    hosts: Vec<Option<String>>,
) -> impl Fn(PoolEvent) + Send + Sync + 'static {
    move |event| {
        if let PoolEvent::WorkerStderr { worker, line, .. } = event {
            let mut text = match hosts.get(worker) {
                Some(Some(host)) => format!("[worker {worker} on {host}] "),
                _ => format!("[worker {worker}] "),
            }
            .into_bytes();
            text.extend_from_slice(&line);
            text.push(b'\n');
            let write = || {
                // A closed stderr is not worth stopping the job for.
                let _ = std::io::stderr().lock().write_all(&text);
            };
            match &bar {
                Some(bar) => bar.suspend(write),
                None => write(),
            }
        }
    }
}
