//! The Linux backend: clone3-based vfork spawn, pidfd waits, background reaping.

mod cgroup;
mod cgroup_base;
mod clone;
mod in_child;
mod memcg_v1;
mod memory;
mod process;
mod reaper;
mod spawn;
mod subreaper;
mod wait;

pub(crate) use process::Process;
pub(crate) use spawn::{exec, set_force_fallback, spawn};
pub(crate) use subreaper::set_child_subreaper;
