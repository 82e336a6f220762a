//! The runner: takes inputs from a channel, runs the template once per input
//! with at most `jobs` at a time, and reports each task as an [`Event`].

use super::capture::{capture, lines};
use super::report::spawn_failure_code;
use super::{
    Captured, Event, HaltPolicy, HaltReason, HaltWhen, Outcome, Stream, Tally, TaskReport, Template,
};
use crate::{Command, Containment, Stdio};
use std::ffi::OsString;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// One input: its item and sequence number (1-based, given by the caller so
/// that a resumed run keeps the numbers of the first).
#[derive(Debug, Clone)]
pub struct Input {
    /// Sequence number, for `{#}`, reports and job logs.
    pub seq: u64,
    /// The item, substituted into the template.
    pub item: OsString,
}

/// What happens to a task's stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// Kept whole in [`TaskReport::stdout`] and [`TaskReport::stderr`]: in
    /// memory up to the bound, then in an unlinked temporary file.
    Capture {
        /// Bytes per stream kept in memory before spilling to a file.
        memory_bound: usize,
    },
    /// Sent line by line as [`Event::Line`] while the task runs.
    Lines,
    /// Shared with the runner's own stdout and stderr (no capture, no cost).
    Inherit,
    /// Discarded (`/dev/null`).
    Discard,
}

type Prepare = Arc<dyn Fn(&mut Command) + Send + Sync>;

/// A future returned by [`Placement::place`].
pub type PlaceFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Option<Placed>> + Send + 'a>>;

/// Where one attempt of a task runs, chosen by a [`Placement`].
#[derive(Debug)]
pub struct Placed {
    /// The command to run: the task's argv wrapped for its host (ssh, a
    /// launcher prefix...). The runner sets its stdout and stderr and
    /// applies [`Runner::prepare`]; stdin and containment are left as the
    /// placement set them. A piped stdin is never written, and held open
    /// until the attempt ends (so that a remote side can watch for its end).
    pub command: Command,
    /// The host's index, given back to [`Placement::finished`].
    pub host: usize,
    /// The host's name, for [`TaskReport::host`].
    pub name: String,
}

/// A hook that runs tasks elsewhere: for each attempt of a task the runner
/// asks it for the command (it may wait for a free host), and tells it how
/// the attempt ended. An attempt whose *host* failed (say ssh could not
/// connect) is run again, elsewhere, without using up the task's
/// [`Runner::retries`] (it still counts in [`TaskReport::attempts`]).
///
/// ```
/// use conductor::jobs::{Outcome, PlaceFuture, Placed, Placement};
/// use std::ffi::OsString;
/// /// Runs every task under `nice`.
/// struct Nice;
/// impl Placement for Nice {
///     fn place<'a>(&'a self, _slot: usize, argv: &'a [OsString]) -> PlaceFuture<'a> {
///         Box::pin(async move {
///             let mut command = conductor::Command::new("nice");
///             command.args(argv).stdin(conductor::Stdio::null());
///             Some(Placed { command, host: 0, name: "local".into() })
///         })
///     }
///     fn finished(&self, _host: usize, _outcome: &Outcome) -> bool {
///         false
///     }
/// }
/// let runner = conductor::jobs::Runner::new(conductor::jobs::Template::parse(["true"]))
///     .placement(Nice);
/// ```
pub trait Placement: Send + Sync + 'static {
    /// The command for an attempt of the task in `slot` whose expanded
    /// template is `argv`; `None` when no host can ever run it (the attempt
    /// then fails to spawn).
    fn place<'a>(&'a self, slot: usize, argv: &'a [OsString]) -> PlaceFuture<'a>;
    /// The attempt placed on `host` ended with `outcome`; true when the host
    /// failed rather than the task (the attempt is then run again).
    fn finished(&self, host: usize, outcome: &Outcome) -> bool;
}

/// Attempts of one task whose host failed, at most, before it is reported
/// as it ended (so a command that itself looks like a host failure cannot loop).
const HOST_FAILURES_PER_TASK: u32 = 8;
type Gate = Arc<dyn Fn() -> bool + Send + Sync>;

/// Configures and starts a run.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use conductor::jobs::{Event, Input, Runner, Template};
/// let (tx, rx) = tokio::sync::mpsc::channel(16);
/// for (i, item) in ["a", "b", "c"].into_iter().enumerate() {
///     tx.send(Input { seq: i as u64 + 1, item: item.into() }).await.unwrap();
/// }
/// drop(tx);
/// let mut run = Runner::new(Template::parse(["echo", "item", "{}"])).jobs(2).start(rx);
/// let mut outputs = Vec::new();
/// while let Some(event) = run.next().await {
///     if let Event::Finished(mut report) = event {
///         assert!(report.succeeded());
///         outputs.push(report.stdout.to_vec().unwrap());
///     }
/// }
/// outputs.sort();
/// assert_eq!(outputs, [b"item a\n", b"item b\n", b"item c\n"]);
/// # }
/// ```
#[derive(Clone)]
pub struct Runner {
    template: Template,
    jobs: usize,
    timeout: Option<Duration>,
    grace: Duration,
    retries: u32,
    halt: Option<HaltPolicy>,
    containment: Containment,
    output: OutputMode,
    prepare: Option<Prepare>,
    gate: Option<Gate>,
    total: Option<u64>,
    placement: Option<Arc<dyn Placement>>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("template", &self.template)
            .field("jobs", &self.jobs)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("halt", &self.halt)
            .finish_non_exhaustive()
    }
}

/// `Runner` methods that each set the field of their name:
/// `field: Type;`.
macro_rules! runner_setters {
    ($($(#[$meta:meta])* $field:ident: $ty:ty;)*) => {
        $(
            $(#[$meta])*
            pub fn $field(mut self, $field: $ty) -> Runner {
                self.$field = $field;
                self
            }
        )*
    };
}

impl Runner {
    /// A runner for `template`: one task at a time, no timeout, no retries,
    /// output captured (1 MiB per stream in memory), a process group per task.
    pub fn new(template: Template) -> Runner {
        Runner {
            template,
            jobs: 1,
            timeout: None,
            grace: Duration::from_secs(5),
            retries: 0,
            halt: None,
            containment: Containment::ProcessGroup,
            output: OutputMode::Capture {
                memory_bound: 1 << 20,
            },
            prepare: None,
            gate: None,
            total: None,
            placement: None,
        }
    }

    /// Tasks running at once (at least 1).
    pub fn jobs(mut self, n: usize) -> Runner {
        self.jobs = n.max(1);
        self
    }

    runner_setters! {
        /// Stops a task's whole tree after this long (SIGTERM, grace, SIGKILL);
        /// each attempt gets the whole time.
        timeout: Option<Duration>;

        /// Time between SIGTERM and SIGKILL when stopping a tree.
        grace: Duration;

        /// Extra attempts for a task that failed or timed out.
        retries: u32;

        /// When to stop the run early.
        halt: Option<HaltPolicy>;

        /// How each task's tree is held together (and stopped).
        containment: Containment;

        /// What happens to the tasks' output.
        output: OutputMode;

        /// The number of inputs, when known (for percentage halt policies).
        total: Option<u64>;
    }

    /// Adjusts every task's command before it is spawned (environment,
    /// directory, limits such as `unix::CommandExt::memory_limit`).
    pub fn prepare(mut self, f: impl Fn(&mut Command) + Send + Sync + 'static) -> Runner {
        self.prepare = Some(Arc::new(f));
        self
    }

    /// Runs every attempt through `p`: on another host, under a launcher
    /// (see [`Placement`]).
    pub fn placement(mut self, p: impl Placement) -> Runner {
        self.placement = Some(Arc::new(p));
        self
    }

    /// A check made before each task starts: while it returns false no task
    /// starts (it is asked again every 100 ms), e.g. a free-memory floor.
    pub fn start_when(mut self, f: impl Fn() -> bool + Send + Sync + 'static) -> Runner {
        self.gate = Some(Arc::new(f));
        self
    }

    /// Starts the run on the current tokio runtime, taking inputs from
    /// `inputs` until it closes.
    pub fn start(self, inputs: mpsc::Receiver<Input>) -> Run {
        let (events_tx, events) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(Stop::None);
        tokio::spawn(drive(Arc::new(self), inputs, events_tx, stop_rx));
        Run {
            events,
            control: Control {
                stop: Arc::new(stop_tx),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    None,
    Starting,
    All,
}

/// A run in progress: its events, and a [`Control`] to stop it.
#[derive(Debug)]
pub struct Run {
    events: mpsc::UnboundedReceiver<Event>,
    control: Control,
}

impl Run {
    /// The next event; `None` once the run is over (every started task reported).
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// A handle that stops the run.
    pub fn control(&self) -> Control {
        self.control.clone()
    }
}

/// Stops a run: gently (no new task) or at once (every running tree too).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use conductor::jobs::{Event, Input, Outcome, Runner, Template};
/// let (tx, rx) = tokio::sync::mpsc::channel(4);
/// tx.send(Input { seq: 1, item: "300".into() }).await.unwrap();
/// let mut run = Runner::new(Template::parse(["sleep"])).start(rx);
/// assert!(matches!(run.next().await, Some(Event::Started { seq: 1, .. })));
/// run.control().stop_all();
/// match run.next().await {
///     Some(Event::Finished(r)) => assert!(matches!(r.outcome, Outcome::Stopped(_))),
///     other => panic!("{other:?}"),
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Control {
    stop: Arc<watch::Sender<Stop>>,
}

impl Control {
    /// Starts no new task; running ones finish.
    pub fn stop_starting(&self) {
        self.stop.send_if_modified(|s| {
            let changed = *s < Stop::Starting;
            *s = (*s).max(Stop::Starting);
            changed
        });
    }

    /// Starts no new task and stops every running task's tree (SIGTERM,
    /// grace, SIGKILL); they are reported as [`Outcome::Stopped`].
    pub fn stop_all(&self) {
        self.stop.send_replace(Stop::All);
    }
}

async fn drive(
    cfg: Arc<Runner>,
    mut inputs: mpsc::Receiver<Input>,
    events: mpsc::UnboundedSender<Event>,
    mut stop: watch::Receiver<Stop>,
) {
    let host = hostname();
    let (kill_tx, kill_rx) = watch::channel(false);
    let mut set: JoinSet<TaskReport> = JoinSet::new();
    let mut free: Vec<bool> = vec![true; cfg.jobs];
    // The slot of each running task, to free it even if the task panics.
    let mut slots: std::collections::HashMap<tokio::task::Id, usize> = Default::default();
    let mut tally = Tally {
        total: cfg.total,
        ..Tally::default()
    };
    let (mut starting, mut inputs_open, mut stop_alive) = (true, true, true);
    let command_fixed = !cfg.template.program_has_placeholder();
    loop {
        let s = *stop.borrow_and_update();
        if s >= Stop::Starting {
            starting = false;
        }
        if s == Stop::All && !*kill_tx.borrow() {
            let _ = kill_tx.send(true);
        }
        let can_start = starting && inputs_open && set.len() < cfg.jobs;
        if !can_start && set.is_empty() {
            break;
        }
        let gate_open = can_start && cfg.gate.as_ref().is_none_or(|g| g());
        tokio::select! {
            biased;
            Some(done) = set.join_next_with_id(), if !set.is_empty() => {
                let report = match done {
                    Ok((id, report)) => {
                        slots.remove(&id);
                        report
                    }
                    Err(e) => {
                        // A task that panicked: its slot is free again; it has no report.
                        tracing::error!("a task of the job runner failed: {e}");
                        if let Some(slot) = slots.remove(&e.id()) {
                            free[slot - 1] = true;
                        }
                        continue;
                    }
                };
                free[report.slot - 1] = true;
                if !matches!(report.outcome, Outcome::Stopped(_)) {
                    if report.succeeded() { tally.succeeded += 1 } else { tally.failed += 1 }
                }
                let mut halted = None;
                if starting {
                    if let Outcome::SpawnFailed(e) = &report.outcome {
                        let code = spawn_failure_code(e);
                        if command_fixed && (code == 126 || code == 127) {
                            halted = Some((HaltReason::CommandNotFound, HaltWhen::Soon, code));
                        }
                    }
                    if let Some(p) = cfg.halt.filter(|p| p.triggered(&tally)) {
                        halted = Some((HaltReason::Policy, p.when, report.exit_code()));
                    }
                }
                let seq = report.seq;
                let _ = events.send(Event::Finished(Box::new(report)));
                if let Some((reason, when, code)) = halted {
                    starting = false;
                    if when == HaltWhen::Now {
                        let _ = kill_tx.send(true);
                    }
                    let _ = events.send(Event::Halted { reason, seq, code });
                }
            }
            input = inputs.recv(), if gate_open => {
                let Some(input) = input else { inputs_open = false; continue };
                let slot = free.iter().position(|f| *f).expect("a free slot") + 1;
                free[slot - 1] = false;
                let _ = events.send(Event::Started { seq: input.seq, item: input.item.clone(), slot });
                let task = set.spawn(run_task(cfg.clone(), input, slot, host.clone(), kill_rx.clone(), events.clone()));
                slots.insert(task.id(), slot);
            }
            _ = tokio::time::sleep(Duration::from_millis(100)), if can_start && !gate_open => {}
            r = stop.changed(), if stop_alive => {
                if r.is_err() { stop_alive = false }
            }
        }
    }
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

async fn run_task(
    cfg: Arc<Runner>,
    input: Input,
    slot: usize,
    host: String,
    mut kill: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<Event>,
) -> TaskReport {
    let argv = cfg.template.expand(&input.item, input.seq, slot);
    let start = SystemTime::now();
    let t0 = Instant::now();
    let mut attempts = 0;
    let mut host_failures = 0;
    let mut host = host;
    loop {
        attempts += 1;
        let a = match &cfg.placement {
            None => attempt(&cfg, &argv, None, input.seq, &mut kill, &events).await,
            Some(p) => match place(p.as_ref(), slot, &argv, &mut kill).await {
                Err(a) => a,
                Ok(placed) => {
                    let h = placed.host;
                    host = placed.name;
                    let a = attempt(
                        &cfg,
                        &argv,
                        Some(placed.command),
                        input.seq,
                        &mut kill,
                        &events,
                    )
                    .await;
                    let host_failed = p.finished(h, &a.outcome);
                    if host_failed && host_failures < HOST_FAILURES_PER_TASK && !*kill.borrow() {
                        host_failures += 1;
                        continue;
                    }
                    a
                }
            },
        };
        let failed_run = matches!(&a.outcome, Outcome::Exited(s) if !s.success())
            || matches!(a.outcome, Outcome::TimedOut(_));
        let killed = *kill.borrow();
        if failed_run && attempts - host_failures <= cfg.retries && !killed {
            continue;
        }
        return TaskReport {
            seq: input.seq,
            item: input.item,
            argv,
            slot,
            outcome: a.outcome,
            attempts,
            start,
            duration: t0.elapsed(),
            host,
            stdout: a.stdout,
            stderr: a.stderr,
            output_bytes: a.bytes,
            usage: a.usage,
        };
    }
}

/// Asks the placement for an attempt's command, giving up when the run is
/// stopped meanwhile; the error is the attempt's (failed) result.
async fn place(
    p: &dyn Placement,
    slot: usize,
    argv: &[OsString],
    kill: &mut watch::Receiver<bool>,
) -> Result<Placed, Attempt> {
    let why = tokio::select! {
        placed = p.place(slot, argv) => match placed {
            Some(placed) => return Ok(placed),
            None => "no host can run the task",
        },
        _ = kill.wait_for(|k| *k) => "the run was stopped before a host was free",
    };
    Err(Attempt {
        outcome: Outcome::SpawnFailed(crate::Error::new(
            crate::error::Operation::Spawn,
            std::io::Error::other(why),
        )),
        stdout: Captured::default(),
        stderr: Captured::default(),
        bytes: 0,
        usage: None,
    })
}

struct Attempt {
    outcome: Outcome,
    stdout: Captured,
    stderr: Captured,
    bytes: u64,
    usage: Option<crate::ResourceUsage>,
}

/// Reads one stream as the output mode says; returns what was kept and the byte count.
async fn read_stream<R: tokio::io::AsyncRead + Unpin>(
    r: Option<R>,
    mode: OutputMode,
    seq: u64,
    stream: Stream,
    events: &mpsc::UnboundedSender<Event>,
) -> (Captured, u64) {
    let Some(r) = r else {
        return (Captured::default(), 0);
    };
    match mode {
        OutputMode::Capture { memory_bound } => match capture(r, memory_bound).await {
            Ok(c) => {
                let n = c.len();
                (c, n)
            }
            Err(e) => {
                tracing::warn!("capturing a task's output failed: {e}");
                (Captured::default(), 0)
            }
        },
        _ => {
            let n = lines(r, |line| {
                let _ = events.send(Event::Line { seq, stream, line });
            })
            .await;
            (Captured::default(), n.unwrap_or(0))
        }
    }
}

async fn attempt(
    cfg: &Runner,
    argv: &[OsString],
    placed: Option<Command>,
    seq: u64,
    kill: &mut watch::Receiver<bool>,
    events: &mpsc::UnboundedSender<Event>,
) -> Attempt {
    let mut cmd = match placed {
        Some(cmd) => cmd,
        None => {
            let mut cmd = Command::new(&argv[0]);
            cmd.args(&argv[1..])
                .stdin(Stdio::null())
                .containment(cfg.containment);
            cmd
        }
    };
    let (out, err) = match cfg.output {
        OutputMode::Capture { .. } | OutputMode::Lines => (Stdio::piped(), Stdio::piped()),
        OutputMode::Inherit => (Stdio::inherit(), Stdio::inherit()),
        OutputMode::Discard => (Stdio::null(), Stdio::null()),
    };
    cmd.stdout(out).stderr(err);
    if let Some(p) = &cfg.prepare {
        p(&mut cmd);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Attempt {
                outcome: Outcome::SpawnFailed(e),
                stdout: Captured::default(),
                stderr: Captured::default(),
                bytes: 0,
                usage: None,
            }
        }
    };
    // A placed command's stdin stays open until the attempt ends.
    let _stdin = child.stdin.take();
    let out_fut = read_stream(child.stdout.take(), cfg.output, seq, Stream::Stdout, events);
    let err_fut = read_stream(child.stderr.take(), cfg.output, seq, Stream::Stderr, events);
    tokio::pin!(out_fut, err_fut);
    let deadline = cfg.timeout.map(|t| tokio::time::Instant::now() + t);
    let (mut out_res, mut err_res) = (None, None);
    let mut status = None;
    // How the task ended, if the runner ended it.
    let mut ended_by: Option<fn(crate::ExitStatus) -> Outcome> = None;
    let mut kill_alive = true;
    // Once the tree was stopped, pipes still held open by escaped processes
    // get `grace` more before their output is given up on.
    let mut io_deadline: Option<tokio::time::Instant> = None;
    loop {
        if status.is_some() && out_res.is_some() && err_res.is_some() {
            break;
        }
        let stopped = ended_by.is_some();
        tokio::select! {
            r = child.wait(), if status.is_none() => {
                status = Some(r);
            }
            r = &mut out_fut, if out_res.is_none() => out_res = Some(r),
            r = &mut err_fut, if err_res.is_none() => err_res = Some(r),
            _ = sleep_until(deadline), if !stopped => {
                ended_by = Some(Outcome::TimedOut);
                status = Some(child.terminate(cfg.grace).await);
                io_deadline = Some(tokio::time::Instant::now() + cfg.grace);
            }
            ok = async { kill.wait_for(|k| *k).await.is_ok() }, if !stopped && kill_alive => {
                if !ok {
                    kill_alive = false;
                    continue;
                }
                ended_by = Some(Outcome::Stopped);
                status = Some(child.terminate(cfg.grace).await);
                io_deadline = Some(tokio::time::Instant::now() + cfg.grace);
            }
            _ = sleep_until(io_deadline), if io_deadline.is_some() => break,
        }
    }
    let (stdout, n1) = out_res.unwrap_or_default();
    let (stderr, n2) = err_res.unwrap_or_default();
    let status = match status.expect("set before the loop ends") {
        Ok(s) => s,
        Err(e) => {
            return Attempt {
                outcome: Outcome::SpawnFailed(e),
                stdout,
                stderr,
                bytes: n1 + n2,
                usage: None,
            }
        }
    };
    let outcome = match ended_by {
        Some(f) => f(status),
        None => Outcome::Exited(status),
    };
    Attempt {
        outcome,
        stdout,
        stderr,
        bytes: n1 + n2,
        usage: child.resource_usage(),
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run_all(runner: Runner, items: &[&str]) -> (Vec<TaskReport>, Vec<Event>) {
        let (tx, rx) = mpsc::channel(items.len().max(1));
        for (i, item) in items.iter().enumerate() {
            tx.send(Input {
                seq: i as u64 + 1,
                item: (*item).into(),
            })
            .await
            .unwrap();
        }
        drop(tx);
        let mut run = runner.start(rx);
        let (mut reports, mut others) = (Vec::new(), Vec::new());
        let limit = tokio::time::Instant::now() + Duration::from_secs(60);
        while let Some(e) = tokio::time::timeout_at(limit, run.next())
            .await
            .expect("run ends")
        {
            match e {
                Event::Finished(r) => reports.push(*r),
                e => others.push(e),
            }
        }
        reports.sort_by_key(|r| r.seq);
        (reports, others)
    }

    #[tokio::test]
    async fn slots_stay_within_the_concurrency_limit() {
        let items: Vec<String> = (0..12).map(|i| i.to_string()).collect();
        let items: Vec<&str> = items.iter().map(String::as_str).collect();
        let (reports, _) = run_all(
            Runner::new(Template::parse(["echo", "{%}"])).jobs(3),
            &items,
        )
        .await;
        assert_eq!(reports.len(), 12);
        for mut r in reports {
            let slot: usize = String::from_utf8(r.stdout.to_vec().unwrap())
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert!((1..=3).contains(&slot) && slot == r.slot);
        }
    }

    #[tokio::test]
    async fn retries_and_exit_codes() {
        let (reports, _) = run_all(
            Runner::new(Template::parse(["sh", "-c", "exit $0"])).retries(2),
            &["0", "3"],
        )
        .await;
        assert_eq!((reports[0].attempts, reports[0].exit_code()), (1, 0));
        assert_eq!((reports[1].attempts, reports[1].exit_code()), (3, 3));
    }

    #[tokio::test]
    async fn halt_now_stops_the_running_tasks() {
        let policy: HaltPolicy = "now,fail=1".parse().unwrap();
        let t = Instant::now();
        let (reports, events) = run_all(
            Runner::new(Template::parse([
                "sh",
                "-c",
                "[ $0 = bad ] && exit 2; sleep 60",
            ]))
            .jobs(3)
            .grace(Duration::from_millis(200))
            .halt(Some(policy)),
            &["a", "bad", "c", "d", "e"],
        )
        .await;
        assert!(t.elapsed() < Duration::from_secs(30));
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Halted {
                reason: HaltReason::Policy,
                seq: 2,
                code: 2
            }
        )));
        assert_eq!(reports.len(), 3, "nothing started after the halt");
        assert!(matches!(reports[0].outcome, Outcome::Stopped(_)));
    }

    #[tokio::test]
    async fn a_missing_program_halts_the_run_once() {
        let (reports, events) = run_all(
            Runner::new(Template::parse(["/no/such/prog"])),
            &["a", "b", "c"],
        )
        .await;
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].exit_code(), 127);
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Halted {
                reason: HaltReason::CommandNotFound,
                ..
            }
        )));
    }

    /// Host 0 "fails" (its command exits 255, like ssh that cannot
    /// connect); host 1 runs the task.
    struct TwoHosts(std::sync::Mutex<Vec<usize>>);

    impl Placement for TwoHosts {
        fn place<'a>(&'a self, _slot: usize, argv: &'a [OsString]) -> PlaceFuture<'a> {
            Box::pin(async move {
                let mut used = self.0.lock().unwrap();
                let host = usize::from(!used.is_empty());
                used.push(host);
                let mut command = Command::new("sh");
                match host {
                    0 => command.args(["-c", "exit 255"]),
                    _ => command.arg("-c").arg("echo \"$@\"").arg("sh").args(argv),
                };
                command.stdin(Stdio::null());
                Some(Placed {
                    command,
                    host,
                    name: format!("h{host}"),
                })
            })
        }

        fn finished(&self, host: usize, outcome: &Outcome) -> bool {
            host == 0 && matches!(outcome, Outcome::Exited(s) if s.code() == Some(255))
        }
    }

    #[tokio::test]
    async fn a_failed_host_moves_the_task_without_using_a_retry() {
        let (mut reports, _) = run_all(
            Runner::new(Template::parse(["x", "{}"]))
                .retries(0)
                .placement(TwoHosts(Default::default())),
            &["a"],
        )
        .await;
        let r = &mut reports[0];
        assert!(r.succeeded(), "{:?}", r.outcome);
        assert_eq!((r.attempts, r.host.as_str()), (2, "h1"));
        assert_eq!(r.stdout.to_vec().unwrap(), b"x a\n");
    }

    #[tokio::test]
    async fn stop_all_stops_every_tree() {
        let (tx, rx) = mpsc::channel(4);
        tx.send(Input {
            seq: 1,
            item: "60".into(),
        })
        .await
        .unwrap();
        let mut run = Runner::new(Template::parse(["sleep"]))
            .grace(Duration::from_millis(100))
            .start(rx);
        assert!(matches!(
            run.next().await,
            Some(Event::Started { seq: 1, .. })
        ));
        run.control().stop_all();
        let limit = tokio::time::Instant::now() + Duration::from_secs(30);
        match tokio::time::timeout_at(limit, run.next()).await.unwrap() {
            Some(Event::Finished(r)) => assert!(matches!(r.outcome, Outcome::Stopped(_))),
            e => panic!("{e:?}"),
        }
        assert!(tokio::time::timeout_at(limit, run.next())
            .await
            .unwrap()
            .is_none());
        drop(tx);
    }
}
