//! Pieces shared by every Unix backend (Linux, macOS, the BSDs).

pub(crate) mod async_pipe;
pub(crate) mod fd;
pub(crate) mod io;
pub(crate) mod prep;
pub(crate) mod status;
