//! cgroup v2 containment: find a writable cgroup2 mount, make a fresh cgroup
//! per child (the spawn passes its directory to `CLONE_INTO_CGROUP`), signal
//! or kill everything in it, tell when it is empty, and remove it afterwards.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A cgroup made for one child's tree.
#[derive(Debug)]
pub(crate) struct Cgroup {
    path: PathBuf,
    dir: OwnedFd,
}

/// The directory under which this process may create cgroups: the cgroup2
/// mount joined with this process's own cgroup. Looked up once.
fn base() -> Result<&'static Path, String> {
    static BASE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BASE.get_or_init(find_base).as_deref().map_err(Clone::clone)
}

fn find_base() -> Result<PathBuf, String> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let mount = mountinfo
        .lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            (post.split(' ').next() == Some("cgroup2"))
                .then(|| pre.split(' ').nth(4).map(PathBuf::from))?
        })
        .ok_or("no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo)")?;
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let rel = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/")
        .trim_start_matches('/');
    let base = mount.join(rel);
    rustix::fs::access(&base, rustix::fs::Access::WRITE_OK)
        .map_err(|e| format!("cgroup2 directory {} is not writable: {e}", base.display()))?;
    Ok(base)
}

impl Cgroup {
    /// Makes a fresh, empty cgroup for one child.
    pub fn create() -> io::Result<Cgroup> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = base().map_err(|m| io::Error::new(io::ErrorKind::Unsupported, m))?;
        let name: OsString = format!(
            "conductor-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
        .into();
        let path = base.join(name);
        fs::create_dir(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create cgroup {}: {e}", path.display()),
            )
        })?;
        let dir = rustix::fs::open(
            &path,
            rustix::fs::OFlags::DIRECTORY
                | rustix::fs::OFlags::RDONLY
                | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(crate::sys::unix::fd::errno_to_io)?;
        Ok(Cgroup { path, dir })
    }

    pub fn dir_fd(&self) -> RawFd {
        self.dir.as_raw_fd()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self, file: &str, value: &str) -> io::Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .open(self.path.join(file))?
            .write_all(value.as_bytes())
    }

    fn pids(&self) -> io::Result<Vec<i32>> {
        Ok(fs::read_to_string(self.path.join("cgroup.procs"))?
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect())
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
    /// reaper once its last process exits.
    fn drop(&mut self) {
        if self.remove().is_err() {
            if let Ok(events) = self.events() {
                super::reaper::adopt_cgroup(events, std::mem::take(&mut self.path));
            }
        }
    }
}
