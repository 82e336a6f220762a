//! conductor: spawn, supervise and talk to child processes.
//!
//! The API mirrors `std::process` (port code by changing an import) and is
//! async-first on tokio, with a [`blocking`] twin that needs no runtime.
//!
//! - Safe by default: no shell unless you run one, no descriptor leaks (a child
//!   gets exactly 0, 1, 2 plus what you pass), no zombies (dropped children are
//!   reaped in the background), exec errors returned by `spawn()`.
//! - Fast: on Linux every spawn is a `clone3(CLONE_VM | CLONE_VFORK)` (never a
//!   fork of the parent's memory), with a pidfd obtained atomically
//!   (`CLONE_PIDFD`) and exits observed through the reactor.
//! - The same API on Windows: `CreateProcessW` with an explicit list of
//!   inherited handles, exact argument quoting and safe batch files
//!   ([`winargs`]), Job Objects for trees, waits registered with the thread
//!   pool; Windows-only options are in the `windows` module (on Windows
//!   builds), Unix-only ones in the `unix` module (on Unix builds).
//!
//! # A tour
//!
//! Spawn, capture, check the status, as with `std::process`:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), conductor::Error> {
//! use conductor::{Command, Stdio};
//! let mut child = Command::new("sh").args(["-c", "echo hi; exit 3"]).stdout(Stdio::piped()).spawn()?;
//! let out = child.wait_with_output().await?;
//! assert_eq!(out.stdout, b"hi\n");
//! assert_eq!(out.status.code(), Some(3));
//! # Ok(()) }
//! ```
//!
//! Feed stdin while collecting stdout and stderr, without a deadlock at any
//! size ([`Child::communicate`]):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), conductor::Error> {
//! use conductor::{Command, Stdio};
//! let child = Command::new("sort")
//!     .stdin(Stdio::piped())
//!     .stdout(Stdio::piped())
//!     .spawn()?;
//! let out = child.communicate(b"pear\napple\n").await?;
//! assert_eq!(out.stdout, b"apple\npear\n");
//! # Ok(()) }
//! ```
//!
//! A whole process tree under a timeout: the tree is held together
//! ([`Containment`]: a cgroup v2 where usable, else a process group), and on
//! timeout every member gets SIGTERM, then SIGKILL after the grace; the error
//! still carries the output so far:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), conductor::Error> {
//! use conductor::{Command, Containment};
//! use std::time::Duration;
//! let res = Command::new("sh")
//!     .args(["-c", "echo started; sleep 300 & sleep 300"])
//!     .containment(Containment::BestAvailable)
//!     .timeout(Duration::from_millis(200))
//!     .grace(Duration::from_secs(1))
//!     .capture_limit(16 << 20) // keep at most 16 MiB per stream
//!     .output()
//!     .await;
//! let err = res.unwrap_err();
//! assert!(err.is_timeout());
//! assert_eq!(err.partial_output().unwrap().stdout, b"started\n");
//! # Ok(()) }
//! ```
//!
//! The same tree control by hand: signal the whole tree, stop it gracefully,
//! wait until every member is gone:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), conductor::Error> {
//! use conductor::{Command, Containment};
//! use std::time::Duration;
//! let mut child = Command::new("sh")
//!     .args(["-c", "sleep 300 & sleep 300 & wait"])
//!     .containment(Containment::ProcessGroup)
//!     .spawn()?;
//! child.signal_tree(libc::SIGCONT)?;
//! let status = child.terminate(Duration::from_secs(2)).await?;
//! assert_eq!(status.signal(), Some(libc::SIGTERM));
//! # Ok(()) }
//! ```
//!
//! A [`pool`] of persistent workers: tasks in, results out, crashed workers
//! replaced and their tasks retried:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use conductor::pool::{Mode, Pool};
//! use conductor::Command;
//! use std::time::Duration;
//! let pool = Pool::builder(|| {
//!         let mut cmd = Command::new("sed");
//!         cmd.args(["-u", "s/$/!/"]);
//!         cmd
//!     })
//!     .mode(Mode::Lines) // one line in, one line out
//!     .workers(2)
//!     .task_timeout(Duration::from_secs(10))
//!     .build()
//!     .await?;
//! let results = pool.run_all((1..=3).map(|i| i.to_string().into_bytes())).await;
//! let results: Vec<Vec<u8>> = results.into_iter().collect::<Result<_, _>>()?;
//! assert_eq!(results, [b"1!".to_vec(), b"2!".to_vec(), b"3!".to_vec()]);
//! pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Workers may also speak the length-prefixed frame protocol ([`protocol`],
//! [`worker::serve`], `examples/python/conductor_worker.py`), several tasks in
//! flight each. [`blocking`] has the same process API without a runtime;
//! `unix::CommandExt` and `windows::CommandExt` add each platform's options,
//! and `unix::SignalListener` serves supervisors that forward signals.
//!
//! # Features
//!
//! All on by default: `engine` (the process API: [`Command`], [`Child`],
//! [`blocking`], pipelines, ptys, jobs; tokio), `pool` (worker pools),
//! `protocol` and `worker` (the frame protocol and [`worker::serve`], std and
//! thiserror only). A worker program written in Rust needs only the last:
//! `conductor = { version = "0.1", default-features = false, features = ["worker"] }`.
//!
//! # Porting from std and tokio
//!
//! Code written against `std::process` compiles against
//! [`blocking`] by changing the `use` lines (`std::process::{Command, Output,
//! Stdio}` becomes `conductor::blocking::Command` and `conductor::{Output,
//! Stdio}`; `std::os::unix::process::CommandExt` becomes
//! [`unix::CommandExt`]); code written against `tokio::process` compiles
//! against [`Command`] likewise (tests/std_parity.rs and tests/tokio_parity.rs
//! compile one body against both). [`ExitStatus`] prints and debug-prints as
//! std's does, [`Output`] has std's three fields, `Command` debug-prints as
//! std's, the child inherits the spawning thread's signal mask, and errors
//! convert into `io::Error` keeping `kind()` and `raw_os_error()`.
//!
//! What still differs, and why:
//! - `std::process::Stdio` does not convert into [`Stdio`]: std keeps what
//!   it holds private. Import `conductor::Stdio` (std's `File`, `OwnedFd`,
//!   `io::Stdout`/`Stderr`, `io::PipeReader`/`PipeWriter` and a std child's
//!   pipes all convert).
//! - The async [`Child::id`] is std's `u32`, not tokio's `Option<u32>`:
//!   conductor keeps the child's pid (or pidfd) until the handle is dropped,
//!   so the id stays meaningful after `wait`.
//! - The async pipes convert into [`Stdio`] with `From` (tokio: `TryInto`
//!   with `io::Error`): `.try_into()?` compiles where the error type is
//!   [`Error`], not where it is `io::Error` (use `.into()` there).
//! - Functions return [`Error`], not `io::Error`: it names the program and the
//!   step that failed; `?` converts it where an `io::Result` is expected.
//! - An unsuccessful exit is an error only when asked ([`Command::checked`],
//!   [`Output::exit_ok`], [`ExitStatus::exit_ok`]).
//! - Children never leak descriptors, are reaped when dropped, and spawn
//!   without `fork` unless a `pre_exec` closure needs it.
//! - `From<std::process::Command>` carries program, arguments, environment
//!   changes and directory: std exposes no getter for the rest (stdio,
//!   `env_clear`, Unix options).

#![deny(missing_docs)]
// Every public fallible function says when it fails (`# Errors`).
#![deny(clippy::missing_errors_doc)]

/// Puts each item under `feature = "engine"` (the process engine).
macro_rules! engine {
    ($($(#[$attr:meta])* $vis:vis mod $name:ident;)*) => {
        $(#[cfg(feature = "engine")] $(#[$attr])* $vis mod $name;)*
    };
}

// The process engine (feature `engine`, on by default).
engine! {
    pub mod blocking;
    mod builder;
    mod child;
    mod child_core;
    mod command;
    mod error;
    #[cfg(unix)]
    pub mod jobs;
    #[cfg(target_os = "linux")]
    mod pidfd;
    #[cfg(unix)]
    pub mod pipeline;
    mod pipes;
    pub mod pty;
    #[cfg(unix)]
    mod signal_listener;
    mod spec;
    mod status;
    mod stdio;
    mod stop;
    mod sys;
    mod tree;
    #[cfg(unix)]
    pub mod unix;
    #[cfg(windows)]
    pub mod windows;
}

// Pools of workers (feature `pool`, on by default).
#[cfg(feature = "pool")]
pub mod pool;

// The protocol and the worker side, without the engine (features
// `protocol` and `worker`, on by default).
#[cfg(feature = "protocol")]
pub mod protocol;
#[cfg(feature = "worker")]
pub mod worker;

// Windows command-line quoting (pure functions, always built).
pub mod winargs;

// The README's Rust examples compile (its shell examples are run by the
// CLI's tests/readme.rs).
#[cfg(all(doctest, feature = "engine", feature = "pool"))]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "engine")]
pub use engine_api::*;

/// The engine's top-level types, re-exported at the crate root.
#[cfg(feature = "engine")]
mod engine_api {
    pub use crate::child::Child;
    pub use crate::command::Command;
    pub use crate::error::{Error, Operation, Reason, Result};
    pub use crate::pipes::{ChildStderr, ChildStdin, ChildStdout};
    pub use crate::spec::{CommandArgs, CommandEnvs};
    pub use crate::status::{
        signal_name, Captured, ExitStatus, ExitStatusError, Output, ResourceUsage, UsageSource,
    };
    pub use crate::stdio::Stdio;
    pub use crate::tree::Containment;
}
