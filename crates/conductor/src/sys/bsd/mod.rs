//! The macOS and BSD backend (FreeBSD, NetBSD, OpenBSD, DragonFly):
//! `posix_spawn` (fork+exec only for what it cannot express), kqueue
//! `EVFILT_PROC` exit notification in tokio's reactor, `wait4` reaping, and a
//! kqueue-driven background reaper.
//!
//! - [`spawn`](spawn::spawn): the spawn paths and their choice.
//! - `fork`: the fork+exec fallback and its async-signal-safe child (it
//!   reads the shared `unix::exec_request::ExecRequest`, as Linux's child does).
//! - `sym`: optional `posix_spawn` features, found at run time.
//! - [`Process`]: one child; waits, signals, hand-off to the reaper.
//! - `wait`: `wait4`, `kill` and the kqueue exit event.
//! - `reaper`: the thread that reaps dropped children.

mod fork;
mod process;
mod reaper;
mod spawn;
mod sym;
mod wait;

pub(crate) use process::Process;
pub(crate) use spawn::{exec, spawn};
