//! `conductor pool`: tasks from stdin, one per line, through persistent
//! workers; one result line per task on stdout (input order by default),
//! failures on stderr, a progress bar on a terminal and a summary at the end.

use crate::exit;
use clap::Args;
use conductor::pool::{Mode, OpenCircuit, Pool, TaskReport};
use conductor::Command;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};

/// Options of `conductor pool`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
seq 1000 | conductor pool -j 4 -- sed -u 's/$/ squared/'\n  \
conductor pool --framed --in-flight 8 --json -- python3 examples/python/conductor_worker.py < tasks.txt\n\n\
Exit status: 0 when every task succeeded; 1 when any failed (each is reported on stderr\n\
with its input line number); 130 after Ctrl-C; 125 if conductor itself failed;\n\
126/127 if the worker cannot be executed / is not found.")]
pub struct PoolArgs {
    /// Number of persistent workers (default: the number of CPUs).
    #[arg(short = 'j', long)]
    workers: Option<usize>,
    /// Workers speak plain lines: one task line in, one result line out (default).
    #[arg(long, conflicts_with = "framed")]
    lines: bool,
    /// Workers speak conductor's frame protocol (docs/protocol.md).
    #[arg(long)]
    framed: bool,
    /// Tasks in flight per worker (--framed only).
    #[arg(long, default_value_t = 1, requires = "framed")]
    in_flight: usize,
    /// Print results as they complete instead of in input order.
    #[arg(long)]
    unordered: bool,
    /// One JSON object per task: line, ok, result or error, attempts, worker, duration_ms.
    #[arg(long)]
    json: bool,
    /// Stop a task's worker (its whole tree) after this long (500ms, 2s, 1m30s).
    #[arg(long, value_parser = crate::duration::parse)]
    task_timeout: Option<Duration>,
    /// How long a new worker has to become able to work (answer the ping with
    /// --framed; read its first task in line mode). Task timeouts start after.
    #[arg(long, value_parser = crate::duration::parse, default_value = "5s")]
    start_timeout: Duration,
    /// When workers keep failing to start, tasks wait (dispatch pauses and
    /// workers are retried with backoff); after this long with no healthy
    /// worker, every remaining task is reported failed.
    #[arg(long, value_parser = crate::duration::parse, default_value = "1m")]
    give_up_after: Duration,
    /// Extra attempts for a task whose worker crashed or timed out.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    #[command(flatten)]
    command: crate::program::Program,
}

/// One finished task.
struct Done {
    line: u64,
    report: TaskReport,
}

/// Runs the pool job; returns conductor's exit code.
pub async fn run(args: PoolArgs) -> i32 {
    let _ = conductor::unix::raise_fd_limit();
    let (program, rest) = args.command.split_first().expect("clap requires WORKER");
    let (program, rest) = (program.clone(), rest.to_vec());
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mode = if args.framed {
        Mode::Framed
    } else {
        Mode::Lines
    };
    let mut builder = Pool::builder(move || {
        let mut c = Command::new(&program);
        c.args(&rest);
        c
    })
    .workers(workers)
    .mode(mode)
    .start_timeout(args.start_timeout)
    .open_circuit(OpenCircuit::Hold {
        give_up_after: args.give_up_after,
    })
    .attempts(args.retries.saturating_add(1));
    if args.framed {
        builder = builder.tasks_per_worker(args.in_flight);
    }
    if let Some(t) = args.task_timeout {
        builder = builder.task_timeout(t);
    }
    let pool = match builder.build().await {
        Ok(p) => p,
        Err(conductor::pool::BuildError::Spawn(e)) => return exit::report_spawn_error(&e),
        Err(e) => {
            eprintln!("conductor: {e}");
            return exit::FAILED;
        }
    };

    let started = Instant::now();
    let total = count_lines_if_regular();
    let bar = progress_bar(total);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
    let reader = tokio::spawn(feed(pool.clone(), done_tx, stop_rx));

    let mut sigint = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conductor: cannot listen for SIGINT: {e}");
            return exit::FAILED;
        }
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut pending: BTreeMap<u64, TaskReport> = BTreeMap::new();
    let mut next_line = 1u64;
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut interrupted = false;
    let mut write_error = None;
    loop {
        tokio::select! {
            done = done_rx.recv() => {
                let Some(done) = done else { break };
                if done.report.result.is_ok() { ok += 1 } else { failed += 1 }
                if let Some(bar) = &bar {
                    bar.inc(1);
                    bar.set_message(format!("{failed} failed"));
                }
                let res = if args.unordered {
                    emit(&mut out, done.line, &done.report, args.json)
                } else {
                    pending.insert(done.line, done.report);
                    let mut res = Ok(());
                    while let Some(report) = pending.remove(&next_line) {
                        res = res.and(emit(&mut out, next_line, &report, args.json));
                        next_line += 1;
                    }
                    res
                };
                // Flush once no other result is waiting: streaming output without a
                // write per line under load.
                let res = res.and_then(|()| if done_rx.is_empty() { out.flush() } else { Ok(()) });
                if let Err(e) = res {
                    // stdout is gone (e.g. a closed pipe): stop taking input.
                    write_error.get_or_insert(e);
                    let _ = stop_tx.send(true);
                }
            }
            _ = sigint.recv() => {
                if interrupted {
                    // Second Ctrl-C: stop every worker tree at once.
                    if let Some(bar) = &bar { bar.finish_and_clear(); }
                    eprintln!("conductor: interrupted again; stopping all workers");
                    let _ = out.flush();
                    pool.kill().await;
                    return exit::INTERRUPTED;
                }
                interrupted = true;
                eprintln!("conductor: interrupted; finishing the tasks already started (Ctrl-C again to stop now)");
                let _ = stop_tx.send(true);
            }
        }
    }
    let read_error = match reader.await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e),
        Err(e) => Some(std::io::Error::other(e)),
    };
    let _ = out.flush();
    drop(out);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let stats = pool.stats();
    pool.shutdown().await;
    let wall = started.elapsed();
    eprintln!(
        "conductor: {ok} succeeded, {failed} failed, {} retried, {} worker crashes, {} respawns, {} timeouts in {:.2}s ({:.0} tasks/s)",
        stats.retried,
        stats.worker_crashes,
        stats.respawns,
        stats.timeouts,
        wall.as_secs_f64(),
        (ok + failed) as f64 / wall.as_secs_f64().max(1e-9),
    );
    if let Some(e) = read_error {
        eprintln!("conductor: reading tasks from stdin failed: {e}");
        return exit::FAILED;
    }
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("conductor: writing results failed: {e}");
        }
        return exit::FAILED;
    }
    if interrupted {
        exit::INTERRUPTED
    } else if failed > 0 {
        1
    } else {
        0
    }
}

/// Reads task lines from stdin and submits them until EOF or a stop request;
/// each outcome goes to `done`. Returns the number of tasks submitted.
async fn feed(
    pool: Pool,
    done: mpsc::UnboundedSender<Done>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<u64> {
    let mut lines = tokio::io::BufReader::with_capacity(1 << 16, tokio::io::stdin()).split(b'\n');
    let mut n = 0u64;
    loop {
        let line = tokio::select! {
            l = lines.next_segment() => l?,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Some(mut line) = line else { break };
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        n += 1;
        let number = n;
        let handle = tokio::select! {
            h = pool.enqueue(line) => h,
            _ = stop.wait_for(|s| *s) => break,
        };
        let done = done.clone();
        match handle {
            Ok(handle) => {
                tokio::spawn(async move {
                    let report = handle.report().await;
                    let _ = done.send(Done {
                        line: number,
                        report,
                    });
                });
            }
            Err(err) => {
                let report = TaskReport {
                    result: Err(err),
                    info: conductor::pool::TaskInfo {
                        runs: 0,
                        worker: None,
                        elapsed: Duration::ZERO,
                    },
                };
                let _ = done.send(Done {
                    line: number,
                    report,
                });
            }
        }
    }
    Ok(n)
}

/// Writes one task's outcome: the result line on stdout, or the failure on stderr.
fn emit(out: &mut impl Write, line: u64, report: &TaskReport, json: bool) -> std::io::Result<()> {
    let info = &report.info;
    if json {
        let mut s = format!("{{\"line\":{line},\"ok\":{}", report.result.is_ok());
        match &report.result {
            Ok(r) => {
                s.push_str(",\"result\":");
                crate::json::string(&mut s, &String::from_utf8_lossy(r));
            }
            Err(e) => {
                s.push_str(",\"error\":");
                crate::json::string(&mut s, &e.to_string());
            }
        }
        let worker = info.worker.map_or("null".to_string(), |w| w.to_string());
        s.push_str(&format!(
            ",\"attempts\":{},\"worker\":{worker},\"duration_ms\":{:.3}}}\n",
            info.runs,
            info.elapsed.as_secs_f64() * 1000.0
        ));
        out.write_all(s.as_bytes())?;
    } else if let Ok(r) = &report.result {
        out.write_all(r)?;
        out.write_all(b"\n")?;
    }
    if let Err(e) = &report.result {
        eprintln!("conductor: task at line {line} failed: {e}");
    }
    Ok(())
}

/// When stdin is a regular file, its number of lines (for the bar's total and ETA).
fn count_lines_if_regular() -> Option<u64> {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata("/dev/stdin").ok()?;
    if !meta.file_type().is_file() || meta.file_type().is_fifo() {
        return None;
    }
    // A second, independent open of the same file: our stdin offset is untouched.
    let mut f = std::fs::File::open("/dev/stdin").ok()?;
    let (mut buf, mut lines, mut last) = (vec![0u8; 1 << 16], 0u64, b'\n');
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Some(lines + u64::from(last != b'\n'))
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} done, {msg} {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{elapsed_precise} {spinner} {pos} done, {msg} {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar.set_message("0 failed");
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}
