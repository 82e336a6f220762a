//! Running many tasks: [`Results`], the ordered result stream behind
//! [`Pool::map`] and [`Pool::run_all`].
//!
//! It keeps a window of tasks submitted ahead (the queue capacity plus
//! what the workers can hold), submitting more without waiting whenever a
//! result is taken, so the queue stays fed; results come out in input
//! order. Without the `futures` crate there is no `Stream` trait to
//! implement, so it offers an async [`Results::next`] instead.

use std::collections::VecDeque;

use super::error::TaskError;
use super::state::Offer;
use super::task::TaskHandle;
use super::Pool;

/// The results of [`Pool::map`], in input order.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use conductor::{pool::{Mode, Pool}, Command};
/// let pool = Pool::builder(|| Command::new("cat")).workers(2).mode(Mode::Lines).build().await?;
/// let mut results = pool.map((0..5).map(|i| format!("task {i}").into_bytes()));
/// let mut n = 0;
/// while let Some(result) = results.next().await {
///     assert_eq!(result?, format!("task {n}").into_bytes());
///     n += 1;
/// }
/// assert_eq!(n, 5);
/// pool.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "results do nothing unless polled with next()"]
pub struct Results<'a, I> {
    pool: &'a Pool,
    inputs: I,
    /// An input the queue had no room for yet.
    waiting: Option<Vec<u8>>,
    pending: VecDeque<TaskHandle>,
    window: usize,
}

impl<'a, I> Results<'a, I>
where
    I: Iterator,
    I::Item: Into<Vec<u8>>,
{
    pub(super) fn new(pool: &'a Pool, inputs: I) -> Self {
        let config = &pool.shared().config;
        let window = config
            .queue_capacity
            .saturating_add(config.workers.saturating_mul(config.in_flight_limit()));
        Results {
            pool,
            inputs,
            waiting: None,
            pending: VecDeque::new(),
            window,
        }
    }

    /// The next result in input order, or `None` after the last.
    ///
    /// Cancel-safe: dropping the returned future loses no task or result.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).workers(1).mode(Mode::Lines).build().await?;
    /// let mut results = pool.map(["only"]);
    /// assert_eq!(results.next().await.transpose()?, Some(b"only".to_vec()));
    /// assert_eq!(results.next().await, None);
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<Result<Vec<u8>, TaskError>> {
        loop {
            self.top_up();
            if let Some(front) = self.pending.front_mut() {
                let result = front.await;
                self.pending.pop_front();
                return Some(result);
            }
            // Nothing of ours in flight and the queue is full of other
            // submitters' tasks: wait for room (the input stays put).
            self.waiting.as_ref()?;
            let shared = self.pool.shared();
            let permit = shared.queue_space.acquire().await;
            let Some(payload) = self.waiting.take() else {
                continue;
            };
            let handle = match permit {
                Ok(permit) => match shared.offer(payload, Some(permit)) {
                    Offer::Placed(handle) => handle,
                    Offer::Refused(err) => TaskHandle::failed(err),
                    // Unreachable with a permit; try again.
                    Offer::Full(payload) => {
                        self.waiting = Some(payload);
                        continue;
                    }
                },
                Err(_) => TaskHandle::failed(TaskError::ShutDown),
            };
            self.pending.push_back(handle);
        }
    }

    /// Submits inputs without waiting while the window and the queue have room.
    fn top_up(&mut self) {
        while self.pending.len() < self.window {
            let Some(payload) = self
                .waiting
                .take()
                .or_else(|| self.inputs.next().map(Into::into))
            else {
                return;
            };
            match self.pool.shared().offer(payload, None) {
                Offer::Placed(handle) => self.pending.push_back(handle),
                Offer::Refused(err) => self.pending.push_back(TaskHandle::failed(err)),
                Offer::Full(payload) => {
                    self.waiting = Some(payload);
                    return;
                }
            }
        }
    }
}
