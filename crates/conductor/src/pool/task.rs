//! One submitted task and the caller's handle on its outcome.
//!
//! A [`Task`] owns the only sender of its outcome and [`Task::resolve`]
//! consumes the task, so a task can be resolved at most once; a task dropped
//! unresolved (only when the pool itself is dropped) resolves its handle as
//! [`TaskError::ShutDown`]. Between submission and resolution a task is in
//! exactly one place: the pool queue, a worker slot's inbox, or one worker
//! connection's in-flight table.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::error::TaskError;

/// A task's outcome: the worker's result bytes or why there are none.
pub(super) type Outcome = Result<Vec<u8>, TaskError>;

/// A task owned by the pool until it is resolved.
#[derive(Debug)]
pub(super) struct Task {
    /// The task body, kept until resolution so the task can be retried.
    pub payload: Vec<u8>,
    /// Attempts charged so far (ended by a worker death, protocol
    /// violation or timeout under this task).
    pub attempts: u32,
    /// Whether this task holds one of the queue's capacity permits (taken
    /// when a new task enters the queue, returned when it leaves it).
    pub holds_permit: bool,
    /// Times the task was sent to a worker.
    pub runs: u32,
    /// The worker slot it was last sent to.
    pub worker: Option<usize>,
    /// A suspect: it was in flight beside others on a worker that died, so
    /// it runs alone on a worker until it resolves (a death is then its own).
    pub isolate: bool,
    submitted: Instant,
    reply: oneshot::Sender<(Outcome, TaskInfo)>,
}

/// How a task went, beside its outcome: see [`TaskHandle::report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskInfo {
    /// Times the task was sent to a worker (1 unless it was retried; 0 if it
    /// never reached one).
    pub runs: u32,
    /// The worker slot (0-based) that ran it last, if any.
    pub worker: Option<usize>,
    /// From submission to resolution.
    pub elapsed: Duration,
}

/// A task's outcome with how it went, from [`TaskHandle::report`].
#[derive(Debug)]
pub struct TaskReport {
    /// The worker's result, or why there is none.
    pub result: Result<Vec<u8>, TaskError>,
    /// Runs, worker and time taken.
    pub info: TaskInfo,
}

impl Task {
    /// A new task and the handle its submitter waits on.
    pub fn new(payload: Vec<u8>) -> (Task, TaskHandle) {
        let (reply, rx) = oneshot::channel();
        let task = Task {
            payload,
            attempts: 0,
            holds_permit: false,
            runs: 0,
            worker: None,
            isolate: false,
            submitted: Instant::now(),
            reply,
        };
        (task, TaskHandle { rx })
    }

    /// Time since it was submitted.
    pub fn age(&self) -> Duration {
        self.submitted.elapsed()
    }

    /// Delivers the outcome; consumes the task so it happens once. A
    /// submitter that stopped waiting is not an error.
    pub fn resolve(self, outcome: Outcome) {
        let info = TaskInfo {
            runs: self.runs,
            worker: self.worker,
            elapsed: self.submitted.elapsed(),
        };
        let _ = self.reply.send((outcome, info));
    }
}

/// The outcome of one task submitted with [`Pool::enqueue`](super::Pool::enqueue):
/// a future resolving to the worker's result or a [`TaskError`].
///
/// It does not borrow the pool and may be moved to another task. Dropping
/// it does not cancel the task; the result is discarded.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conductor::{pool::{Mode, Pool}, Command};
/// let pool = Pool::builder(|| Command::new("cat")).workers(1).mode(Mode::Lines).build().await?;
/// let handle = pool.enqueue(b"hello".to_vec()).await?;
/// assert_eq!(handle.await?, b"hello");
/// pool.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a task handle does nothing unless awaited"]
pub struct TaskHandle {
    rx: oneshot::Receiver<(Outcome, TaskInfo)>,
}

impl Future for TaskHandle {
    type Output = Result<Vec<u8>, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_report(cx).map(|r| r.result)
    }
}

impl TaskHandle {
    fn poll_report(&mut self, cx: &mut Context<'_>) -> Poll<TaskReport> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok((result, info))) => Poll::Ready(TaskReport { result, info }),
            // The task was dropped unresolved: the pool is gone.
            Poll::Ready(Err(_)) => Poll::Ready(TaskReport {
                result: Err(TaskError::ShutDown),
                info: TaskInfo {
                    runs: 0,
                    worker: None,
                    elapsed: Duration::ZERO,
                },
            }),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits for the outcome together with how the task went (runs, worker,
    /// time taken).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).workers(1).mode(Mode::Lines).build().await?;
    /// let report = pool.enqueue(b"hi".to_vec()).await?.report().await;
    /// assert_eq!(report.result?, b"hi");
    /// assert_eq!((report.info.runs, report.info.worker), (1, Some(0)));
    /// pool.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn report(mut self) -> TaskReport {
        std::future::poll_fn(|cx| self.poll_report(cx)).await
    }
}

impl TaskHandle {
    /// An already-failed handle, for tasks refused before reaching the pool.
    pub(super) fn failed(err: TaskError) -> TaskHandle {
        let (task, handle) = Task::new(Vec::new());
        task.resolve(Err(err));
        handle
    }
}
