//! `conductor pool`: tasks from stdin, one per line, through persistent
//! workers; one result line per task on stdout (input order by default),
//! failures on stderr, worker stderr on stderr prefixed `[worker N]`, a
//! progress bar on a terminal and a summary at the end.
//!
//! | File | Owns |
//! |---|---|
//! | `pool/feed.rs` | reading task lines, the reorder window's back-pressure |
//! | `pool/output.rs` | the reorder buffer, text and JSON results |
//! | `pool/signals.rs` | SIGINT, SIGTERM, SIGHUP |
//! | `pool/silence.rs` | the warning about a worker that holds a task silently |
//! | `pool/stderr.rs` | worker stderr, prefixed |
//! | `pool/progress.rs` | the progress bar, rate and ETA |
//! | `pool/summary.rs` | the summary line |
//! | `pool/metrics.rs` | `--metrics FILE`, rewritten atomically |
//! | `pool/slots.rs` | worker slots, their hosts (`-S`) and commands, containment |

mod feed;
mod metrics;
mod output;
pub(crate) mod progress;
pub(crate) mod signals;
mod silence;
pub(crate) mod slots;
mod stderr;
mod summary;

use crate::exit;
use crate::launcher;
use crate::remote::{self, Remote};
use crate::run::ContainmentArg;
use crate::shard::Shard;
use clap::Args;
use conductor::pool::{Mode, OpenCircuit, Pool};
use std::ffi::OsString;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Exit status when stdout is closed (`| head`): 128 + SIGPIPE, what a shell
/// reports for a pipeline member killed by SIGPIPE.
const CLOSED_STDOUT: i32 = 128 + libc::SIGPIPE;

/// Options of `conductor pool`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
seq 1000 | conductor pool -j 4 -- sed -u 's/$/ squared/'\n  \
seq 1000 | conductor pool -j 4 --line-buffered -- tr 0-9 a-j\n  \
seq 100 | conductor pool --framed --in-flight 8 --json -- python3 examples/python/conductor_worker.py\n\n\
Line mode: one task line in, one result line out, per worker, in turn. A CR before the\n\
newline is dropped from task lines and from result lines alike.\n\
Workers must flush each result line: programs that block-buffer a pipe (tr, sed without -u,\n\
grep, awk, C filters) never answer; --line-buffered runs them under stdbuf -oL (and sets\n\
PYTHONUNBUFFERED=1), and a worker silent for --warn-silent with a task gets a warning.\n\
--json: one object per task: line, ok, result (valid UTF-8) or result_base64 (other bytes,\n\
standard base64) or error, host (with -S), attempts, worker, duration_ms; at the end a\n\
{\"summary\":{...}} object on stderr (task counts, retries, respawns, recycles, oom_kills,\n\
timeouts, latency_ms p50/p90/p99/max).\n\
Worker stderr is copied to stderr, each line prefixed with [worker N] ([worker N on HOST]\n\
for a worker on an ssh host). RUST_LOG sets the\n\
level of conductor's own log (default: error), e.g. RUST_LOG=conductor=debug.\n\n\
Signals: the first SIGINT (Ctrl-C), SIGTERM or SIGHUP stops reading and starts nothing more\n\
(queued tasks are counted as not run); tasks already on a worker finish and are printed;\n\
then the summary and exit 128+signal. A second signal kills every worker tree at once.\n\
SIGUSR1: rolling restart: every worker is replaced, one at a time, failing no task.\n\n\
Exit status: 0 when every task succeeded; 1 when any failed (each is reported on stderr\n\
with its input line number); 128+N after signal N; 141 when stdout was closed (e.g. by\n\
head), without a message; 125 if conductor itself failed; 126/127 if the worker cannot\n\
be executed / is not found.")]
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
    /// Results held back waiting for an earlier one, at most (ordered output): when
    /// reached, input reading pauses until the earlier task is done.
    #[arg(long, default_value_t = 4096, value_name = "TASKS")]
    reorder_window: u64,
    /// One JSON object per task (see below).
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
    /// How each worker's process tree on this machine is held together (and
    /// stopped as a whole); a remote slot's ssh client always gets a process
    /// group, and with --launcher `best` means a process group.
    #[arg(long, value_enum, default_value_t = ContainmentArg::Best)]
    containment: ContainmentArg,
    /// Run the worker under `stdbuf -oL` (and with PYTHONUNBUFFERED=1) so that
    /// programs that block-buffer a pipe flush each line.
    #[arg(long)]
    line_buffered: bool,
    /// Recycle a worker after it has been given N tasks: it finishes them and is
    /// replaced (its replacement starts before it leaves).
    #[arg(long, value_name = "N")]
    max_tasks: Option<u64>,
    /// Recycle a worker once it has run this long (e.g. 1h).
    #[arg(long, value_parser = crate::duration::parse, value_name = "DURATION")]
    max_age: Option<Duration>,
    /// Recycle a worker (after its current tasks) once its process tree uses more
    /// than SIZE of memory (e.g. 500M), as sampled every --monitor-interval.
    #[arg(long, value_name = "SIZE", value_parser = crate::each::args::parse_size)]
    worker_mem_soft: Option<u64>,
    /// Kill a worker whose tree uses more than SIZE (the kernel's memory controller:
    /// cgroup v2 memory.max or v1 memory, as --mem-limit of `each`; else by sampling):
    /// reported as OOM, its tasks retried under --retries.
    #[arg(long, value_name = "SIZE", value_parser = crate::each::args::parse_size)]
    worker_mem_hard: Option<u64>,
    /// How often each worker's memory, CPU time and open descriptors are sampled.
    #[arg(long, value_parser = crate::duration::parse, default_value = "1s", value_name = "DURATION")]
    monitor_interval: Duration,
    /// Write the pool's metrics to FILE in the Prometheus text format, rewritten
    /// atomically every --monitor-interval and at the end (node_exporter's textfile
    /// collector).
    #[arg(long, value_name = "FILE")]
    metrics: Option<std::path::PathBuf>,
    /// Warn once when a worker has held a task this long without answering (0: never).
    #[arg(long, default_value = "10s", value_parser = crate::duration::parse, value_name = "DURATION")]
    warn_silent: Duration,
    #[command(flatten)]
    cluster: crate::cluster::ClusterArgs,
    #[command(flatten)]
    command: crate::program::Program,
}

/// Runs the pool job; returns conductor's exit code.
pub async fn run(args: PoolArgs) -> i32 {
    let logins = match remote::collect(&args.cluster.sshlogin, &args.cluster.sshloginfile) {
        Ok(l) => l,
        Err(e) => return usage_error(&e),
    };
    let containment =
        match slots::local_containment(args.containment, args.cluster.launcher.is_some()) {
            Ok(c) => c,
            Err(e) => return usage_error(&e),
        };
    if args.reorder_window == 0 {
        return usage_error("--reorder-window must be at least 1");
    }
    if args.max_tasks == Some(0) {
        return usage_error("--max-tasks must be at least 1");
    }
    if args.max_age == Some(Duration::ZERO) {
        return usage_error("--max-age must be positive");
    }
    if args.monitor_interval.is_zero() {
        return usage_error("--monitor-interval must be positive");
    }
    if let (Some(soft), Some(hard)) = (args.worker_mem_soft, args.worker_mem_hard) {
        if soft > hard {
            return usage_error("--worker-mem-soft must not be above --worker-mem-hard");
        }
    }
    let (program, rest) = args.command.split();
    let mut argv: Vec<OsString> = std::iter::once(program.to_owned())
        .chain(rest.iter().cloned())
        .collect();
    if args.line_buffered {
        // stdbuf wraps the program itself: on the remote side for an ssh
        // host, inside the launcher's prefix.
        argv.splice(0..0, ["stdbuf".into(), "-oL".into()]);
        // Checked where they run: on this machine, when a worker runs here
        // (an ssh host's shell reports its own "not found").
        let local = logins.is_empty() || logins.iter().any(|l| l.target == remote::Target::Local);
        if local {
            // Under stdbuf, a missing program would look like a worker failing to start.
            let bare = !program.as_encoded_bytes().contains(&b'/');
            if bare && !program.to_str().is_some_and(on_path) {
                eprintln!(
                    "conductor: cannot run `{}`: not found on PATH",
                    program.to_string_lossy()
                );
                return exit::NOT_FOUND;
            }
            if !on_path("stdbuf") {
                eprintln!("conductor: --line-buffered needs stdbuf (GNU coreutils) on PATH");
                return exit::FAILED;
            }
        }
    }
    let shard = match &args.cluster.shard {
        None => None,
        Some(v) => match Shard::parse(v, |k| std::env::var(k).ok()) {
            Ok(s) => Some(s),
            Err(e) => return usage_error(&e.to_string()),
        },
    };
    let remote = if logins.is_empty() {
        None
    } else {
        match Remote::start(logins, args.cluster.ssh.as_deref(), true).await {
            Ok((r, down)) => {
                for (host, why) in down {
                    eprintln!("conductor: host {host} is down ({why}); its workers will be retried with backoff");
                }
                Some(Arc::new(r))
            }
            Err(e) => {
                eprintln!(
                    "conductor: cannot make a private directory for ssh control sockets: {e}"
                );
                return exit::FAILED;
            }
        }
    };
    let code = run_pool(args, remote.clone(), shard, argv, containment).await;
    if let Some(r) = remote {
        r.close();
    }
    code
}

fn usage_error(msg: &str) -> i32 {
    eprintln!("conductor pool: {msg}");
    exit::FAILED
}

async fn run_pool(
    args: PoolArgs,
    remote: Option<Arc<Remote>>,
    shard: Option<Shard>,
    argv: Vec<OsString>,
    containment: conductor::Containment,
) -> i32 {
    let _ = conductor::unix::raise_fd_limit();
    let default_jobs = || {
        launcher::slurm_jobs(|k| std::env::var(k).ok(), args.cluster.launcher.is_some())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    };
    let slots = Arc::new(slots::Slots::plan(remote, args.workers, default_jobs).await);
    let mode = if args.framed {
        Mode::Framed
    } else {
        Mode::Lines
    };
    // A shard runs a share of the lines: no total to show.
    let bar = progress::bar(if shard.is_some() {
        None
    } else {
        count_lines_if_regular()
    });
    let worker = slots::Worker {
        argv,
        launcher: args.cluster.launcher.clone(),
        line_buffered: args.line_buffered,
        containment,
    };
    if let Some(limit) = args.worker_mem_hard {
        if let Err(e) = crate::each::probe_memory_limit(limit).await {
            eprintln!(
                "conductor: --worker-mem-hard cannot be enforced by the kernel here ({e}); \
                 enforcing it by sampling every --monitor-interval"
            );
        }
    }
    let factory_slots = slots.clone();
    let hosts = slots.ssh_hosts();
    let mut builder = Pool::builder_per_slot(move |slot| factory_slots.command(slot, &worker))
        .worker_host(move |slot| hosts.get(slot).cloned().flatten())
        .worker_memory(args.worker_mem_soft, args.worker_mem_hard)
        .monitor_interval(Some(args.monitor_interval))
        .workers(slots.len())
        .mode(mode)
        .start_timeout(args.start_timeout)
        .open_circuit(OpenCircuit::Hold {
            give_up_after: args.give_up_after,
        })
        .attempts(args.retries.saturating_add(1))
        .on_event(stderr::forwarder(bar.clone(), slots.ssh_hosts()));
    if slots.is_remote() {
        // A host that is down is tried again with backoff, not hammered.
        builder = builder.backoff(Duration::from_millis(200), Duration::from_secs(30));
    }
    if args.framed {
        builder = builder.tasks_per_worker(args.in_flight);
    }
    if let Some(t) = args.task_timeout {
        builder = builder.task_timeout(t);
    }
    if let Some(n) = args.max_tasks {
        builder = builder.max_tasks_per_worker(n);
    }
    if let Some(age) = args.max_age {
        builder = builder.max_worker_age(age);
    }
    let mut restart_signal =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("conductor: cannot listen for signals: {e}");
                return exit::FAILED;
            }
        };
    let (restarted_tx, mut restarted_rx) = mpsc::unbounded_channel::<usize>();
    let mut restarting = false;
    let mut metrics_tick = tokio::time::interval(args.monitor_interval);
    let mut signals = match signals::Signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conductor: cannot listen for signals: {e}");
            return exit::FAILED;
        }
    };
    let building = Instant::now();
    let pool = match builder.build().await {
        Ok(p) => p,
        Err(conductor::pool::BuildError::Spawn(e)) => return exit::report_spawn_error(&e),
        Err(e) => {
            eprintln!("conductor: {e}");
            return exit::FAILED;
        }
    };
    let start_up = building.elapsed();

    // The clock of the summary and the bar starts when the workers are ready.
    let started = Instant::now();
    if let Some(bar) = &bar {
        progress::start(bar);
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let (released_tx, released_rx) = watch::channel(1u64);
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<feed::Done>();
    let reader = tokio::spawn(feed::feed(feed::Feed {
        pool: pool.clone(),
        done: done_tx,
        stop: stop_rx,
        released: released_rx,
        window: if args.unordered {
            u64::MAX
        } else {
            args.reorder_window
        },
        shard,
    }));

    let format = output::Format {
        json: args.json,
        strip_cr: mode == Mode::Lines,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut reorder = output::Reorder::new();
    let mut tally = summary::Tally::default();
    let mut per_host = slots::HostTally::default();
    let mut stopped_by: Option<i32> = None;
    let mut silence = silence::SilenceWatch::new(args.warn_silent);
    let mut tick = tokio::time::interval(
        (args.warn_silent / 4).clamp(Duration::from_millis(50), Duration::from_millis(500)),
    );
    let mut finished = started;
    loop {
        tokio::select! {
            done = done_rx.recv() => {
                let Some(done) = done else { break };
                tally.count(&done.report.result);
                finished = Instant::now();
                let host = slots.host(done.report.info.worker);
                per_host.count(host);
                let res = if args.unordered {
                    output::write(&mut out, format, done.line, &done.report, host)
                } else {
                    let mut res = Ok(());
                    for (line, report) in reorder.insert(done.seq, (done.line, done.report)) {
                        let host = slots.host(report.info.worker);
                        res = res.and_then(|()| output::write(&mut out, format, line, &report, host));
                    }
                    released_tx.send_replace(reorder.next_seq());
                    res
                };
                if let Some(bar) = &bar {
                    bar.set_position(tally.done());
                    bar.set_message(progress::message(tally.done(), tally.failed, bar.length(), started.elapsed()));
                }
                // Flush once no other result is waiting: streaming output without a
                // write per line under load.
                let res = res.and_then(|()| if done_rx.is_empty() { out.flush() } else { Ok(()) });
                if let Err(e) = res {
                    // Nobody reads the results any more: stop at once, quietly for a
                    // closed pipe (as xargs and parallel do).
                    let _ = stop_tx.send(true);
                    pool.stop_dispatch();
                    if let Some(bar) = &bar { bar.finish_and_clear(); }
                    pool.kill().await;
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return CLOSED_STDOUT;
                    }
                    eprintln!("conductor: writing results failed: {e}");
                    return exit::FAILED;
                }
            }
            number = signals.recv() => {
                if stopped_by.is_some() {
                    // Second signal: stop every worker tree at once.
                    if let Some(bar) = &bar { bar.finish_and_clear(); }
                    eprintln!("conductor: interrupted again by {}; stopping all workers", signals::name(number));
                    let _ = out.flush();
                    kill_and_wait(&pool).await;
                    return 128 + number;
                }
                stopped_by = Some(number);
                let say = || eprintln!(
                    "conductor: interrupted by {}; finishing the tasks already started, starting no more (again to stop now)",
                    signals::name(number)
                );
                match &bar { Some(bar) => bar.suspend(say), None => say() }
                let _ = stop_tx.send(true);
                pool.stop_dispatch();
            }
            _ = restart_signal.recv() => {
                if restarting || stopped_by.is_some() {
                    continue;
                }
                restarting = true;
                let say = || eprintln!("conductor: SIGUSR1: rolling restart of the workers, one at a time");
                match &bar { Some(bar) => bar.suspend(say), None => say() }
                let (pool, tx) = (pool.clone(), restarted_tx.clone());
                tokio::spawn(async move {
                    let _ = tx.send(pool.restart_workers().await);
                });
            }
            Some(n) = restarted_rx.recv() => {
                restarting = false;
                let say = || eprintln!("conductor: rolling restart done: {n} workers replaced");
                match &bar { Some(bar) => bar.suspend(say), None => say() }
            }
            _ = metrics_tick.tick(), if args.metrics.is_some() => {
                if let Some(path) = &args.metrics {
                    if let Err(e) = metrics::write(path, &pool.stats()) {
                        eprintln!("conductor: cannot write --metrics {}: {e}", path.display());
                    }
                }
            }
            now = tick.tick() => {
                if let Some(warning) = silence.observe(&pool.stats(), now.into_std()) {
                    let say = || eprintln!("{warning}");
                    match &bar { Some(bar) => bar.suspend(say), None => say() }
                }
                if let Some(bar) = &bar {
                    bar.set_message(progress::message(tally.done(), tally.failed, bar.length(), started.elapsed()));
                }
            }
        }
    }
    let read_error = match reader.await {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e),
        Err(e) => Some(std::io::Error::other(e)),
    };
    let flushed = out.flush();
    drop(out);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if flushed
        .as_ref()
        .is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    {
        pool.kill().await;
        return CLOSED_STDOUT;
    }
    let stats = pool.stats();
    pool.shutdown().await;
    eprintln!(
        "conductor: {}",
        summary::line(&tally, &stats, finished - started, start_up)
    );
    if args.json {
        eprintln!("{}", summary::json(&tally, &stats));
    }
    if let Some(path) = &args.metrics {
        // As of the last result, with the workers' last samples.
        if let Err(e) = metrics::write(path, &stats) {
            eprintln!("conductor: cannot write --metrics {}: {e}", path.display());
        }
    }
    if let Some(hosts) = per_host.line() {
        eprintln!("conductor: tasks per host: {hosts}");
    }
    if let Some(e) = read_error {
        eprintln!("conductor: reading tasks from stdin failed: {e}");
        return exit::FAILED;
    }
    if let Err(e) = flushed {
        eprintln!("conductor: writing results failed: {e}");
        return exit::FAILED;
    }
    if let Some(number) = stopped_by {
        128 + number
    } else if tally.failed > 0 {
        1
    } else {
        0
    }
}

/// Kills every worker tree, then waits (at most 5 s) until the workers are gone.
async fn kill_and_wait(pool: &Pool) {
    let pids: Vec<u32> = pool.stats().workers.iter().filter_map(|w| w.pid).collect();
    pool.kill().await;
    let gone = |pid: &u32| {
        // Gone, or dead and waiting to be reaped.
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pids.iter().all(gone) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whether `program` is found on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
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
