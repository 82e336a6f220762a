//! cgroup v2 containment: find a writable cgroup2 mount, make a fresh cgroup
//! per child (the spawn opens its directory for `CLONE_INTO_CGROUP` and closes
//! it once the child exists), signal or kill everything in it, tell when it is
//! empty, read what the tree used (`cpu.stat`, and with the memory controller
//! `memory.peak` and `memory.events`), set `memory.max`, and remove it afterwards.

use super::cgroup_base::{
    cached_lookup, find_mount, make_fresh, read_proc, writable, CgroupError, Lookup,
};
use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

/// A cgroup made for one child's tree.
///
/// It holds no descriptor: the directory is opened only for the clone
/// ([`Cgroup::open_dir`]), so a contained child costs one descriptor (its
/// pidfd), like any other.
#[derive(Debug)]
pub(crate) struct Cgroup {
    path: PathBuf,
}

/// The directory under which this process may create cgroups: the cgroup2
/// mount joined with this process's own cgroup. A success, or a failure that
/// will not change (nothing mounted, not writable), is remembered; a passing
/// failure (out of descriptors or memory) is not, so the next spawn looks again.
fn base() -> Result<&'static Path, CgroupError> {
    static BASE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    cached_lookup(&BASE, find_base)
}

fn find_base() -> Result<PathBuf, Lookup> {
    let mount = find_mount("cgroup2 filesystem", |pre, post| {
        (post.split(' ').next() == Some("cgroup2"))
            .then(|| pre.split(' ').nth(4).map(PathBuf::from))?
    })?;
    let own = read_proc("/proc/self/cgroup")?;
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/")
        .trim_start_matches('/');
    writable(mount.join(rel), "cgroup2 directory")
}

/// True when the memory controller is enabled for the cgroups conductor
/// makes (`memory` in `cgroup.subtree_control` of its own cgroup).
pub(crate) fn memory_enabled() -> bool {
    base().is_ok_and(|b| {
        fs::read_to_string(b.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
    })
}

/// Opens a cgroup directory (for `CLONE_INTO_CGROUP`).
pub(crate) fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    rustix::fs::open(
        path,
        rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(crate::sys::unix::fd::errno_to_io)
}

/// Writes `value` to the control file `file` of the cgroup at `dir`.
pub(crate) fn write_file(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .open(dir.join(file))?
        .write_all(value.as_bytes())
}

/// The value of `key` in a flat-keyed control file (`cpu.stat`, `memory.events`).
pub(crate) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

impl Cgroup {
    /// Makes a fresh, empty cgroup for one child.
    pub fn create() -> Result<Cgroup, CgroupError> {
        let path = make_fresh(base()?, "cgroup")?;
        Ok(Cgroup { path })
    }

    /// The directory, opened for `CLONE_INTO_CGROUP`; close it once the child exists.
    pub fn open_dir(&self) -> io::Result<OwnedFd> {
        open_dir(&self.path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, file: &str, value: &str) -> io::Result<()> {
        write_file(&self.path, file, value)
    }

    fn pids(&self) -> io::Result<Vec<i32>> {
        Ok(fs::read_to_string(self.path.join("cgroup.procs"))?
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect())
    }

    /// True when the memory controller is enabled for this cgroup (its parent
    /// lists `memory` in `cgroup.subtree_control`). conductor never enables it
    /// itself: that would reconfigure the machine's hierarchy.
    pub fn has_memory(&self) -> bool {
        fs::read_to_string(self.path.join("cgroup.controllers"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
    }

    /// Caps the tree's memory (`memory.max`), with no swap beyond it
    /// (`memory.swap.max` 0 where swap accounting exists).
    pub fn limit_memory(&self, bytes: u64) -> Result<(), CgroupError> {
        let set = |file: &str, value: &str| {
            self.write(file, value)
                .map_err(|e| CgroupError::io(format!("cannot set {file} to {value}"), e))
        };
        set("memory.max", &bytes.to_string())?;
        if self.path.join("memory.swap.max").exists() {
            set("memory.swap.max", "0")?;
        }
        Ok(())
    }

    /// The tree's peak memory (`memory.peak`, Linux 5.19+).
    pub fn memory_peak(&self) -> io::Result<u64> {
        fs::read_to_string(self.path.join("memory.peak"))?
            .trim()
            .parse()
            .map_err(io::Error::other)
    }

    /// How many processes of the tree the OOM killer killed (`memory.events`).
    pub fn oom_kills(&self) -> io::Result<u64> {
        let events = fs::read_to_string(self.path.join("memory.events"))?;
        Ok(keyed(&events, "oom_kill").unwrap_or(0))
    }

    /// CPU time used by every process that was ever in the cgroup, (user,
    /// system), from `cpu.stat` (present without the cpu controller).
    pub fn cpu(&self) -> io::Result<(Duration, Duration)> {
        let stat = fs::read_to_string(self.path.join("cpu.stat"))?;
        match (keyed(&stat, "user_usec"), keyed(&stat, "system_usec")) {
            (Some(u), Some(s)) => Ok((Duration::from_micros(u), Duration::from_micros(s))),
            _ => Err(io::Error::other("cpu.stat has no user_usec/system_usec")),
        }
    }

    /// Sends `sig` to every process in the cgroup. SIGKILL uses `cgroup.kill`
    /// (Linux 5.14+); other signals are sent with the cgroup frozen, so no
    /// process can fork a new one that the signal would miss.
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        if sig == libc::SIGKILL && self.write("cgroup.kill", "1").is_ok() {
            return Ok(());
        }
        let frozen = sig != libc::SIGKILL && self.write("cgroup.freeze", "1").is_ok();
        let res = (|| {
            for pid in self.pids()? {
                // SAFETY: plain kill(2); a process that just exited gives ESRCH, which is fine.
                unsafe { libc::kill(pid, sig) };
            }
            Ok(())
        })();
        if frozen {
            self.write("cgroup.freeze", "0")?;
        }
        res
    }

    /// True while any process is in the cgroup.
    pub fn populated(&self) -> io::Result<bool> {
        let events = fs::read_to_string(self.path.join("cgroup.events"))?;
        Ok(events.lines().any(|l| l == "populated 1"))
    }

    /// `cgroup.events`, which polls with POLLPRI when `populated` changes.
    pub fn events(&self) -> io::Result<OwnedFd> {
        rustix::fs::open(
            self.path.join("cgroup.events"),
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(crate::sys::unix::fd::errno_to_io)
    }

    /// Removes the (empty) cgroup directory.
    pub fn remove(&self) -> io::Result<()> {
        fs::remove_dir(&self.path)
    }
}

impl Drop for Cgroup {
    /// Removes the cgroup; one still populated is removed by the background
    /// reaper once its last process exits (or, if even its events file cannot
    /// be opened now, at the reaper's next sweep).
    fn drop(&mut self) {
        if self.remove().is_err() && self.path.exists() {
            let events = self.events().ok();
            super::reaper::adopt_cgroup(events, std::mem::take(&mut self.path));
        }
    }
}
