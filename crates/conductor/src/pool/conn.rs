//! One worker connection's I/O engine: the bytes between the pool and one
//! worker process.
//!
//! A [`Conn`] owns the worker's stdin and stdout, the tasks in flight on
//! it, a read buffer and a write buffer. [`Conn::poll_run`] is a hand-written
//! poll loop (no per-iteration futures) that, each time it is woken:
//!
//! 1. reads whatever the worker wrote (one large read) and decodes every
//!    complete reply, matching it to its task by id;
//! 2. syncs with the pool once ([`Shared::exchange`]): reports the answers
//!    and takes new tasks up to the in-flight limit;
//! 3. encodes all new tasks into the write buffer and writes it in one go;
//! 4. hands the answers to their submitters (after the write, so the worker
//!    is busy again as soon as possible);
//! 5. checks the task deadlines with a single timer.
//!
//! Its state is three small machines: [`Start`] (waiting for a line worker
//! to read its first task, settling, trusted), [`Flow`] (open, stopping,
//! closed, broken) and [`Clock`] (the task deadline timer).
//!
//! It ends with an [`End`] saying why; the supervisor then deals with the
//! process and takes back the tasks still in flight ([`Conn::take_tasks`]).

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep_until, Instant, Sleep};

use super::codec::{Codec, Reply};
use super::error::{StartFailure, TaskError, Violation};
use super::inflight::InFlight;
use super::latency::Histogram;
use super::state::{Phase, Report, Shared};
use super::task::{Outcome, Task};
use crate::{ChildStdin, ChildStdout};

/// Bytes read from the worker per read call.
const READ_CHUNK: usize = 64 * 1024;
/// A write buffer grown past this (by large tasks) is shrunk once empty.
const WRITE_KEEP: usize = 1 << 20;

/// Line mode: how long a new worker's first answer must be followed by
/// silence before it is trusted (and the worker gets its next task). A
/// program that writes two lines per input line is caught here, before any
/// of its answers is handed out, even if it writes them with a pause
/// between them.
const LINE_SETTLE: Duration = Duration::from_millis(50);

/// Line mode: first and longest interval between checks of whether a new
/// worker has read its first task.
const READY_CHECK_FIRST: Duration = Duration::from_millis(1);
const READY_CHECK_MAX: Duration = Duration::from_millis(20);

/// Why a connection stopped running.
#[derive(Debug)]
pub(super) enum End {
    /// The pool is stopping and nothing is in flight.
    Drained,
    /// The worker closed its stdout.
    Closed,
    /// Reading or writing the worker's pipes failed (e.g. it closed stdin):
    /// what it is if the worker keeps running.
    Io(Violation),
    /// The worker broke the protocol.
    Violation(Violation),
    /// Tasks ran past their deadline.
    TimedOut,
    /// Line mode: the worker did not read its first task within the start
    /// timeout.
    NotReady,
}

/// Where the worker is in its start-up, as its connection sees it:
/// `Waiting` (line mode) until it reads its first task, then `Settling`
/// (line mode: its first answers are held until it has been quiet for
/// [`LINE_SETTLE`]), then `Trusted`. A frame-mode worker passed its health
/// check before the connection runs and starts `Trusted`.
enum Start {
    /// Line mode: the worker has not read its first task yet; its tasks'
    /// deadlines have not started.
    Waiting {
        /// When it must have read its first task (set when one is written).
        deadline: Option<Instant>,
        /// Polls whether it has read it.
        check: Option<Pin<Box<Sleep>>>,
        /// The current polling interval.
        every: Duration,
    },
    /// Ready (task deadlines run), its answers not trusted yet.
    Settling {
        /// Runs while the worker is quiet after an answer.
        settle: Option<Pin<Box<Sleep>>>,
    },
    /// Ready and in step.
    Trusted,
}

/// Whether the connection still reads the worker's output and takes tasks.
enum Flow {
    /// Reading and taking tasks.
    Open,
    /// The pool is stopping: no new tasks; the run ends once nothing is in
    /// flight.
    Stopping,
    /// The worker closed its output (end of file).
    Closed,
    /// The worker broke the protocol: nothing more is read.
    Broken(Violation),
}

impl Flow {
    /// Still reading the worker's output.
    fn reading(&self) -> bool {
        matches!(self, Flow::Open | Flow::Stopping)
    }
}

/// The task deadline timer (one for all tasks in flight).
enum Clock {
    /// Not armed; keeps the timer for reuse.
    Idle(Option<Pin<Box<Sleep>>>),
    /// Fires at the earliest deadline.
    Armed(Pin<Box<Sleep>>),
    /// This task ran past its deadline (the one charged for the timeout).
    Expired(u64),
}

/// What the deadline timer found.
enum TimerEvent {
    Idle,
    Rearmed,
    Expired,
}

/// The pool's side of one worker process's stdin and stdout.
pub(super) struct Conn {
    slot: usize,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    codec: Codec,
    rbuf: Box<[u8]>,
    wbuf: Vec<u8>,
    wpos: usize,
    in_flight: InFlight,
    /// Tasks taken from the pool, about to be written.
    incoming: Vec<Task>,
    /// Answered tasks; `done[..reported]` have been reported to the pool.
    done: Vec<(Task, Outcome)>,
    reported: usize,
    timeout: Option<Duration>,
    clock: Clock,
    /// The worker answered a task (reported to the pool).
    answered: bool,
    /// The connection synced with the pool at least once.
    registered: bool,
    flow: Flow,
    /// Line mode: the worker wrote at least one complete line.
    heard: bool,
    /// The worker can work once it passed its health check (frame mode),
    /// or read a task or wrote a line (line mode). Task deadlines start then.
    start: Start,
    start_timeout: Duration,
    /// Line mode: tasks answered by a worker that then broke the contract
    /// before the answers were trusted; retried as if still in flight.
    suspects: Vec<Task>,
    /// The pool's latency histogram.
    latency: Arc<Histogram>,
}

impl Conn {
    pub fn new(slot: usize, stdin: ChildStdin, stdout: ChildStdout, shared: &Shared) -> Conn {
        let config = &shared.config;
        Conn {
            slot,
            latency: shared.latency.clone(),
            stdin: Some(stdin),
            stdout,
            codec: Codec::new(config.mode, config.max_message_len),
            rbuf: vec![0; READ_CHUNK].into_boxed_slice(),
            wbuf: Vec::new(),
            wpos: 0,
            in_flight: InFlight::default(),
            incoming: Vec::new(),
            done: Vec::new(),
            reported: 0,
            timeout: config.task_timeout,
            clock: Clock::Idle(None),
            answered: false,
            registered: false,
            flow: Flow::Open,
            heard: false,
            start: if config.mode == super::config::Mode::Framed {
                Start::Trusted
            } else if !super::unread::SUPPORTED {
                // Where unread input cannot be measured, a line worker
                // counts as ready at once (its tasks' clocks start when
                // written).
                Start::Settling { settle: None }
            } else {
                Start::Waiting {
                    deadline: None,
                    check: None,
                    every: READY_CHECK_FIRST,
                }
            },
            start_timeout: config.start_timeout,
            suspects: Vec::new(),
        }
    }

    /// Line mode: the worker's first answers are held until it has been
    /// quiet for [`LINE_SETTLE`]; the timer for that, while they are.
    fn settle_timer(&mut self) -> Option<&mut Pin<Box<Sleep>>> {
        if !self.codec.is_lines() || self.reported >= self.done.len() || !self.flow.reading() {
            return None;
        }
        match &mut self.start {
            Start::Settling { settle } => {
                Some(settle.get_or_insert_with(|| Box::pin(tokio::time::sleep(LINE_SETTLE))))
            }
            Start::Waiting { .. } | Start::Trusted => None,
        }
    }

    /// The worker can work (its task deadlines run).
    fn is_ready(&self) -> bool {
        !matches!(self.start, Start::Waiting { .. })
    }

    /// Whether the worker showed it works: it answered a task or (line
    /// mode) wrote a line.
    pub fn spoke(&self) -> bool {
        self.answered || self.heard
    }

    /// Line mode: a task was written to the worker and it has not read it
    /// (it never became ready). Checks the pipe once more first.
    pub fn unready(&mut self) -> bool {
        !self.in_flight.is_empty() && !self.check_ready()
    }

    /// Whether the worker is ready; in line mode, finds out whether it has
    /// read everything written to it (the input pipe is empty), which makes
    /// it ready.
    fn check_ready(&mut self) -> bool {
        if !self.is_ready() && !self.in_flight.is_empty() && self.input_consumed() {
            self.become_ready();
        }
        self.is_ready()
    }

    /// Everything written was read by the worker.
    fn input_consumed(&self) -> bool {
        self.wpos == self.wbuf.len()
            && self
                .stdin
                .as_ref()
                .is_some_and(|stdin| super::unread::unread_bytes(stdin) == Some(0))
    }

    /// The worker can work: the deadlines of its tasks start now.
    fn become_ready(&mut self) {
        if self.is_ready() {
            return;
        }
        self.start = Start::Settling { settle: None };
        if let Some(deadline) = self.timeout.and_then(|t| Instant::now().checked_add(t)) {
            if self.in_flight.set_deadlines(deadline) {
                self.arm(deadline);
            }
        }
    }

    /// Line mode, before the worker is ready: polls whether it has read its
    /// first task; `Some` when the start timeout has passed.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Option<End> {
        if self.in_flight.is_empty() {
            return None;
        }
        loop {
            if self.check_ready() {
                return None;
            }
            let Start::Waiting {
                deadline,
                check,
                every,
            } = &mut self.start
            else {
                return None;
            };
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Some(End::NotReady);
            }
            let first = *every;
            let timer = check.get_or_insert_with(|| Box::pin(sleep_until(now + first)));
            if timer.as_mut().poll(cx).is_pending() {
                return None;
            }
            *every = (first * 2).min(READY_CHECK_MAX);
            let next = now + *every;
            let next = deadline.map_or(next, |d| next.min(d));
            timer.as_mut().reset(next);
        }
    }

    /// Frame mode's health check: sends a ping and waits for the matching
    /// pong, which must be the worker's first frame.
    pub async fn handshake(&mut self, nonce: u64) -> Result<(), StartFailure> {
        self.codec
            .encode_ping(nonce, &mut self.wbuf)
            .map_err(|e| StartFailure::PingNotSent {
                error: e.to_string(),
            })?;
        poll_fn(|cx| self.poll_handshake(cx, nonce)).await
    }

    fn poll_handshake(
        &mut self,
        cx: &mut Context<'_>,
        nonce: u64,
    ) -> Poll<Result<(), StartFailure>> {
        loop {
            if let Err(e) = self.poll_write_out(cx) {
                return Poll::Ready(Err(StartFailure::PingNotSent {
                    error: e.to_string(),
                }));
            }
            let n = match self.poll_read_some(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(StartFailure::ClosedBeforePong)),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(StartFailure::PongNotRead {
                        error: e.to_string(),
                    }))
                }
            };
            self.codec.feed(self.rbuf.get(..n).unwrap_or_default());
            match self.codec.next_reply() {
                Ok(None) => continue,
                Ok(Some(Reply::Pong { nonce: got })) if got == nonce => return Poll::Ready(Ok(())),
                Ok(Some(other)) => {
                    return Poll::Ready(Err(StartFailure::WrongPingAnswer(other.answer())))
                }
                Err(detail) => return Poll::Ready(Err(StartFailure::PingViolation(detail))),
            }
        }
    }

    /// Runs the connection until it has to stop; see the module docs.
    pub fn poll_run(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<End> {
        loop {
            let mut progress = false;
            // Always take the kick (no short-circuit): a kick left set would
            // make the next one skip its wake-up.
            let kicked = shared.take_kick(self.slot);
            let sync = kicked || !self.registered;
            if self.flow.reading() {
                match self.poll_read_some(cx) {
                    Poll::Ready(Ok(0)) => {
                        self.flow = Flow::Closed;
                        self.decode_final();
                        progress = true;
                    }
                    Poll::Ready(Ok(n)) => {
                        let answered = self.done.len();
                        self.codec.feed(self.rbuf.get(..n).unwrap_or_default());
                        self.decode();
                        if self.codec.is_lines()
                            && self.done.len() > answered
                            && self.flow.reading()
                        {
                            // Line mode: a line is trusted as the answer only
                            // once the worker has nothing more to say (read
                            // again before reporting it or sending more): a
                            // second line would mean it is out of step.
                            continue;
                        }
                        progress = true;
                    }
                    Poll::Ready(Err(e)) => {
                        return Poll::Ready(End::Io(Violation::ReadFailed {
                            error: e.to_string(),
                        }))
                    }
                    Poll::Pending => {}
                }
            }
            if let Some(settle) = self.settle_timer() {
                if settle.as_mut().poll(cx).is_pending() {
                    if progress {
                        continue;
                    }
                    return Poll::Pending;
                }
                // Quiet for the whole settle period: in step.
                self.start = Start::Trusted;
            }
            if sync || self.reported < self.done.len() {
                let refill = self.flow.reading();
                let phase = self.sync(cx, shared, refill);
                if refill {
                    self.flow = if phase == Phase::Stopping {
                        Flow::Stopping
                    } else {
                        Flow::Open
                    };
                }
                if !self.incoming.is_empty() {
                    self.send_incoming();
                    progress = true;
                }
                if self.reported < self.done.len() {
                    self.sync(cx, shared, false);
                }
            }
            match self.poll_write_out(cx) {
                Ok(wrote) => progress |= wrote,
                Err(e) => {
                    self.resolve_done();
                    return Poll::Ready(End::Io(Violation::WriteFailed {
                        error: e.to_string(),
                    }));
                }
            }
            self.resolve_done();
            match std::mem::replace(&mut self.flow, Flow::Open) {
                Flow::Broken(detail) => return Poll::Ready(End::Violation(detail)),
                Flow::Closed => {
                    self.flow = Flow::Closed;
                    return Poll::Ready(End::Closed);
                }
                flow => self.flow = flow,
            }
            if let Some(end) = self.poll_ready(cx) {
                return Poll::Ready(end);
            }
            match self.poll_timer(cx) {
                TimerEvent::Expired => return Poll::Ready(End::TimedOut),
                TimerEvent::Rearmed => progress = true,
                TimerEvent::Idle => {}
            }
            if matches!(self.flow, Flow::Stopping)
                && self.in_flight.is_empty()
                && self.wpos == self.wbuf.len()
            {
                return Poll::Ready(End::Drained);
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// After the worker exited: collects the answers it wrote before dying,
    /// until end of output (bound this with a timeout: a grandchild may
    /// hold the pipe open).
    pub fn poll_drain_output(&mut self, cx: &mut Context<'_>, shared: &Shared) -> Poll<()> {
        loop {
            let mut pending = false;
            if self.flow.reading() {
                match self.poll_read_some(cx) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        self.flow = Flow::Closed;
                        self.decode_final();
                    }
                    Poll::Ready(Ok(n)) => {
                        self.codec.feed(self.rbuf.get(..n).unwrap_or_default());
                        self.decode();
                    }
                    Poll::Pending => pending = true,
                }
            }
            if self.reported < self.done.len() {
                self.sync(cx, shared, false);
            }
            self.resolve_done();
            if pending {
                return Poll::Pending;
            }
            if !self.flow.reading() {
                return Poll::Ready(());
            }
        }
    }

    /// Starts a graceful stop: queues the shutdown frame (frame mode); stdin
    /// is closed once everything is written.
    pub fn begin_close(&mut self) {
        // Encoding a shutdown frame cannot fail (it has no payload).
        let _ = self.codec.encode_shutdown(&mut self.wbuf);
    }

    /// Writes what is left, closes stdin, then reads the worker's output
    /// to its end (discarding it, apart from noticing the acknowledgement).
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.stdin.is_some() {
                let flushed = self.poll_write_out(cx).is_err() || self.wpos == self.wbuf.len();
                if flushed {
                    self.stdin = None;
                }
            }
            if matches!(self.flow, Flow::Closed) {
                return Poll::Ready(());
            }
            match self.poll_read_some(cx) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => self.flow = Flow::Closed,
                Poll::Ready(Ok(n)) => {
                    self.codec.feed(self.rbuf.get(..n).unwrap_or_default());
                    while let Ok(Some(reply)) = self.codec.next_reply() {
                        if reply == Reply::ShutdownAck {
                            tracing::debug!(worker = self.slot, "worker acknowledged shutdown");
                        }
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Takes back the tasks still held: `(charged, uncharged)`. After a
    /// timeout only the oldest expired task is charged an attempt (a worker
    /// running one task at a time was stuck on it; the others waited behind
    /// it); otherwise all in-flight tasks are. Tasks never written are
    /// always uncharged.
    pub fn take_tasks(&mut self, timed_out: bool) -> (Vec<Task>, Vec<Task>) {
        let mut charged = Vec::new();
        let mut uncharged = Vec::new();
        if !self.is_ready() {
            // Never read its first task: the task is not to blame.
            self.in_flight.drain_into(&mut uncharged);
            uncharged.append(&mut self.suspects);
        } else if timed_out {
            if let Clock::Expired(id) = std::mem::replace(&mut self.clock, Clock::Idle(None)) {
                charged.extend(self.in_flight.remove(id));
            }
            self.in_flight.drain_into(&mut uncharged);
        } else {
            self.in_flight.drain_into(&mut charged);
        }
        charged.append(&mut self.suspects);
        uncharged.append(&mut self.incoming);
        (charged, uncharged)
    }

    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut buf = ReadBuf::new(&mut self.rbuf);
        match Pin::new(&mut self.stdout).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes as much of the write buffer as the pipe takes; whether any was.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        let mut wrote = false;
        while let Some(pending) = self.wbuf.get(self.wpos..).filter(|p| !p.is_empty()) {
            let Some(stdin) = self.stdin.as_mut() else {
                break;
            };
            match Pin::new(stdin).poll_write(cx, pending) {
                Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(Ok(n)) => {
                    self.wpos += n;
                    wrote = true;
                }
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Pending => break,
            }
        }
        if self.wpos > 0 && self.wpos >= self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            if self.wbuf.capacity() > WRITE_KEEP {
                self.wbuf.shrink_to(READ_CHUNK);
            }
        }
        Ok(wrote)
    }

    /// Decodes every complete reply in the codec's buffer.
    fn decode(&mut self) {
        let lines = self.codec.is_lines();
        while !matches!(self.flow, Flow::Broken(_)) {
            let reply = match self.codec.next_reply() {
                Ok(Some(reply)) => reply,
                Ok(None) => break,
                Err(detail) => {
                    if lines {
                        // The answers not yet trusted are as suspect as the
                        // line that broke the contract.
                        let held = self.done.drain(self.reported..).map(|(task, _)| task);
                        self.suspects.extend(held);
                    }
                    self.flow = Flow::Broken(detail);
                    break;
                }
            };
            if lines {
                self.heard = true;
            }
            let (id, outcome) = match reply {
                Reply::Result { id, body } => (id, Ok(body.to_vec())),
                Reply::Failed { id, message } => (id, Err(TaskError::Failed(message.to_owned()))),
                other => {
                    self.flow = Flow::Broken(Violation::Unsolicited(other.answer()));
                    break;
                }
            };
            if lines {
                self.become_ready();
            }
            match self.in_flight.remove(id) {
                Some(task) => self.done.push((task, outcome)),
                None => {
                    self.flow = Flow::Broken(Violation::NotInFlight { id });
                }
            }
        }
    }

    /// At end of output: a line-mode worker's unterminated last line is not
    /// an answer (a result line ends with its newline; a worker that wrote
    /// part of a line and stopped crashed mid-answer), so its task stays in
    /// flight and is dealt with as the worker's end says.
    fn decode_final(&mut self) {
        if matches!(self.flow, Flow::Broken(_)) {
            return;
        }
        if let Some(partial) = self.codec.finish() {
            tracing::warn!(
                worker = self.slot,
                "worker output ended in a line without its newline ({} bytes): not a result",
                partial.len()
            );
        }
    }

    /// Reports new answers to the pool and (if `refill`) takes new tasks.
    fn sync(&mut self, cx: &mut Context<'_>, shared: &Shared, refill: bool) -> Phase {
        let mut report = Report::default();
        for (_, outcome) in self.done.get(self.reported..).unwrap_or_default() {
            match outcome {
                Ok(_) => report.succeeded += 1,
                Err(_) => report.failed += 1,
            }
        }
        if report.succeeded + report.failed > 0 && !self.answered {
            self.answered = true;
            report.first_answer = true;
        }
        self.reported = self.done.len();
        self.registered = true;
        shared.exchange(self.slot, &report, refill, &mut self.incoming, cx.waker())
    }

    /// Encodes the tasks taken from the pool and puts them in flight.
    fn send_incoming(&mut self) {
        // A timeout too large to represent means no deadline; a worker not
        // ready yet gets its tasks' deadlines when it is.
        let now = Instant::now();
        let deadline = self
            .timeout
            .filter(|_| self.is_ready())
            .and_then(|t| now.checked_add(t));
        if let Start::Waiting {
            deadline: start_deadline @ None,
            ..
        } = &mut self.start
        {
            if !self.incoming.is_empty() {
                // Too large to represent: no limit.
                *start_deadline = now.checked_add(self.start_timeout);
            }
        }
        for mut task in self.incoming.drain(..) {
            task.runs += 1;
            task.worker = Some(self.slot);
            let (id, body) = self.in_flight.insert(task, deadline);
            if let Err(err) = self.codec.encode_task(id, body, &mut self.wbuf) {
                // Unreachable: tasks are checked at submit.
                if let Some(task) = self.in_flight.remove(id) {
                    self.done.push((task, Err(TaskError::Invalid(err))));
                }
            }
        }
        if let Some(deadline) = deadline {
            if !matches!(self.clock, Clock::Armed(_)) {
                self.arm(deadline);
            }
        }
    }

    fn arm(&mut self, deadline: Instant) {
        let timer = match std::mem::replace(&mut self.clock, Clock::Idle(None)) {
            Clock::Idle(Some(mut timer)) | Clock::Armed(mut timer) => {
                timer.as_mut().reset(deadline);
                timer
            }
            Clock::Idle(None) | Clock::Expired(_) => Box::pin(sleep_until(deadline)),
        };
        self.clock = Clock::Armed(timer);
    }

    /// Checks deadlines when the timer fires, and re-arms it for the next.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> TimerEvent {
        let Clock::Armed(timer) = &mut self.clock else {
            return TimerEvent::Idle;
        };
        if timer.as_mut().poll(cx).is_pending() {
            return TimerEvent::Idle;
        }
        if let Clock::Armed(timer) = std::mem::replace(&mut self.clock, Clock::Idle(None)) {
            self.clock = Clock::Idle(Some(timer));
        }
        let (oldest, next) = self.in_flight.oldest_expired(Instant::now());
        if let Some(id) = oldest {
            self.clock = Clock::Expired(id);
            return TimerEvent::Expired;
        }
        match next {
            Some(next) => {
                self.arm(next);
                TimerEvent::Rearmed
            }
            None => TimerEvent::Idle,
        }
    }

    /// Hands answered tasks to their submitters.
    fn resolve_done(&mut self) {
        for (task, outcome) in self.done.drain(..) {
            self.latency.record(task.age());
            task.resolve(outcome);
        }
        self.reported = 0;
    }
}
