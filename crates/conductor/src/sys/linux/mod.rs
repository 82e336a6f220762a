//! The Linux backend: clone3-based vfork spawn, pidfd waits, background reaping.

mod child;
mod clone;
mod process;
mod reaper;
mod spawn;
mod wait;

pub(crate) use process::Process;
pub(crate) use spawn::{set_force_fallback, spawn};
