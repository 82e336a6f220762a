//! Pseudo-terminals: run a child on a new terminal, as programs that behave
//! differently without one expect (colours, progress bars, line buffering,
//! password prompts, REPLs).
//!
//! [`Command::pty`](crate::Command::pty) (and the blocking twin's) runs the
//! child on a new pseudo-terminal of a given [`PtySize`]: the child leads a
//! new session with the terminal as its controlling terminal, and every
//! standard stream not set explicitly is the terminal. The parent's end is a
//! [`Pty`] (async: `AsyncRead`/`AsyncWrite`) or a
//! [`blocking::Pty`](crate::blocking::Pty) (`Read`/`Write`), taken from the
//! child with `take_pty()`; it resizes the terminal (the child gets
//! SIGWINCH) and keeps everything the child wrote after it exited: reads
//! return it, then end of stream once no process holds the terminal (the
//! kernel's `EIO` at the hang-up is not an error). With `output()` the
//! terminal's output is captured as stdout.
//!
//! The child is a session leader, so timeouts, `terminate(grace)` and
//! `signal_tree` reach its process group as with
//! [`Containment::Session`](crate::Containment::Session); a cgroup
//! containment still applies. The terminal's descriptors are close-on-exec
//! and the parent closes its copy of the child's side once the child is
//! spawned: no other child inherits them.
//!
//! Unix only: on Windows spawning a command with a pty fails with an
//! `Unsupported` error.
//!
//! ```
//! # #[cfg(unix)]
//! # fn main() -> Result<(), conductor::Error> {
//! use conductor::blocking::Command;
//! use conductor::pty::PtySize;
//! let out = Command::new("sh").args(["-c", "test -t 1 && echo terminal"])
//!     .pty(PtySize::new(24, 80))
//!     .output()?;
//! assert_eq!(out.stdout, b"terminal\r\n");
//! # Ok(()) }
//! # #[cfg(windows)] fn main() {}
//! ```

#[cfg(unix)]
mod async_pty;
#[cfg(unix)]
pub(crate) mod blocking_pty;

#[cfg(unix)]
mod terminal;

#[cfg(unix)]
pub use async_pty::Pty;
#[cfg(unix)]
pub use terminal::{terminal_size, RawMode};

use crate::error::{Error, Result};
use crate::spec::CommandSpec;

/// A terminal's window size, in character cells.
///
/// ```
/// let size = conductor::pty::PtySize::new(24, 80);
/// assert_eq!((size.rows, size.cols), (24, 80));
/// assert_eq!(conductor::pty::PtySize::default(), size);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PtySize {
    /// Lines.
    pub rows: u16,
    /// Columns.
    pub cols: u16,
}

impl PtySize {
    /// A size of `rows` lines by `cols` columns.
    ///
    /// ```
    /// let size = conductor::pty::PtySize::new(50, 132);
    /// assert_eq!(size.cols, 132);
    /// ```
    pub fn new(rows: u16, cols: u16) -> PtySize {
        PtySize { rows, cols }
    }
}

/// 24 lines by 80 columns.
impl Default for PtySize {
    fn default() -> PtySize {
        PtySize { rows: 24, cols: 80 }
    }
}

/// A spawn on a pseudo-terminal under way: the master, and which of the
/// spec's streams were pointed at the terminal (to be unset again).
#[cfg(unix)]
pub(crate) struct Prepared {
    pub master: std::os::fd::OwnedFd,
    filled: [bool; 3],
}

/// When the spec asks for a pty: opens one and points every standard stream
/// not set explicitly at it. [`restore`] undoes that after the spawn.
#[cfg(unix)]
pub(crate) fn prepare(spec: &mut CommandSpec) -> Result<Option<Prepared>> {
    let Some(size) = spec.pty else {
        return Ok(None);
    };
    let prog = spec.program.clone();
    let stdio_err = |e: std::io::Error| {
        Error::new(crate::Operation::Stdio, e)
            .with_program(&prog)
            .with_detail("cannot open a pseudo-terminal")
    };
    let (master, slave) = crate::sys::pty::open(size).map_err(stdio_err)?;
    let mut filled = [false; 3];
    for (i, slot) in [&mut spec.stdin, &mut spec.stdout, &mut spec.stderr]
        .into_iter()
        .enumerate()
    {
        if slot.is_none() {
            *slot = Some(crate::Stdio::from(slave.try_clone().map_err(stdio_err)?));
            filled[i] = true;
        }
    }
    let Some(first) = filled.iter().position(|&f| f) else {
        return Err(Error::invalid_input(
            &prog,
            "pty(): stdin, stdout and stderr are all set, so nothing is connected to the terminal",
        ));
    };
    spec.unix.ctty = Some(first as i32);
    Ok(Some(Prepared { master, filled }))
}

/// Windows: no pseudo-terminals (yet): a clear `Unsupported` error.
#[cfg(windows)]
pub(crate) fn prepare(spec: &mut CommandSpec) -> Result<Option<std::convert::Infallible>> {
    if spec.pty.is_none() {
        return Ok(None);
    }
    Err(Error::new(
        crate::Operation::Stdio,
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "pseudo-terminals are not supported on Windows",
        ),
    )
    .with_program(&spec.program))
}

/// Unsets the streams [`prepare`] pointed at the terminal (closing the
/// parent's copies of its child side).
#[cfg(unix)]
pub(crate) fn restore(spec: &mut CommandSpec, p: &Prepared) {
    for (i, slot) in [&mut spec.stdin, &mut spec.stdout, &mut spec.stderr]
        .into_iter()
        .enumerate()
    {
        if p.filled[i] {
            *slot = None;
        }
    }
    spec.unix.ctty = None;
}

/// Windows: nothing to undo.
#[cfg(windows)]
pub(crate) fn restore(_spec: &mut CommandSpec, p: &std::convert::Infallible) {
    match *p {}
}

/// The error of a failed terminal operation.
#[cfg(unix)]
fn pty_err(e: std::io::Error) -> Error {
    Error::new(crate::Operation::Io, e).with_detail("pseudo-terminal")
}
