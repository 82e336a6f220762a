//! The caller's own terminal, for programs that relay it to a child's
//! pseudo-terminal (`conductor run --pty`): its window size, and raw mode
//! that is undone when the guard is dropped.

use super::{pty_err, PtySize};
use crate::error::Result;
use std::os::fd::{AsFd, OwnedFd};

/// The window size of the terminal `fd` is on; `None` when it is not a
/// terminal.
///
/// ```
/// // A pipe is not a terminal.
/// let (reader, _writer) = std::io::pipe().unwrap();
/// assert_eq!(conductor::pty::terminal_size(&reader), None);
/// ```
pub fn terminal_size(fd: impl AsFd) -> Option<PtySize> {
    crate::sys::pty::terminal_size(fd.as_fd())
}

/// Raw mode on a terminal (as `cfmakeraw`: no echo, no line editing, no
/// signals from Ctrl-C and the like, bytes passed through as typed), for as
/// long as the guard lives: dropping it, on any path including a panic's
/// unwinding, puts the earlier settings back.
///
/// ```
/// use conductor::pty::{PtySize, RawMode};
/// # fn main() -> Result<(), conductor::Error> {
/// // A terminal to try it on: a child's pseudo-terminal.
/// let mut child = conductor::blocking::Command::new("true").pty(PtySize::default()).spawn()?;
/// let pty = child.take_pty().unwrap();
/// {
///     let _raw = RawMode::enable(&pty)?;
///     // ... relay bytes ...
/// } // restored here
/// child.wait()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RawMode {
    fd: OwnedFd,
    saved: crate::sys::pty::Saved,
}

impl RawMode {
    /// Puts the terminal `fd` is on in raw mode until the guard is dropped
    /// (fails when `fd` is not a terminal).
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when `fd` is not a terminal or its settings
    /// cannot be read or changed.
    ///
    /// ```
    /// let (reader, _writer) = std::io::pipe().unwrap();
    /// assert!(conductor::pty::RawMode::enable(&reader).is_err());
    /// ```
    pub fn enable(fd: impl AsFd) -> Result<RawMode> {
        let fd = fd.as_fd().try_clone_to_owned().map_err(pty_err)?;
        let saved = crate::sys::pty::make_raw(fd.as_fd()).map_err(pty_err)?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crate::sys::pty::restore(self.fd.as_fd(), &self.saved);
    }
}
