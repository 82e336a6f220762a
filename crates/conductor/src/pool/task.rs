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
    reply: oneshot::Sender<Outcome>,
}

impl Task {
    /// A new task and the handle its submitter waits on.
    pub fn new(payload: Vec<u8>) -> (Task, TaskHandle) {
        let (reply, rx) = oneshot::channel();
        let task = Task {
            payload,
            attempts: 0,
            holds_permit: false,
            reply,
        };
        (task, TaskHandle { rx })
    }

    /// Delivers the outcome; consumes the task so it happens once. A
    /// submitter that stopped waiting is not an error.
    pub fn resolve(self, outcome: Outcome) {
        let _ = self.reply.send(outcome);
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
    rx: oneshot::Receiver<Outcome>,
}

impl Future for TaskHandle {
    type Output = Result<Vec<u8>, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(outcome)) => Poll::Ready(outcome),
            // The task was dropped unresolved: the pool is gone.
            Poll::Ready(Err(_)) => Poll::Ready(Err(TaskError::ShutDown)),
            Poll::Pending => Poll::Pending,
        }
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
