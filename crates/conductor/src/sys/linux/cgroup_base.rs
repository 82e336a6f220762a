//! Finding where this process may create cgroups, remembering the answer
//! only when it cannot change: a lookup that failed for a passing reason (no
//! descriptor or memory free at that moment) is tried again next time, so one
//! bad moment does not disable containment for the life of the process.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Why a lookup failed.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Will fail the same way next time (nothing mounted, not writable).
    Permanent(String),
    /// May succeed next time (EMFILE, ENFILE, ENOMEM, EINTR, EAGAIN).
    Passing(String),
}

impl Lookup {
    /// Classifies an I/O error met while looking, prefixed with `what`.
    pub fn from_io(what: &str, e: &io::Error) -> Lookup {
        let msg = format!("{what}: {e}");
        match e.raw_os_error() {
            Some(
                libc::EMFILE
                | libc::ENFILE
                | libc::ENOMEM
                | libc::EINTR
                | libc::EAGAIN
                | libc::ENOBUFS,
            ) => Lookup::Passing(msg),
            _ => Lookup::Permanent(msg),
        }
    }
}

/// Returns the remembered answer, or looks (remembering a success or a
/// permanent failure, never a passing one).
pub(crate) fn cached_lookup(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    find: fn() -> Result<PathBuf, Lookup>,
) -> Result<&'static Path, String> {
    if let Some(r) = cell.get() {
        return r.as_deref().map_err(Clone::clone);
    }
    let answer = match find() {
        Ok(p) => Ok(p),
        Err(Lookup::Permanent(m)) => Err(m),
        Err(Lookup::Passing(m)) => return Err(m),
    };
    cell.get_or_init(|| answer).as_deref().map_err(Clone::clone)
}
