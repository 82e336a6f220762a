//! The blocking twin of the async API: the same calls, with blocking `wait`
//! and `output` and std `Read`/`Write` pipe ends. It needs no async runtime.
//!
//! Its types are shells over the same engine as the async ones: `Child`
//! holds a `ChildCore` (the logic that does not wait) and drives the
//! tree-stop engine with blocking waits; the builder methods and the
//! pass-through `Child` methods are generated from the same macros.
//!
//! ```
//! # fn main() -> Result<(), conductor::Error> {
//! use conductor::blocking::Command;
//! let out = Command::new("printf").arg("%s-%s").args(["a", "b"]).output()?;
//! assert_eq!(out.stdout, b"a-b");
//! # Ok(()) }
//! ```

mod child;
mod command;
mod pipes;

#[cfg(unix)]
pub use crate::pipeline::blocking_pipeline::{Pipeline, PipelineChild};
#[cfg(unix)]
pub use crate::pty::blocking_pty::Pty;
pub use child::Child;
pub use command::Command;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
