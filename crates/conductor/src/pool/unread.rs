//! How much of what the pool wrote to a worker's stdin the worker has not
//! read yet: line mode's sign that a new worker has started to work.

use crate::ChildStdin;

/// Whether [`unread_bytes`] can tell on this platform.
pub(super) const SUPPORTED: bool = cfg!(unix);

/// Bytes waiting in the worker's input pipe; `None` where that cannot be
/// known.
#[cfg(unix)]
pub(super) fn unread_bytes(stdin: &ChildStdin) -> Option<u64> {
    // FIONREAD works on either end of a Linux or BSD pipe.
    rustix::io::ioctl_fionread(stdin).ok()
}

#[cfg(not(unix))]
pub(super) fn unread_bytes(_stdin: &ChildStdin) -> Option<u64> {
    None
}
