//! `conductor each`: one command per input, N at a time (the job of `xargs
//! -P` and GNU parallel), on the library's [`conductor::jobs`] runner.
//!
//! What a crash of conductor leaves: a task's `--results` files are renamed
//! into place when it ends, and its `--joblog` row is appended only after its
//! output was written to stdout. `--resume` therefore re-runs every task that
//! was running (or had ended but was not yet printed, being held back for
//! input order) when conductor died: `--results` and the job log end with
//! exactly one complete result and one row per input, while plain stdout is
//! at-least-once for those tasks (a task that had ended and been printed but
//! not yet logged is printed again by the resumed run).
//!
//! Beyond one machine ([`crate::cluster::ClusterArgs`]): `-S` hosts and
//! `--launcher` go through [`hosts::Hosts`], the runner's placement hook;
//! `--shard` filters the inputs by sequence number, which every shard keeps.

pub(crate) mod args;
mod hosts;
mod input;
mod joblog;
mod output;
mod results;
mod summary;

pub use args::EachArgs;

use crate::exit;
use crate::launcher;
use crate::remote::{self, Login, Remote, Target};
use crate::shard::Shard;
use conductor::jobs::{
    run_exit_code, shell_line, Event, HaltReason, Outcome, OutputMode, Runner, Template,
};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// Bytes of each task's stdout and of its stderr kept in memory before
/// spilling to a temporary file.
const MEMORY_BOUND: usize = 256 * 1024;

/// sshd's default `MaxSessions`: channels one connection (our ControlMaster) may carry.
const SSH_MAX_SESSIONS: usize = 10;

/// Runs `conductor each`; returns its exit code.
pub async fn run(args: EachArgs) -> i32 {
    let usage = |what: &str| {
        eprintln!("conductor: {what} (see conductor each --help)");
        exit::FAILED
    };
    let (template_argv, items) = match args.split_command() {
        Ok(x) => x,
        Err(e) => return usage(&e),
    };
    let template = Template::parse(&template_argv);
    let logins = match remote::collect(&args.cluster.sshlogin, &args.cluster.sshloginfile) {
        Ok(l) => l,
        Err(e) => return usage(&e),
    };
    let launcher_prefix = args
        .cluster
        .launcher
        .clone()
        .filter(|l| !l.trim().is_empty());
    let containment =
        match launcher::containment(args.containment, launcher_prefix.is_some(), "task") {
            Ok(c) => c,
            Err(e) => return usage(&e),
        };
    let shard = match &args.cluster.shard {
        None => None,
        Some(v) => match Shard::parse(v, |k| std::env::var(k).ok()) {
            Ok(s) => Some(s),
            Err(e) => return usage(&e.to_string()),
        },
    };
    let delim = if args.null { 0 } else { b'\n' };
    let source = match input::Source::open(items, args.arg_file.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            let path = args.arg_file.as_deref().unwrap_or("-".as_ref());
            eprintln!("conductor: cannot read --arg-file {}: {e}", path.display());
            return exit::FAILED;
        }
    };
    let resume = match (args.resume, args.resume_failed) {
        (true, _) => joblog::Resume::Finished,
        (_, true) => joblog::Resume::Succeeded,
        _ => joblog::Resume::No,
    };
    let skip = match &args.joblog {
        Some(p) => match joblog::skip_set(p, resume) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("conductor: {e}");
                return exit::FAILED;
            }
        },
        None => HashSet::new(),
    };
    let default_jobs = || {
        launcher::slurm_jobs(|k| std::env::var(k).ok(), launcher_prefix.is_some())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    };
    let mut jobs = args.jobs.map(|j| j as usize).unwrap_or_else(default_jobs);
    if args.dry_run {
        return dry_run(&template, source.items(delim), &skip, shard, jobs);
    }
    // Beyond a plain local spawn: ssh hosts and/or a launcher prefix.
    let mut placement = None;
    if !logins.is_empty() || launcher_prefix.is_some() {
        let logins = if logins.is_empty() {
            vec![Login {
                slots: Some(jobs),
                target: Target::Local,
            }]
        } else {
            logins
        };
        let (r, down) = match Remote::start(logins, args.cluster.ssh.as_deref(), true).await {
            Ok(x) => x,
            Err(e) => {
                eprintln!(
                    "conductor: cannot make a private directory for ssh control sockets: {e}"
                );
                return exit::FAILED;
            }
        };
        let reachable = r
            .logins()
            .iter()
            .any(|l| l.target == Target::Local || !down.iter().any(|(h, _)| h == l.name()));
        let then = if reachable {
            "it is tried again with backoff"
        } else {
            "no host can be reached, nothing ran"
        };
        for (host, why) in &down {
            eprintln!("conductor: host {host} is down ({why}); {then}");
        }
        if !reachable {
            r.close();
            return exit::FAILED;
        }
        let slots = r.slots(args.jobs.map(|j| j as usize), default_jobs).await;
        for (l, &n) in r.logins().iter().zip(&slots) {
            if n > SSH_MAX_SESSIONS && matches!(l.target, Target::Ssh { .. }) {
                eprintln!(
                    "conductor: warning: {n} slots on {}: sshd refuses more than {SSH_MAX_SESSIONS} channels per connection unless its MaxSessions is raised (a refused channel marks the host down for a while)",
                    l.name()
                );
            }
        }
        jobs = slots.iter().sum::<usize>().max(1);
        let down: Vec<String> = down.into_iter().map(|(h, _)| h).collect();
        let r = Arc::new(r);
        placement = Some((
            r.clone(),
            hosts::Hosts::new(r, &slots, &down, launcher_prefix.clone(), containment),
        ));
    }
    let remote = placement.as_ref().map(|(r, _)| r.clone());
    let code = run_tasks(
        args,
        template,
        source,
        delim,
        skip,
        shard,
        jobs,
        containment,
        placement,
    )
    .await;
    if let Some(r) = remote {
        r.close();
    }
    code
}

/// Runs the tasks once the options are checked and the hosts are set up.
#[allow(clippy::too_many_arguments)]
async fn run_tasks(
    args: EachArgs,
    template: Template,
    source: input::Source,
    delim: u8,
    skip: HashSet<u64>,
    shard: Option<Shard>,
    jobs: usize,
    containment: conductor::Containment,
    placement: Option<(Arc<Remote>, hosts::Hosts)>,
) -> i32 {
    let named_hosts = placement.is_some();
    let _ = conductor::unix::raise_fd_limit();
    let Ok(results) = open_optional(args.results.as_deref(), results::Results::prepare) else {
        return exit::FAILED;
    };
    if let Some(limit) = args.mem_limit {
        if let Err(e) = probe_memory_limit(limit).await {
            eprintln!("conductor: --mem-limit cannot be enforced here: {e}");
            return exit::FAILED;
        }
    }
    let Ok(mut log) = open_optional(args.joblog.as_deref(), joblog::Joblog::open) else {
        return exit::FAILED;
    };
    if let Some(log) = &mut log {
        log.hosts = named_hosts;
    }

    let bar_wanted = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let percent_halt = matches!(
        args.halt.map(|h| h.threshold),
        Some(conductor::jobs::Threshold::Percent(_))
    );
    // A shard runs a share of the inputs: no total to show.
    let total = if shard.is_none() && (bar_wanted || percent_halt) {
        source.count(delim)
    } else {
        None
    };
    let bar = crate::pool::progress::bar(total.map(|t| t.saturating_sub(skip.len() as u64)));

    let output_mode = if args.line_buffer {
        OutputMode::Lines
    } else {
        OutputMode::Capture {
            memory_bound: MEMORY_BOUND,
        }
    };
    let mut runner = Runner::new(template)
        .jobs(jobs)
        .timeout(crate::duration::limit(args.timeout))
        .grace(args.grace)
        .retries(args.retries)
        .halt(args.halt)
        .containment(containment)
        .output(output_mode)
        .total(total);
    if let Some(limit) = args.mem_limit {
        runner = runner.prepare(move |cmd| limit_memory(cmd, limit));
    }
    if let Some((_, hosts)) = placement {
        runner = runner.placement(hosts);
    }
    if let Some(floor) = args.memfree {
        runner = runner.start_when(move || available_memory().is_none_or(|m| m >= floor));
    }

    let mut signals = match crate::pool::signals::Signals::listen() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conductor: cannot listen for signals: {e}");
            return exit::FAILED;
        }
    };
    let started = Instant::now();
    if let Some(bar) = &bar {
        crate::pool::progress::start(bar);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(jobs.max(16));
    let skip_here = || {
        skip.iter()
            .filter(|&&s| shard.is_none_or(|h| h.contains(s)))
    };
    let mut counts = summary::Counts {
        skipped: skip_here().count() as u64,
        ..Default::default()
    };
    let style = output::Style {
        tag: args.tag,
        json: args.json,
        unordered: args.unordered,
    };
    let mut printer = match shard {
        None => output::Printer::new(style, skip.clone()),
        Some(sh) => output::Printer::with_order(
            style,
            skip_here().map(|&s| sh.position(s)).collect(),
            move |seq| sh.position(seq),
        ),
    };
    let feeder = input::feed(source, delim, skip, shard, tx);
    let mut run = runner.start(rx);
    let control = run.control();
    let mut per_host = crate::pool::slots::HostTally::default();
    let mut items: HashMap<u64, std::ffi::OsString> = HashMap::new();
    let mut reported_spawn_errors: HashSet<i32> = HashSet::new();
    let (mut interrupts, mut halt_cause, mut failure) = (0u32, None, None::<String>);
    let mut first_signal = 0;
    let mut broken_pipe = false;
    let say = |msg: String| match &bar {
        Some(b) => b.suspend(|| eprintln!("conductor: {msg}")),
        None => eprintln!("conductor: {msg}"),
    };
    loop {
        let event = tokio::select! {
            e = run.next() => e,
            number = signals.recv() => {
                interrupts += 1;
                if interrupts == 1 {
                    first_signal = number;
                    say(format!(
                        "{}: no new task starts, running ones finish (again to stop them now)",
                        crate::pool::signals::name(number)
                    ));
                    control.stop_starting();
                } else {
                    say("interrupted again; stopping every running task".into());
                    control.stop_all();
                }
                continue;
            }
        };
        let Some(event) = event else { break };
        match event {
            Event::Started { seq, item, .. } => {
                if args.line_buffer && args.tag {
                    items.insert(seq, item);
                }
            }
            Event::Line { seq, stream, line } => {
                if let Err(e) = printer.line(items.get(&seq).map(|i| i.as_os_str()), stream, &line)
                {
                    broken_pipe |= e.kind() == std::io::ErrorKind::BrokenPipe;
                    failure.get_or_insert(format!("writing output failed: {e}"));
                    control.stop_all();
                }
            }
            Event::Halted { reason, seq, code } => {
                halt_cause = Some(code);
                if reason == HaltReason::Policy {
                    let policy = args.halt.map(|h| h.to_string()).unwrap_or_default();
                    say(format!(
                        "--halt {policy} triggered by task {seq} (exit status {code}); no new task starts"
                    ));
                }
            }
            Event::Finished(mut r) => {
                items.remove(&r.seq);
                counts.add(&r);
                if named_hosts && !matches!(r.outcome, Outcome::Stopped(_)) {
                    per_host.count(Some(&r.host));
                }
                if let Some(bar) = &bar {
                    bar.inc(1);
                    bar.set_message(crate::pool::progress::message(
                        bar.position(),
                        counts.failed,
                        bar.length(),
                        started.elapsed(),
                    ));
                }
                describe_failure(&r, &mut reported_spawn_errors, &args, &say);
                let finished = !matches!(r.outcome, Outcome::Stopped(_));
                if let (Some(res), true) = (&results, finished) {
                    let stored = output::json_object(&mut r, false)
                        .and_then(|status| res.store(&mut r, &status));
                    if let Err(e) = stored {
                        failure.get_or_insert(format!(
                            "writing --results for task {} failed: {e}",
                            r.seq
                        ));
                        control.stop_all();
                    }
                }
                match printer.finished(r) {
                    Ok(printed) => log_rows(&mut log, &printed, &mut failure, &control),
                    Err(e) => {
                        broken_pipe |= e.kind() == std::io::ErrorKind::BrokenPipe;
                        failure.get_or_insert(format!("writing output failed: {e}"));
                        control.stop_all();
                    }
                }
            }
        }
    }
    match printer.drain() {
        Ok(printed) => log_rows(&mut log, &printed, &mut failure, &control),
        Err(e) => {
            broken_pipe |= e.kind() == std::io::ErrorKind::BrokenPipe;
            failure.get_or_insert(format!("writing output failed: {e}"));
        }
    }
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    // The reader may still block on stdin after an early stop; only a finished
    // one can report a read error.
    if feeder.is_finished() {
        if let Ok(Err(e)) = feeder.join() {
            failure.get_or_insert(format!("reading inputs failed: {e}"));
        }
    }
    eprintln!("conductor: {}", counts.line(started.elapsed()));
    // Only when a task ran on a host other than this machine (`:`).
    if let Some(hosts) = per_host.line().filter(|_| per_host.any_but(":")) {
        eprintln!("conductor: tasks per host: {hosts}");
    }
    if let Some(f) = failure {
        if !broken_pipe {
            eprintln!("conductor: {f}");
        }
        return exit::FAILED;
    }
    if interrupts > 0 {
        return 128 + first_signal;
    }
    run_exit_code(counts.failed, halt_cause)
}

/// `open(path)` when the option names a path; its error is printed (then `Err`).
fn open_optional<T>(
    path: Option<&std::path::Path>,
    open: impl FnOnce(&std::path::Path) -> Result<T, String>,
) -> Result<Option<T>, ()> {
    path.map(open)
        .transpose()
        .map_err(|e| eprintln!("conductor: {e}"))
}

/// Appends the rows of tasks whose output is out (stopped tasks did not finish: no row).
fn log_rows(
    log: &mut Option<joblog::Joblog>,
    printed: &[conductor::jobs::TaskReport],
    failure: &mut Option<String>,
    control: &conductor::jobs::Control,
) {
    let Some(log) = log else { return };
    for r in printed {
        if matches!(r.outcome, Outcome::Stopped(_)) {
            continue;
        }
        if let Err(e) = log.append(r) {
            failure.get_or_insert(format!("writing --joblog failed: {e}"));
            control.stop_all();
            return;
        }
    }
}

/// Reports on stderr what the exit status alone does not say: timeouts, OOM
/// kills, spawn failures (a missing command once, not per input).
fn describe_failure(
    r: &conductor::jobs::TaskReport,
    reported: &mut HashSet<i32>,
    args: &EachArgs,
    say: &impl Fn(String),
) {
    let item = r.item.to_string_lossy();
    match &r.outcome {
        Outcome::SpawnFailed(e) => {
            let code = r.exit_code();
            if code == exit::FAILED || reported.insert(code) {
                say(exit::describe(e));
            }
        }
        Outcome::TimedOut(st) => say(format!(
            "task {} ({item}) timed out after {:?}; its process tree was stopped ({st})",
            r.seq,
            args.timeout.unwrap_or_default()
        )),
        _ if r.oom_killed() => say(format!(
            "task {} ({item}) was killed by the kernel's OOM killer: its tree went over --mem-limit {}",
            r.seq,
            args::size_text(args.mem_limit.unwrap_or_default())
        )),
        _ => {}
    }
}

/// `--dry-run`: the commands, shell-quoted, one per line.
fn dry_run(
    template: &Template,
    items: Box<dyn Iterator<Item = std::io::Result<std::ffi::OsString>> + Send>,
    skip: &HashSet<u64>,
    shard: Option<Shard>,
    jobs: usize,
) -> i32 {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, item) in items.enumerate() {
        let seq = i as u64 + 1;
        let item = match item {
            Ok(i) => i,
            Err(e) => {
                eprintln!("conductor: reading inputs failed: {e}");
                return exit::FAILED;
            }
        };
        if skip.contains(&seq) || shard.is_some_and(|s| !s.contains(seq)) {
            continue;
        }
        let slot = ((seq - 1) % jobs as u64) as usize + 1;
        let mut line = shell_line(&template.expand(&item, seq, slot));
        line.push(b'\n');
        if out.write_all(&line).is_err() {
            return exit::FAILED;
        }
    }
    if out.flush().is_err() {
        return exit::FAILED;
    }
    0
}

/// Caps the tree of `cmd` at `limit` bytes (Linux's memory controller).
#[cfg(target_os = "linux")]
fn limit_memory(cmd: &mut conductor::Command, limit: u64) {
    use conductor::unix::CommandExt;
    cmd.memory_limit(limit);
}

#[cfg(not(target_os = "linux"))]
fn limit_memory(_: &mut conductor::Command, _: u64) {}

/// Spawns conductor itself (`--version`) under the limit: fails when no
/// usable memory controller exists, before any task runs.
#[cfg(target_os = "linux")]
pub(crate) async fn probe_memory_limit(limit: u64) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = conductor::Command::new(exe);
    cmd.arg("--version").stdout(conductor::Stdio::null());
    limit_memory(&mut cmd, limit.max(64 << 20));
    cmd.status().await.map(drop).map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
pub(crate) async fn probe_memory_limit(_: u64) -> Result<(), String> {
    Err("it needs Linux's memory controller (cgroups)".into())
}

/// MemAvailable from /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
