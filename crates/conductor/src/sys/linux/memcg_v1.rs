//! Per-child cgroups in the cgroup v1 memory hierarchy, for hybrid systems
//! whose cgroup2 mount has no memory controller (the controller is mounted on
//! v1, for example at /sys/fs/cgroup/memory). `CLONE_INTO_CGROUP` can only
//! target v2, so the child joins by writing `0` (itself) to the cgroup's
//! `cgroup.procs`, through a descriptor the parent opened, between clone and
//! exec: everything the program does from its first instruction is charged
//! to the cgroup, and nothing is charged before (until exec the child shares
//! the parent's memory, whose owner is the parent).

use super::cgroup::{keyed, write_file};
use super::cgroup_base::{
    cached_lookup, find_mount, make_fresh, read_proc, writable, CgroupError, Lookup,
};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A memory cgroup (v1) made for one child's tree.
#[derive(Debug)]
pub(crate) struct MemCgroupV1 {
    path: PathBuf,
}

/// This process's own cgroup in the v1 memory hierarchy, where per-child
/// cgroups are made (remembered as [`super::cgroup`]'s base is).
fn base() -> Result<&'static Path, CgroupError> {
    static BASE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    cached_lookup(&BASE, find_base)
}

fn find_base() -> Result<PathBuf, Lookup> {
    let (root, mount) = find_mount("cgroup v1 memory hierarchy", |pre, post| {
        let mut post = post.split(' ');
        let fstype = post.next()?;
        let opts = post.nth(1)?;
        if fstype != "cgroup" || !opts.split(',').any(|o| o == "memory") {
            return None;
        }
        let mut pre = pre.split(' ').skip(3);
        Some((pre.next()?.to_string(), PathBuf::from(pre.next()?)))
    })?;
    let own = read_proc("/proc/self/cgroup")?;
    let path = own
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':');
            f.next()?;
            let ctrls = f.next()?;
            let path = f.next()?;
            ctrls.split(',').any(|c| c == "memory").then_some(path)
        })
        .ok_or_else(|| {
            Lookup::Permanent("/proc/self/cgroup names no memory cgroup for this process".into())
        })?;
    let rel = Path::new(path).strip_prefix(&root).map_err(|_| {
        Lookup::Permanent(format!(
            "this process's memory cgroup {path} is outside the mounted hierarchy ({root})"
        ))
    })?;
    writable(mount.join(rel), "memory cgroup directory")
}

impl MemCgroupV1 {
    /// Makes a fresh memory cgroup, limited to `limit` bytes (memory plus
    /// swap, where swap is accounted) when given.
    pub fn create(limit: Option<u64>) -> Result<MemCgroupV1, CgroupError> {
        let path = make_fresh(base()?, "memory cgroup")?;
        let cg = MemCgroupV1 { path };
        if let Some(bytes) = limit {
            let value = bytes.to_string();
            let set = |file: &str| {
                write_file(&cg.path, file, &value)
                    .map_err(|e| CgroupError::io(format!("cannot set {file} to {value}"), e))
            };
            set("memory.limit_in_bytes")?;
            // memsw (memory + swap) must not be below the memory limit: set after it.
            if cg.path.join("memory.memsw.limit_in_bytes").exists() {
                set("memory.memsw.limit_in_bytes")?;
            }
        }
        Ok(cg)
    }

    /// `cgroup.procs`, opened for the child to write itself into.
    pub fn open_procs(&self) -> Result<OwnedFd, CgroupError> {
        rustix::fs::open(
            self.path.join("cgroup.procs"),
            rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| {
            CgroupError::io(
                "cannot open the memory cgroup's cgroup.procs",
                crate::sys::unix::fd::errno_to_io(e),
            )
        })
    }

    /// The tree's peak memory (`memory.max_usage_in_bytes`).
    pub fn memory_peak(&self) -> io::Result<u64> {
        fs::read_to_string(self.path.join("memory.max_usage_in_bytes"))?
            .trim()
            .parse()
            .map_err(io::Error::other)
    }

    /// How many processes the OOM killer killed in the cgroup
    /// (`memory.oom_control`'s `oom_kill`, Linux 4.13+).
    pub fn oom_kills(&self) -> io::Result<u64> {
        let ctl = fs::read_to_string(self.path.join("memory.oom_control"))?;
        Ok(keyed(&ctl, "oom_kill").unwrap_or(0))
    }

    /// Removes the (empty) cgroup directory.
    pub fn remove(&self) -> io::Result<()> {
        fs::remove_dir(&self.path)
    }
}

impl Drop for MemCgroupV1 {
    /// Removes the cgroup; v1 has no event for "empty", so one still
    /// populated is retried by the background reaper at each of its sweeps
    /// (every reaped orphan, SIGCHLD or emptied v2 cgroup).
    fn drop(&mut self) {
        if self.remove().is_err() && self.path.exists() {
            super::reaper::adopt_cgroup(None, std::mem::take(&mut self.path));
        }
    }
}
