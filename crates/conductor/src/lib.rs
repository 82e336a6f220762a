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

pub mod blocking;
mod builder;
mod child;
mod child_core;
mod command;
mod error;
#[cfg(target_os = "linux")]
mod pidfd;
mod pipes;
pub mod pool;
pub mod protocol;
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
pub mod winargs;
#[cfg(windows)]
pub mod windows;
pub mod worker;

pub use child::Child;
pub use command::Command;
pub use error::{Error, Operation, Reason, Result};
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
pub use spec::{CommandArgs, CommandEnvs};
pub use status::{signal_name, ExitStatus, Output, ResourceUsage, UsageSource};
pub use stdio::Stdio;
pub use tree::Containment;
