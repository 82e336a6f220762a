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
    timer: Option<Pin<Box<Sleep>>>,
    timer_armed: bool,
    /// The task charged for a timeout.
    expired: Option<u64>,
    answered: bool,
    registered: bool,
    eof: bool,
    violation: Option<Violation>,
    stopping: bool,
    /// Line mode: the worker wrote at least one complete line.
    heard: bool,
    /// The worker can work: it passed its health check (frame mode), or read
    /// a task or wrote a line (line mode). Task deadlines start then.
    ready: bool,
    start_timeout: Duration,
    /// Line mode: when the worker must have read its first task.
    start_deadline: Option<Instant>,
    /// Line mode: polls whether the worker has read its first task.
    ready_check: Option<Pin<Box<Sleep>>>,
    ready_every: Duration,
    /// Line mode: the worker's first answer was followed by a quiet settle
    /// period (see [`LINE_SETTLE`]).
    trusted: bool,
    settle: Option<Pin<Box<Sleep>>>,
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
            timer: None,
            timer_armed: false,
            expired: None,
            answered: false,
            registered: false,
            eof: false,
            violation: None,
            stopping: false,
            heard: false,
            // Where unread input cannot be measured, a line worker counts
            // as ready at once (its tasks' clocks start when written).
            ready: config.mode == super::config::Mode::Framed || !super::unread::SUPPORTED,
            start_timeout: config.start_timeout,
            start_deadline: None,
            ready_check: None,
            ready_every: READY_CHECK_FIRST,
            trusted: false,
            settle: None,
            suspects: Vec::new(),
        }
    }

    /// Line mode: the worker's first answers are held until it has been
    /// quiet for [`LINE_SETTLE`].
    fn settling(&self) -> bool {
        !self.trusted
            && self.codec.is_lines()
            && self.reported < self.done.len()
            && self.violation.is_none()
            && !self.eof
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
        if !self.ready && !self.in_flight.is_empty() && self.input_consumed() {
            self.become_ready();
        }
        self.ready
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
        if self.ready {
            return;
        }
        self.ready = true;
        self.start_deadline = None;
        self.ready_check = None;
        if let Some(deadline) = self.timeout.and_then(|t| Instant::now().checked_add(t)) {
            if self.in_flight.set_deadlines(deadline) {
                self.arm(deadline);
            }
        }
    }

    /// Line mode, before the worker is ready: polls whether it has read its
    /// first task; `Some` when the start timeout has passed.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Option<End> {
        if self.ready || self.in_flight.is_empty() {
            return None;
        }
        loop {
            if self.check_ready() {
                return None;
            }
            let now = Instant::now();
            if self.start_deadline.is_some_and(|d| now >= d) {
                return Some(End::NotReady);
            }
            let every = self.ready_every;
            let timer = self
                .ready_check
                .get_or_insert_with(|| Box::pin(sleep_until(now + every)));
            if timer.as_mut().poll(cx).is_pending() {
                return None;
            }
            self.ready_every = (every * 2).min(READY_CHECK_MAX);
            let next = now + self.ready_every;
            let next = self.start_deadline.map_or(next, |d| next.min(d));
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
            if !self.eof && self.violation.is_none() {
                match self.poll_read_some(cx) {
                    Poll::Ready(Ok(0)) => {
                        self.eof = true;
                        self.decode_final();
                        progress = true;
                    }
                    Poll::Ready(Ok(n)) => {
                        let answered = self.done.len();
                        self.codec.feed(self.rbuf.get(..n).unwrap_or_default());
                        self.decode();
                        if self.codec.is_lines()
                            && self.done.len() > answered
                            && self.violation.is_none()
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
            if self.settling() {
                let settle = self
                    .settle
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(LINE_SETTLE)));
                if settle.as_mut().poll(cx).is_pending() {
                    if progress {
                        continue;
                    }
                    return Poll::Pending;
                }
                // Quiet for the whole settle period: in step.
                self.settle = None;
                self.trusted = true;
            }
            if sync || self.reported < self.done.len() {
                let refill = self.violation.is_none() && !self.eof;
                self.stopping = self.sync(cx, shared, refill) == Phase::Stopping;
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
            if let Some(detail) = self.violation.take() {
                return Poll::Ready(End::Violation(detail));
            }
            if self.eof {
                return Poll::Ready(End::Closed);
            }
            if let Some(end) = self.poll_ready(cx) {
                return Poll::Ready(end);
            }
            match self.poll_timer(cx) {
                TimerEvent::Expired => return Poll::Ready(End::TimedOut),
                TimerEvent::Rearmed => progress = true,
                TimerEvent::Idle => {}
            }
            if self.stopping && self.in_flight.is_empty() && self.wpos == self.wbuf.len() {
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
            if !self.eof && self.violation.is_none() {
                match self.poll_read_some(cx) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                        self.eof = true;
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
            if self.eof || self.violation.is_some() {
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
            if self.eof {
                return Poll::Ready(());
            }
            match self.poll_read_some(cx) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => self.eof = true,
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
        if !self.ready {
            // Never read its first task: the task is not to blame.
            self.in_flight.drain_into(&mut uncharged);
            uncharged.append(&mut self.suspects);
        } else if timed_out {
            charged.extend(self.expired.take().and_then(|id| self.in_flight.remove(id)));
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
        while self.violation.is_none() {
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
                    self.violation = Some(detail);
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
                    self.violation = Some(Violation::Unsolicited(other.answer()));
                    break;
                }
            };
            if lines {
                self.become_ready();
            }
            match self.in_flight.remove(id) {
                Some(task) => self.done.push((task, outcome)),
                None => {
                    self.violation = Some(Violation::NotInFlight { id });
                }
            }
        }
    }

    /// At end of output: a line-mode worker's unterminated last line is not
    /// an answer (a result line ends with its newline; a worker that wrote
    /// part of a line and stopped crashed mid-answer), so its task stays in
    /// flight and is dealt with as the worker's end says.
    fn decode_final(&mut self) {
        if self.violation.is_some() {
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
            .filter(|_| self.ready)
            .and_then(|t| now.checked_add(t));
        if !self.ready && self.start_deadline.is_none() && !self.incoming.is_empty() {
            // Too large to represent: no limit.
            self.start_deadline = now.checked_add(self.start_timeout);
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
            if !self.timer_armed {
                self.arm(deadline);
            }
        }
    }

    fn arm(&mut self, deadline: Instant) {
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(deadline),
            None => self.timer = Some(Box::pin(sleep_until(deadline))),
        }
        self.timer_armed = true;
    }

    /// Checks deadlines when the timer fires, and re-arms it for the next.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> TimerEvent {
        if !self.timer_armed {
            return TimerEvent::Idle;
        }
        let Some(timer) = self.timer.as_mut() else {
            return TimerEvent::Idle;
        };
        if timer.as_mut().poll(cx).is_pending() {
            return TimerEvent::Idle;
        }
        self.timer_armed = false;
        let (oldest, next) = self.in_flight.oldest_expired(Instant::now());
        if oldest.is_some() {
            self.expired = oldest;
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
