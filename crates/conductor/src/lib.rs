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

// Until the Windows backend lands, some crate-private helpers go unused there.
#![cfg_attr(not(unix), allow(dead_code))]

// The process API has Unix backends (Linux, macOS, the BSDs); the Windows
// backend is in progress, so on Windows only the platform-neutral modules
// (protocol, worker, winargs, statuses and errors) are built for now.

#[cfg(unix)]
pub mod blocking;
#[cfg(unix)]
mod builder;
#[cfg(unix)]
mod child;
#[cfg(unix)]
mod child_core;
#[cfg(unix)]
mod command;
mod error;
#[cfg(unix)]
mod pipes;
#[cfg(unix)]
pub mod pool;
pub mod protocol;
#[cfg(unix)]
mod spec;
mod status;
#[cfg(unix)]
mod stdio;
#[cfg(unix)]
mod stop;
#[cfg(unix)]
mod sys;
mod tree;
#[cfg(unix)]
pub mod unix;
pub mod winargs;
pub mod worker;

#[cfg(unix)]
pub use child::Child;
#[cfg(unix)]
pub use command::Command;
pub use error::{Error, Operation, Result};
#[cfg(unix)]
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
#[cfg(unix)]
pub use spec::{CommandArgs, CommandEnvs};
pub use status::{signal_name, ExitStatus, Output, ResourceUsage};
#[cfg(unix)]
pub use stdio::Stdio;
pub use tree::Containment;
