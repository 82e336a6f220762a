//! [`PidFd`]: a Linux child's process file descriptor, as handed out by
//! `Child::pidfd` (mirroring `std::os::linux::process::PidFd`).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// A child's pidfd (Linux): a descriptor that names exactly that process,
/// even after its pid is reused, and turns readable when it exits.
///
/// conductor obtains it atomically with the spawn (`CLONE_PIDFD`) and keeps
/// owning it; borrow it with [`AsFd`] to poll it, or duplicate it with
/// `as_fd().try_clone_to_owned()` to keep it beyond the `Child`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::os::fd::AsFd;
/// let mut child = conductor::Command::new("true").spawn()?;
/// # conductor::unix::force_sigchld_fallback(false);
/// let pidfd: &conductor::unix::PidFd = child.pidfd()?;
/// let dup = pidfd.as_fd().try_clone_to_owned()?;
/// child.wait().await?;
/// drop(dup);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    pub(crate) fn new(fd: OwnedFd) -> PidFd {
        PidFd(fd)
    }

    pub(crate) fn into_owned(self) -> OwnedFd {
        self.0
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for PidFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}
