//! The Linux backend: clone3-based vfork spawn, pidfd waits, background reaping.
//!
//! - `spawn`: the parent's side of a spawn (prepares a `ChildCtx`: the shared
//!   `unix::exec_request::ExecRequest` plus Linux's own fields), and `clone`
//!   the clone3/vfork/fork calls.
//! - `in_child`: the code that runs in the vforked child until `execve`
//!   (async-signal-safe, no allocation).
//! - `process`: one child (`Process`); `wait`: `waitid`, signals through
//!   rustix; `reaper`: the thread that reaps dropped children, with a SIGCHLD
//!   hook that `subreaper` (opt-in child-subreaper mode) registers.
//! - `cgroup`, `cgroup_base`, `memcg_v1`, `memory`: containment and memory limits.

mod cgroup;
mod cgroup_base;
mod clone;
mod in_child;
mod memcg_v1;
mod memory;
mod process;
mod reaper;
mod spawn;
mod spawner;
mod subreaper;
mod wait;

pub(crate) use process::Process;
pub(crate) use spawn::{exec, set_force_fallback, spawn};
pub(crate) use subreaper::set_child_subreaper;
