//! The Unix options recorded on a command ([`UnixOptions`]), read by the
//! Unix backends and set through `unix::CommandExt` (which depends on this
//! module, never the other way round).

use std::ffi::OsString;
use std::os::fd::{OwnedFd, RawFd};

/// Unix options recorded on a command; read by the Unix backends.
#[derive(Debug, Default)]
pub(crate) struct UnixOptions {
    pub arg0: Option<OsString>,
    pub process_group: Option<i32>,
    pub setsid: bool,
    /// The child's descriptor (0-2) that becomes its controlling terminal
    /// (`TIOCSCTTY`) after `setsid` and the descriptor moves: set only
    /// while a `pty` spawn is under way.
    pub ctty: Option<RawFd>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Option<Vec<u32>>,
    pub umask: Option<u32>,
    /// Extra descriptors the child gets: (descriptor number in the child, source).
    pub fds: Vec<(RawFd, OwnedFd)>,
    /// Resource limits: (resource, soft, hard).
    pub rlimits: Vec<(Resource, u64, u64)>,
    /// Signal the child gets when the thread that spawned it exits (Linux).
    #[cfg(target_os = "linux")]
    pub pdeathsig: Option<i32>,
    /// Kernel-enforced cap on the memory of the child's tree, in bytes (Linux).
    #[cfg(target_os = "linux")]
    pub memory_limit: Option<u64>,
    /// Start the child with no signal blocked (instead of the spawning thread's mask).
    pub empty_signal_mask: bool,
    /// Closures to run in the child before `exec` (`pre_exec`): the child is
    /// then made with fork+exec.
    pub pre_exec: PreExec,
}

/// A `pre_exec` closure.
pub(crate) type Hook = Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>;

/// The `pre_exec` closures of a command. A mutex so that the command stays
/// `Sync` while spawn (`&self` on the spec) hands the child a `&mut` to them;
/// it is locked in the parent, before the fork, for the whole spawn.
#[derive(Default)]
pub(crate) struct PreExec(pub std::sync::Mutex<Vec<Hook>>);

impl std::fmt::Debug for PreExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |v| v.len());
        write!(f, "PreExec({n} closures)")
    }
}

/// A resource whose limit `CommandExt::rlimit` sets in the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resource {
    /// Address space (virtual memory), in bytes (`RLIMIT_AS`).
    AddressSpace,
    /// CPU time, in seconds (`RLIMIT_CPU`): SIGXCPU at the soft limit, SIGKILL at the hard one.
    CpuSeconds,
    /// Open file descriptors (`RLIMIT_NOFILE`).
    OpenFiles,
    /// Processes (threads) of the child's user (`RLIMIT_NPROC`).
    Processes,
    /// Core dump size, in bytes (`RLIMIT_CORE`).
    CoreSize,
}

impl Resource {
    // The constants are u32 on Linux/glibc and c_int elsewhere.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn raw(self) -> u32 {
        (match self {
            Resource::AddressSpace => libc::RLIMIT_AS,
            Resource::CpuSeconds => libc::RLIMIT_CPU,
            Resource::OpenFiles => libc::RLIMIT_NOFILE,
            Resource::Processes => libc::RLIMIT_NPROC,
            Resource::CoreSize => libc::RLIMIT_CORE,
        }) as u32
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Resource::AddressSpace => "RLIMIT_AS",
            Resource::CpuSeconds => "RLIMIT_CPU",
            Resource::OpenFiles => "RLIMIT_NOFILE",
            Resource::Processes => "RLIMIT_NPROC",
            Resource::CoreSize => "RLIMIT_CORE",
        }
    }
}
