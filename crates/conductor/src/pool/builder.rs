//! [`PoolBuilder`]: setting a pool up and starting its first workers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::config::{Mode, OpenCircuit, PoolConfig};
use super::error::BuildError;
use super::events::{EventHook, PoolEvent};
use super::monitor::monitor;
use super::state::{HostOf, Shared};
use super::supervisor::{spawn_worker, supervise};
use super::Pool;
use crate::Command;

/// Builder methods that each store their arguments in [`PoolConfig`]
/// fields: `name(arg: Type => field, ...)`, `via Wrap` wrapping the value
/// (e.g. in `Some`).
macro_rules! config_setters {
    ($(
        $(#[$meta:meta])*
        $name:ident($($arg:ident: $ty:ty => $field:ident $(via $wrap:path)?),+);
    )*) => {
        $(
            $(#[$meta])*
            pub fn $name(mut self, $($arg: $ty),+) -> Self {
                $(self.config.$field = $($wrap)?($arg);)+
                self
            }
        )*
    };
}

/// Configures and starts a [`Pool`]. Get one from [`Pool::builder`].
///
/// The factory builds the [`Command`] for each worker process (the first
/// ones and every replacement); the pool sets its stdin, stdout and stderr
/// to pipes and `kill_on_drop(true)`, overriding the factory's choices, and
/// contains each worker's process tree in a process group unless the factory
/// chose a [`Containment`](crate::Containment): stopping a worker stops its tree.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use conductor::{pool::{Mode, Pool}, Command};
///
/// let pool = Pool::builder(|| Command::new("cat"))
///     .mode(Mode::Lines)
///     .workers(2)
///     .queue_capacity(100)
///     .task_timeout(Duration::from_secs(5))
///     .attempts(2)
///     .build()
///     .await?;
/// assert_eq!(pool.submit(b"echo".to_vec()).await?, b"echo");
/// pool.shutdown().await;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until build() is awaited"]
pub struct PoolBuilder {
    config: PoolConfig,
    factory: Box<dyn Fn(usize) -> Command + Send + Sync>,
    events: Option<EventHook>,
    host: Option<HostOf>,
}

impl std::fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PoolBuilder {
    pub(super) fn new<F>(factory: F) -> PoolBuilder
    where
        F: Fn(usize) -> Command + Send + Sync + 'static,
    {
        PoolBuilder {
            config: PoolConfig::default(),
            factory: Box::new(factory),
            events: None,
            host: None,
        }
    }

    /// Replaces every setting at once.
    ///
    /// ```
    /// let mut config = conductor::pool::PoolConfig::default();
    /// config.workers = 3;
    /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("cat")).config(config);
    /// ```
    pub fn config(mut self, config: PoolConfig) -> Self {
        self.config = config;
        self
    }

    config_setters! {
        /// See [`PoolConfig::workers`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("cat")).workers(4);
        /// ```
        workers(workers: usize => workers);

        /// See [`PoolConfig::tasks_per_worker`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).tasks_per_worker(16);
        /// ```
        tasks_per_worker(tasks: usize => tasks_per_worker);

        /// See [`PoolConfig::queue_capacity`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).queue_capacity(64);
        /// ```
        queue_capacity(capacity: usize => queue_capacity);

        /// See [`PoolConfig::task_timeout`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).task_timeout(Duration::from_secs(30));
        /// ```
        task_timeout(timeout: Duration => task_timeout via Some);

        /// See [`PoolConfig::attempts`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).attempts(1);
        /// ```
        attempts(attempts: u32 => attempts);

        /// See [`PoolConfig::start_timeout`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).start_timeout(Duration::from_secs(30));
        /// ```
        start_timeout(timeout: Duration => start_timeout);
    }

    /// The former name of [`start_timeout`](Self::start_timeout).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[allow(deprecated)]
    /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).health_timeout(Duration::from_secs(2));
    /// ```
    #[deprecated(note = "use start_timeout, which also covers line mode")]
    pub fn health_timeout(self, timeout: Duration) -> Self {
        self.start_timeout(timeout)
    }

    config_setters! {
        /// See [`PoolConfig::open_circuit`] and [`OpenCircuit`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// use conductor::pool::{OpenCircuit, Pool};
        /// let _ = Pool::builder(|| conductor::Command::new("w"))
        ///     .open_circuit(OpenCircuit::Hold { give_up_after: Duration::from_secs(30) });
        /// ```
        open_circuit(open_circuit: OpenCircuit => open_circuit);

        /// See [`PoolConfig::shutdown_grace`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).shutdown_grace(Duration::from_secs(1));
        /// ```
        shutdown_grace(grace: Duration => shutdown_grace);

        /// See [`PoolConfig::mode`].
        ///
        /// ```
        /// use conductor::pool::{Mode, Pool};
        /// let _ = Pool::builder(|| conductor::Command::new("cat")).mode(Mode::Lines);
        /// ```
        mode(mode: Mode => mode);

        /// See [`PoolConfig::max_message_len`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).max_message_len(1 << 20);
        /// ```
        max_message_len(len: u32 => max_message_len);

        /// See [`PoolConfig::circuit_threshold`] and [`PoolConfig::startup_window`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).circuit_breaker(3, Duration::from_secs(2));
        /// ```
        circuit_breaker(threshold: u32 => circuit_threshold, startup_window: Duration => startup_window);

        /// See [`PoolConfig::backoff_base`] and [`PoolConfig::backoff_max`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w"))
        ///     .backoff(Duration::from_millis(50), Duration::from_secs(5));
        /// ```
        backoff(base: Duration => backoff_base, max: Duration => backoff_max);

        /// See [`PoolConfig::max_tasks_per_worker`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).max_tasks_per_worker(1000);
        /// ```
        max_tasks_per_worker(tasks: u64 => max_tasks_per_worker via Some);

        /// See [`PoolConfig::max_worker_age`].
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).max_worker_age(Duration::from_secs(3600));
        /// ```
        max_worker_age(age: Duration => max_worker_age via Some);

        /// See [`PoolConfig::worker_mem_soft`] and [`PoolConfig::worker_mem_hard`].
        ///
        /// ```
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w"))
        ///     .worker_memory(Some(500 << 20), Some(1 << 30));
        /// ```
        worker_memory(soft: Option<u64> => worker_mem_soft, hard: Option<u64> => worker_mem_hard);

        /// See [`PoolConfig::monitor_interval`] (`None`: no monitoring).
        ///
        /// ```
        /// # use std::time::Duration;
        /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w")).monitor_interval(Some(Duration::from_millis(250)));
        /// ```
        monitor_interval(interval: Option<Duration> => monitor_interval);
    }

    /// Names the host each slot's workers run on (e.g. an ssh host), for
    /// the `host` field of each worker's `tracing` span; `None` for this
    /// machine.
    ///
    /// ```
    /// let _ = conductor::pool::Pool::builder(|| conductor::Command::new("w"))
    ///     .worker_host(|slot| (slot > 0).then(|| "node2".to_string()));
    /// ```
    pub fn worker_host<F>(mut self, host: F) -> Self
    where
        F: Fn(usize) -> Option<String> + Send + Sync + 'static,
    {
        self.host = Some(Box::new(host));
        self
    }

    /// Calls `hook` for every [`PoolEvent`]: each line a worker writes on
    /// its stderr, each worker replaced. The hook runs on the pool's tasks:
    /// it must be quick and must not block.
    ///
    /// ```
    /// use conductor::pool::{Pool, PoolEvent};
    /// let _ = Pool::builder(|| conductor::Command::new("w")).on_event(|event| {
    ///     if let PoolEvent::WorkerStderr { worker, line, .. } = event {
    ///         eprintln!("[worker {worker}] {}", String::from_utf8_lossy(&line));
    ///     }
    /// });
    /// ```
    pub fn on_event<F>(mut self, hook: F) -> Self
    where
        F: Fn(PoolEvent) + Send + Sync + 'static,
    {
        self.events = Some(std::sync::Arc::new(hook));
        self
    }

    /// Starts the pool: spawns every worker, then waits until each has
    /// passed its health check or failed it (failed workers are replaced in
    /// the background, so the pool may start degraded).
    ///
    /// Fails on an invalid configuration, outside a tokio runtime, or if a
    /// first worker cannot be spawned at all (e.g. the program does not
    /// exist).
    ///
    /// # Errors
    ///
    /// [`BuildError`] when the configuration is invalid, or when the first
    /// worker cannot be spawned at all.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use conductor::pool::{BuildError, Pool};
    /// let err = Pool::builder(|| conductor::Command::new("/no/such/worker")).build().await.unwrap_err();
    /// assert!(matches!(err, BuildError::Spawn(_)));
    /// # }
    /// ```
    pub async fn build(self) -> Result<Pool, BuildError> {
        self.config.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BuildError::NoRuntime);
        }
        let mut shared = Shared::new(self.config, self.factory);
        shared.events = self.events;
        shared.host = self.host;
        let shared = Arc::new(shared);
        let mut children = Vec::with_capacity(shared.config.workers);
        for slot in 0..shared.config.workers {
            // On error the workers already spawned are killed on drop.
            let child = match spawn_worker(&shared, slot) {
                Err(err) if slot == 0 && shared.kernel_limits_memory() => {
                    // No usable memory controller: the monitor enforces the
                    // hard limit by sampling instead.
                    tracing::warn!(
                        "the kernel cannot enforce the workers' memory hard limit ({err}); \
                         enforcing it by sampling"
                    );
                    shared.kernel_mem_limit.store(false, Ordering::Relaxed);
                    spawn_worker(&shared, slot)?
                }
                other => other?,
            };
            children.push(child);
        }
        let mut supervisors = Vec::with_capacity(children.len());
        let mut started = Vec::with_capacity(children.len());
        for (slot, child) in children.into_iter().enumerate() {
            let (tx, rx) = oneshot::channel::<()>();
            started.push(rx);
            supervisors.push(tokio::spawn(supervise(
                shared.clone(),
                slot,
                Some(child),
                Some(tx),
            )));
        }
        let monitor = shared
            .config
            .monitor_interval
            .map(|every| tokio::spawn(monitor(shared.clone(), every)));
        // Built before waiting, so that dropping this future stops the workers.
        let pool = Pool::new(shared, supervisors, monitor);
        for rx in started {
            let _ = rx.await;
        }
        Ok(pool)
    }
}
