//! A pool of long-lived worker processes that run tasks: bytes in, bytes
//! out, over the workers' stdin and stdout.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use conductor::{pool::{Mode, Pool}, Command};
//!
//! // Four `cat` processes in line mode: one line in, one line out.
//! let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(4).build().await?;
//! assert_eq!(pool.submit(b"hello".to_vec()).await?, b"hello");
//! let inputs: Vec<Vec<u8>> = (0..100).map(|i| i.to_string().into_bytes()).collect();
//! let results = pool.run_all(inputs.clone()).await;
//! assert!(results.into_iter().map(Result::unwrap).eq(inputs));
//! pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Workers speak the frame protocol of [`crate::protocol`] ([`Mode::Framed`],
//! e.g. with [`crate::worker::serve`] or `examples/python/conductor_worker.py`),
//! or are plain line filters ([`Mode::Lines`]).
//!
//! # Guarantees
//!
//! * Every submitted task resolves exactly once, with its result or a
//!   [`TaskError`], whatever the workers do: crash, hang, exit, close their
//!   output, write garbage or oversized frames, answer twice or with an
//!   unknown id. A worker that breaks the protocol is killed and replaced.
//! * A crashed worker is noticed as soon as the kernel reports its exit
//!   (each worker's supervisor awaits its exit alongside its output) and is
//!   replaced; its in-flight tasks are retried on another worker process
//!   (its replacement or another slot) up to the attempt limit
//!   ([`PoolConfig::attempts`]). A death with one task in flight uses up one
//!   of that task's attempts. A death with several in flight charges none
//!   of them, since any could be the cause: each is retried alone on a
//!   worker (nothing else in flight beside it), so a poison task alone
//!   exhausts its attempts and the innocent tasks beside it succeed.
//! * Workers that keep failing at start-up open a circuit breaker: tasks
//!   then fail fast with [`TaskError::Degraded`], or wait in the queue for
//!   a bounded time ([`OpenCircuit::Hold`]), while the pool keeps trying
//!   (with capped exponential backoff) and recovers by itself.
//! * Start-up is not work: a worker has
//!   [`start_timeout`](PoolConfig::start_timeout) to become ready, a task's
//!   timeout clock starts once its worker is ready, and a task held by a
//!   worker that never became ready is retried without being charged.
//! * Workers never outlive the pool's process: on Linux each worker gets a
//!   parent-death signal (SIGKILL; see
//!   [`CommandExt::parent_death_signal`](crate::unix::CommandExt::parent_death_signal)),
//!   so they die with conductor however it dies, SIGKILL included. That
//!   signal reaches the worker only, not the processes the worker started;
//!   what happens to those depends on the worker's containment:
//!   - process group (the default): stopping a worker (replacement, timeout,
//!     [`Pool::kill`], shutdown, dropping the pool) kills the whole group.
//!     If conductor itself is killed with SIGKILL nobody kills the group:
//!     the worker dies of its death signal, but its children survive
//!     (re-parented) unless they exit on their own, e.g. on the end of
//!     their input or on SIGPIPE once conductor's pipes are gone. A child
//!     that calls `setsid` or changes its group leaves the group and is
//!     not stopped with it.
//!   - cgroup ([`Containment::Cgroup`](crate::Containment::Cgroup), chosen
//!     by the command factory): stopping a worker kills every process in its
//!     cgroup, `setsid` or not, and conductor removes the cgroup. After a
//!     SIGKILL of conductor, that clean-up does not run: the worker dies of
//!     its death signal, its children survive in the cgroup as above.
//!   - session ([`Containment::Session`](crate::Containment::Session)):
//!     as a process group.
//!
//!   For a tree that must die with conductor even on SIGKILL, have the
//!   worker set a death signal on its own children too (e.g. `prctl` in
//!   the worker, or a wrapper that does).
//! * Worker stderr goes to `tracing` (target `conductor::pool::worker`), one
//!   event per line, and to the hook set with [`PoolBuilder::on_event`]
//!   ([`PoolEvent::WorkerStderr`]), never into results.
//! * [`Pool::stop_dispatch`] starts nothing more: queued tasks resolve as
//!   [`TaskError::NotRun`], tasks already on a worker run to their end.
//! * [`Pool::shutdown`] finishes every accepted task, then stops the
//!   workers (Shutdown frame or closed stdin, then SIGTERM, then SIGKILL)
//!   and reaps them. Dropping the last [`Pool`] handle without shutting
//!   down kills the workers.
//!
//! # Layout
//!
//! | File | Owns |
//! |---|---|
//! | `config.rs` | [`PoolConfig`], [`Mode`]: settings, defaults, validation |
//! | `builder.rs` | [`PoolBuilder`]: starting the pool |
//! | `error.rs` | [`TaskError`], [`BuildError`] |
//! | `task.rs` | a task and its one-shot outcome, [`TaskHandle`] |
//! | `state.rs` | the shared state: queue, slots, placement and retry rules |
//! | `breaker.rs` | the circuit breaker |
//! | `inflight.rs` | one connection's in-flight table (wire ids, deadlines) |
//! | `codec.rs` | frame and line encoding/decoding for the pool side |
//! | `conn.rs` | one worker connection's I/O loop |
//! | `unread.rs` | how much of a worker's input it has not read yet |
//! | `supervisor.rs` | one slot's worker life cycle: spawn, health, run, replace |
//! | `stop.rs` | ending workers: `stop_worker`, graceful shutdown |
//! | `stderr.rs` | stderr to `tracing` |
//! | `stats.rs` | [`PoolStats`] |
//! | `events.rs` | [`PoolEvent`], [`RespawnCause`], [`RespawnCounts`] |
//! | `map.rs` | [`Results`]: many tasks, ordered results |
//! | `monitor.rs` | sampling each worker tree's memory, CPU and descriptors |
//! | `latency.rs` | the task latency histogram, [`LatencyStats`] |
//! | `metrics.rs` | [`PoolStats::prometheus`]: the Prometheus text format |
//!
//! # Recycling, limits and monitoring
//!
//! A worker is *recycled* after [`PoolConfig::max_tasks_per_worker`] tasks,
//! at [`PoolConfig::max_worker_age`], when its tree's memory goes over
//! [`PoolConfig::worker_mem_soft`], or by [`Pool::restart_workers`]: it
//! takes no new task, its replacement is spawned at once, and once it has
//! answered the tasks it holds it is shut down (as at pool shutdown) and the
//! replacement takes its slot. Nothing fails and no attempt is used up.
//! Over [`PoolConfig::worker_mem_hard`] a worker is killed (OOM) and its
//! tasks are retried as after a crash. Each worker span in `tracing`
//! (`worker`, with `slot`, `pid` and `host`) covers the worker's life, and
//! each respawn is an event with its cause.

mod breaker;
mod builder;
mod codec;
mod config;
mod conn;
mod error;
mod events;
mod inflight;
mod latency;
mod map;
mod metrics;
mod monitor;
mod size;
mod state;
mod stats;
mod stderr;
mod stop;
mod supervisor;
mod task;
mod unread;

use std::sync::Arc;

use tokio::task::{AbortHandle, JoinHandle};

pub use builder::PoolBuilder;
pub use config::{Mode, OpenCircuit, PoolConfig};
pub use error::{Answer, BuildError, ConfigError, StartFailure, TaskError, Violation};
pub use events::{PoolEvent, RespawnCause, RespawnCounts};
pub use map::Results;
pub use size::ByteSize;
pub use stats::{LatencyStats, PoolStats, WorkerStats};
pub use task::{TaskHandle, TaskInfo, TaskReport};

use state::{Offer, Shared};

/// A handle to a running worker pool. Cheap to clone; all clones share the
/// pool. The workers are killed when the last handle is dropped, unless
/// [`shutdown`](Pool::shutdown) was awaited first.
///
/// See the [module documentation](self) for an example.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    supervisors: tokio::sync::Mutex<Vec<JoinHandle<()>>>,
    aborts: Vec<AbortHandle>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Dropping the supervisors drops their children, which are killed
        // (kill_on_drop) and reaped in the background; tasks still held are
        // dropped, which resolves their handles as `ShutDown`.
        for abort in &self.aborts {
            abort.abort();
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("config", &self.inner.shared.config)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Starts configuring a pool whose workers run the command `factory`
    /// builds (called once per worker process, including replacements).
    ///
    /// ```
    /// use conductor::{pool::Pool, Command};
    /// let builder = Pool::builder(|| {
    ///     let mut cmd = Command::new("python3");
    ///     cmd.arg("worker.py").env("PYTHONUNBUFFERED", "1");
    ///     cmd
    /// });
    /// # let _ = builder;
    /// ```
    pub fn builder<F>(factory: F) -> PoolBuilder
    where
        F: Fn() -> crate::Command + Send + Sync + 'static,
    {
        PoolBuilder::new(move |_slot| factory())
    }

    /// Like [`Pool::builder`], but the factory is told which worker slot
    /// (0-based, below [`PoolConfig::workers`])
    /// the process is for, so that slots can run different commands: e.g.
    /// slot 0 on this machine and slots 1 and 2 through `ssh` on another.
    /// A slot keeps its number across respawns.
    ///
    /// ```
    /// use conductor::{pool::Pool, Command};
    /// let builder = Pool::builder_per_slot(|slot| {
    ///     let mut cmd = Command::new("cat");
    ///     if slot > 0 {
    ///         cmd = Command::new("ssh");
    ///         cmd.args(["other-host", "cat"]);
    ///     }
    ///     cmd
    /// })
    /// .workers(3);
    /// # let _ = builder;
    /// ```
    pub fn builder_per_slot<F>(factory: F) -> PoolBuilder
    where
        F: Fn(usize) -> crate::Command + Send + Sync + 'static,
    {
        PoolBuilder::new(factory)
    }

    fn new(
        shared: Arc<Shared>,
        supervisors: Vec<JoinHandle<()>>,
        monitor: Option<JoinHandle<()>>,
    ) -> Pool {
        let aborts = supervisors
            .iter()
            .chain(&monitor)
            .map(JoinHandle::abort_handle)
            .collect();
        Pool {
            inner: Arc::new(Inner {
                shared,
                supervisors: tokio::sync::Mutex::new(supervisors),
                aborts,
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The pool's settings.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(1).build().await?;
    /// assert_eq!(pool.config().workers, 1);
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &PoolConfig {
        &self.shared().config
    }

    /// Runs one task and returns its result. Waits for room in the queue
    /// first if it is full. Dropping the future before the task was handed
    /// over submits nothing; dropping it later does not cancel the task
    /// (its result is discarded).
    ///
    /// # Errors
    ///
    /// [`TaskError`]: the pool is shut down, the task timed out, its worker failed it or
    /// crashed more often than the retries allow, or the worker broke the protocol.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool, TaskError}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(1).build().await?;
    /// assert_eq!(pool.submit("abc").await?, b"abc");
    /// // Line mode cannot carry a newline inside a task.
    /// assert!(matches!(pool.submit("a\nb").await, Err(TaskError::Invalid(_))));
    /// pool.shutdown().await;
    /// assert_eq!(pool.submit("late").await, Err(TaskError::ShutDown));
    /// # Ok(()) }
    /// ```
    pub async fn submit(&self, payload: impl Into<Vec<u8>>) -> Result<Vec<u8>, TaskError> {
        self.enqueue(payload).await?.await
    }

    /// Hands a task to the pool (waiting for room in the queue if it is
    /// full) and returns a handle on its outcome, without waiting for it.
    /// Use it to have many tasks in flight from one async task.
    ///
    /// Cancel-safe: if the returned future is dropped before it completes,
    /// the task was not submitted.
    ///
    /// # Errors
    ///
    /// [`TaskError`] when the pool refuses the task ([`TaskError::ShutDown`], or
    /// [`TaskError::Invalid`] for a payload it cannot send); the task's own failure comes
    /// through the handle.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(2).build().await?;
    /// let a = pool.enqueue("a").await?;
    /// let b = pool.enqueue("b").await?;
    /// assert_eq!((b.await?, a.await?), (b"b".to_vec(), b"a".to_vec()));
    /// # Ok(()) }
    /// ```
    pub async fn enqueue(&self, payload: impl Into<Vec<u8>>) -> Result<TaskHandle, TaskError> {
        let shared = self.shared();
        let mut payload = payload.into();
        let mut permit = None;
        loop {
            match shared.offer(payload, permit.take()) {
                Offer::Placed(handle) => return Ok(handle),
                Offer::Refused(err) => return Err(err),
                Offer::Full(back) => {
                    payload = back;
                    let acquired = shared.queue_space.acquire().await;
                    permit = Some(acquired.map_err(|_| TaskError::ShutDown)?);
                }
            }
        }
    }

    /// Runs a task per input, keeping the queue fed, and yields the results
    /// in input order (see [`Results`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(2).build().await?;
    /// let mut results = pool.map(["x", "y"]);
    /// assert_eq!(results.next().await.transpose()?, Some(b"x".to_vec()));
    /// assert_eq!(results.next().await.transpose()?, Some(b"y".to_vec()));
    /// assert!(results.next().await.is_none());
    /// # Ok(()) }
    /// ```
    pub fn map<I>(&self, inputs: I) -> Results<'_, I::IntoIter>
    where
        I: IntoIterator,
        I::Item: Into<Vec<u8>>,
    {
        Results::new(self, inputs.into_iter())
    }

    /// Runs a task per input and returns all results, in input order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(3).build().await?;
    /// let results = pool.run_all((0..10).map(|i| vec![b'a' + i])).await;
    /// assert_eq!(results.len(), 10);
    /// assert_eq!(results[9].as_deref(), Ok(&b"j"[..]));
    /// # Ok(()) }
    /// ```
    pub async fn run_all<I>(&self, inputs: I) -> Vec<Result<Vec<u8>, TaskError>>
    where
        I: IntoIterator,
        I::Item: Into<Vec<u8>>,
    {
        let inputs = inputs.into_iter();
        let mut out = Vec::with_capacity(inputs.size_hint().0);
        let mut results = self.map(inputs);
        while let Some(result) = results.next().await {
            out.push(result);
        }
        out
    }

    /// A snapshot of the pool's counters and workers.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(2).build().await?;
    /// let stats = pool.stats();
    /// assert_eq!(stats.healthy_workers, 2);
    /// assert!(stats.workers.iter().all(|w| w.pid.is_some()));
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> PoolStats {
        self.shared().stats()
    }

    /// Shuts the pool down gracefully and waits until it is done: new
    /// tasks are refused with [`TaskError::ShutDown`], every accepted task
    /// still runs to its outcome, then each worker gets a Shutdown frame
    /// (frame mode) or its stdin closed (line mode), and is sent SIGTERM
    /// then SIGKILL if it has not exited within
    /// [`shutdown_grace`](PoolConfig::shutdown_grace) each time. Every
    /// worker is reaped and every pipe closed when this returns. Calling it
    /// again (from any clone) waits for the same shutdown.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(2).build().await?;
    /// let pending = pool.enqueue("last").await?;
    /// pool.shutdown().await;
    /// assert_eq!(pending.await?, b"last");
    /// assert_eq!(pool.stats().healthy_workers, 0);
    /// # Ok(()) }
    /// ```
    pub async fn shutdown(&self) {
        self.shared().begin_shutdown();
        let mut supervisors = self.inner.supervisors.lock().await;
        for supervisor in supervisors.drain(..) {
            // A supervisor only ends by returning; an error would mean it
            // panicked, which the pool survives (its tasks are dropped,
            // resolving their handles as ShutDown).
            if let Err(err) = supervisor.await {
                tracing::error!("worker supervisor failed: {err}");
            }
        }
    }

    /// Rolling restart: replaces every worker, one slot at a time, e.g. to
    /// pick up a new worker binary or configuration (the command factory is
    /// called again for each replacement). Each worker is recycled: it
    /// takes no new task, its replacement is spawned at once, it finishes
    /// the tasks it holds and is shut down; the next slot starts once the
    /// replacement is healthy. No task fails or uses up an attempt. Returns
    /// the number of workers replaced (slots without a healthy worker are
    /// skipped: they are being restarted anyway); returns early if the pool
    /// stops.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(2).build().await?;
    /// let before: Vec<_> = pool.stats().workers.iter().map(|w| w.pid).collect();
    /// assert_eq!(pool.restart_workers().await, 2);
    /// let stats = pool.stats();
    /// assert_eq!(stats.respawn_causes.restart, 2);
    /// assert!(stats.workers.iter().zip(before).all(|(w, old)| w.pid != old));
    /// assert_eq!(pool.submit("still here").await?, b"still here");
    /// # Ok(()) }
    /// ```
    pub async fn restart_workers(&self) -> usize {
        let shared = self.shared();
        let mut replaced = 0;
        for slot in 0..shared.config.workers {
            let changed = shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let Some(spawns) = shared.retire(slot, RespawnCause::Restart) else {
                continue;
            };
            while !shared.replaced(slot, spawns) {
                changed.as_mut().await;
                changed.set(shared.changed.notified());
                changed.as_mut().enable();
            }
            if shared.stopping() {
                break;
            }
            replaced += 1;
        }
        replaced
    }

    /// Stops starting tasks, without stopping the pool: tasks still queued
    /// (or assigned to a worker but not yet sent to it) resolve at once as
    /// [`TaskError::NotRun`] and new ones are refused with it, while tasks
    /// already on a worker run to their end (a task whose worker is lost is
    /// not retried). Follow with [`shutdown`](Pool::shutdown) to wait for
    /// them and stop the workers. This is what a first Ctrl-C does in
    /// `conductor pool`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool, TaskError}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(1).build().await?;
    /// pool.stop_dispatch();
    /// assert_eq!(pool.submit("late").await, Err(TaskError::NotRun));
    /// pool.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn stop_dispatch(&self) {
        self.shared().stop_dispatch();
    }

    /// Stops the pool at once: new submissions are refused, every worker's
    /// process tree is killed (SIGKILL) and reaped in the background, and
    /// every task not yet resolved, in flight or queued, resolves as
    /// [`TaskError::ShutDown`]. Afterwards [`stats`](Pool::stats) shows no
    /// healthy worker and nothing queued or in flight.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use conductor::{pool::{Mode, Pool, TaskError}, Command};
    /// let pool = Pool::builder(|| Command::new("cat")).mode(Mode::Lines).workers(2).build().await?;
    /// pool.kill().await;
    /// assert!(matches!(pool.submit("late").await, Err(TaskError::ShutDown)));
    /// # Ok(()) }
    /// ```
    pub async fn kill(&self) {
        self.shared().begin_shutdown();
        for abort in &self.inner.aborts {
            abort.abort();
        }
        let mut supervisors = self.inner.supervisors.lock().await;
        for supervisor in supervisors.drain(..) {
            // Cancelled: its future, and with it the worker's Child, was
            // dropped, which kills the worker's tree (kill_on_drop).
            let _ = supervisor.await;
        }
        self.shared().kill_all();
    }
}
