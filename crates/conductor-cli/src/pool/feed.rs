//! Reading tasks: stdin, one task per line (a CR before the newline is
//! dropped), submitted to the pool. Reading pauses while the reorder window
//! is full (the line `window` lines past the first unreleased result waits),
//! so one hung task cannot make conductor buffer results without bound, and
//! stops for good on a stop request. With `--shard`, only this shard's
//! lines are submitted: they keep their input line numbers, and their
//! positions among the submitted tasks order the output.

use crate::shard::Shard;
use conductor::pool::{Pool, TaskInfo, TaskReport};
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use tokio::sync::{mpsc, watch};

/// One finished task.
pub struct Done {
    /// Its position among the tasks submitted, from 1: the output order.
    pub seq: u64,
    /// Its input line number, from 1 (kept across shards).
    pub line: u64,
    /// How it went.
    pub report: TaskReport,
}

/// Where `feed` reads and sends.
pub struct Feed {
    /// The pool.
    pub pool: Pool,
    /// Each task's outcome.
    pub done: mpsc::UnboundedSender<Done>,
    /// Becomes true to stop reading.
    pub stop: watch::Receiver<bool>,
    /// The first task (by `Done::seq`) whose result is not yet written
    /// (ordered output).
    pub released: watch::Receiver<u64>,
    /// Tasks allowed past `released` (`u64::MAX`: unbounded).
    pub window: u64,
    /// Only this shard's lines (`--shard`).
    pub shard: Option<Shard>,
}

/// Reads task lines from stdin and submits them until EOF or a stop
/// request. Returns the number of lines read.
pub async fn feed(mut f: Feed) -> std::io::Result<u64> {
    let mut lines = tokio::io::BufReader::with_capacity(1 << 16, tokio::io::stdin()).split(b'\n');
    let (mut n, mut seq) = (0u64, 0u64);
    loop {
        // Room in the reorder window for task seq + 1?
        let window = f.window;
        tokio::select! {
            r = f.released.wait_for(|&first| seq < first.saturating_add(window).saturating_sub(1)) => {
                if r.is_err() { break }
            }
            _ = f.stop.wait_for(|s| *s) => break,
        }
        let line = tokio::select! {
            l = lines.next_segment() => l?,
            _ = f.stop.wait_for(|s| *s) => break,
        };
        let Some(mut line) = line else { break };
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        n += 1;
        if f.shard.is_some_and(|s| !s.contains(n)) {
            continue;
        }
        seq += 1;
        let (number, position) = (n, seq);
        let handle = tokio::select! {
            h = f.pool.enqueue(line) => h,
            _ = f.stop.wait_for(|s| *s) => break,
        };
        if handle.is_err() && *f.stop.borrow() {
            break;
        }
        let done = f.done.clone();
        match handle {
            Ok(handle) => {
                tokio::spawn(async move {
                    let report = handle.report().await;
                    let _ = done.send(Done {
                        seq: position,
                        line: number,
                        report,
                    });
                });
            }
            Err(err) => {
                let report = TaskReport {
                    result: Err(err),
                    info: TaskInfo {
                        runs: 0,
                        worker: None,
                        elapsed: Duration::ZERO,
                    },
                };
                let _ = done.send(Done {
                    seq: position,
                    line: number,
                    report,
                });
            }
        }
    }
    Ok(n)
}
