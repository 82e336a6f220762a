//! The Windows options recorded on a command ([`WindowsOptions`]), read by
//! the Windows backend and set through `windows::CommandExt` (which depends
//! on this module, never the other way round).

use std::ffi::OsString;
use std::os::windows::io::OwnedHandle;

/// Windows options recorded on a command; read by the Windows backend.
#[derive(Debug, Default)]
pub(crate) struct WindowsOptions {
    /// Extra `CreateProcessW` creation flags.
    pub creation_flags: u32,
    pub new_process_group: bool,
    pub detached: bool,
    /// `None`: `CREATE_NO_WINDOW` when this process has no console.
    pub no_window: Option<bool>,
    /// Raw arguments, each with the number of quoted arguments before it.
    pub raw_args: Vec<(usize, OsString)>,
    /// Handles the child inherits besides its stdio.
    pub handles: Vec<OwnedHandle>,
}
