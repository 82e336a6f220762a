//! `--containment` for `conductor run`, and the clean-up that leaves nothing
//! of the tree behind: a cgroup's leftover members are stopped and waited
//! for, so its directory is removed before conductor exits.

use clap::ValueEnum;
use conductor::{Child, Containment};
#[cfg(target_os = "linux")]
use std::time::Duration;

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ContainmentArg {
    /// A cgroup when usable, else a process group.
    Best,
    /// A cgroup v2 (fails if none is writable).
    Cgroup,
    /// A new process group.
    Group,
    /// A new session.
    Session,
    /// None: only the direct child is signalled.
    None,
}

impl From<ContainmentArg> for Containment {
    fn from(c: ContainmentArg) -> Containment {
        match c {
            ContainmentArg::Best => Containment::BestAvailable,
            ContainmentArg::Cgroup => Containment::Cgroup,
            ContainmentArg::Group => Containment::ProcessGroup,
            ContainmentArg::Session => Containment::Session,
            ContainmentArg::None => Containment::None,
        }
    }
}

/// Once the direct child has exited: kills what is left in its cgroup, waits
/// until the cgroup is empty, then drops the child, which removes the
/// cgroup's directory. (A process-group tree is left as timeout(1) leaves it.)
#[cfg(target_os = "linux")]
pub async fn finish(mut child: Child) {
    /// How long to wait for a killed leftover tree to be gone (catches hangs only).
    const LEFTOVER_WAIT: Duration = Duration::from_secs(30);
    /// How long to keep trying to remove an empty cgroup the kernel calls busy.
    const REMOVE_RETRY: Duration = Duration::from_secs(2);
    if let Some(dir) = child.cgroup_path().map(|p| p.to_path_buf()) {
        let _ = child.signal_tree(libc::SIGKILL);
        let _ = tokio::time::timeout(LEFTOVER_WAIT, child.wait_tree()).await;
        drop(child);
        // The drop removes it; should the kernel still call it busy for an
        // instant, try again (bounded: conductor must not hang here).
        let start = std::time::Instant::now();
        while dir.exists() && start.elapsed() < REMOVE_RETRY {
            if std::fs::remove_dir(&dir).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Elsewhere there are no cgroups: dropping the child is all.
#[cfg(not(target_os = "linux"))]
pub async fn finish(child: Child) {
    drop(child);
}
