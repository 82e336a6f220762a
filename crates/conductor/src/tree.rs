//! Process-tree options: how a child and its descendants are contained
//! ([`Containment`]), and the limits that `status()`/`output()` enforce
//! (timeout, graces, capture cap).

use std::time::Duration;

/// How a child's whole process tree is kept together, so that it can be
/// signalled, stopped and waited for as one.
///
/// On Windows, `ProcessGroup`, `Session` and `BestAvailable` all put the
/// child in a new Job Object before it runs (no descendant escapes unless
/// allowed to break away), and make it lead a new process group for
/// CTRL_BREAK_EVENT; `Cgroup` is refused.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::{blocking::Command, Containment};
/// use std::time::Duration;
/// let mut child = Command::new("sh").args(["-c", "sleep 300 & sleep 300 & wait"])
///     .containment(Containment::ProcessGroup)
///     .spawn()?;
/// // SIGTERM to the whole tree, then SIGKILL after the grace; reaps the child.
/// let status = child.terminate(Duration::from_secs(2))?;
/// assert!(!status.success());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Containment {
    /// No containment: tree operations reach only the direct child.
    #[default]
    None,
    /// The child leads a new process group; descendants that stay in it are
    /// reached. One that calls `setsid` or `setpgid` escapes.
    ProcessGroup,
    /// The child leads a new session (and process group), detached from the
    /// controlling terminal. Descendants that start their own session escape.
    Session,
    /// The child is spawned straight into a fresh cgroup v2
    /// (`CLONE_INTO_CGROUP`, Linux): no descendant can escape, not even one
    /// that calls `setsid` or double-forks. Spawning fails with a clear error
    /// when no writable cgroup2 mount is found.
    ///
    /// The cgroup's directory is open only during the spawn, so a contained
    /// child holds one descriptor (its pidfd), like any other. The cgroup also
    /// measures the tree: [`ResourceUsage`](crate::ResourceUsage) then gives
    /// the whole tree's CPU and, where a memory controller is usable (cgroup
    /// v2's, or on hybrid systems a per-child cgroup in the v1 memory
    /// hierarchy), its own peak memory and OOM kills. The cgroup is removed
    /// once the `Child` is dropped and the tree is empty.
    Cgroup,
    /// A cgroup when one is usable, otherwise a process group.
    BestAvailable,
}

/// Limits applied by `status()`, `output()` and `communicate`-style calls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub io_grace: Option<Duration>,
    pub capture_limit: Option<usize>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: None,
            grace: Duration::from_secs(5),
            io_grace: None,
            capture_limit: None,
        }
    }
}
