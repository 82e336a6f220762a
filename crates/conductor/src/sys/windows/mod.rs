//! The Windows backend: `CreateProcessW` with an explicit inherited-handle
//! list, Job Objects for trees, thread-pool waits on process handles, and
//! named pipes (overlapped on the parent's side for tokio).
//!
//! - [`spawn`](spawn::spawn): the spawn itself, stdio and containment.
//! - `cmdline`: program resolution and the command line (via [`crate::winargs`]).
//! - `env`: the child's environment and its Unicode block.
//! - `attr`: the `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` attribute list.
//! - `pipe`: creating a stdio pipe; `async_pipe`: its tokio side; `io`:
//!   blocking reads and writes and the threaded `communicate`.
//! - [`Process`]: one child; waits, signals, resource usage.
//! - `wait`: the registered wait behind the async `wait`.
//! - `job`: Job Objects (tree kill, tree accounting, completion port).
//! - `handle`: small handle helpers.

mod async_pipe;
mod attr;
mod cmdline;
mod env;
mod handle;
mod io;
mod job;
mod pipe;
mod process;
mod spawn;
mod wait;

pub(crate) use async_pipe::AsyncPipe;
pub(crate) use env::env_key_eq;
pub(crate) use io::{
    blocking_pipe, blocking_pipe_into_owned, communicate, pipe_read, pipe_write, BlockingPipe,
    CollectOpts, Pipes,
};
pub(crate) use job::wait_tree_event;
pub(crate) use process::Process;
pub(crate) use spawn::spawn;

/// The signal that kills: `TerminateProcess`, or `TerminateJobObject` for a tree.
pub(crate) const SIGKILL: i32 = crate::windows::SIGKILL;
