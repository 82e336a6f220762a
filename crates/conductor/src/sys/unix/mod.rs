//! Pieces shared by every Unix backend (Linux, macOS, the BSDs).

pub(crate) mod async_pipe;
pub(crate) mod child_steps;
pub(crate) mod exec_request;
pub(crate) mod fd;
pub(crate) mod io;
pub(crate) mod plan;
pub(crate) mod prep;
pub(crate) mod reaper_thread;
pub(crate) mod pty;
pub(crate) mod sigmask;
pub(crate) mod signal_names;
pub(crate) mod signals;
pub(crate) mod spawn_error;
pub(crate) mod status;
pub(crate) mod tree;
