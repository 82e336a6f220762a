//! Finding where this process may create cgroups, remembering the answer
//! only when it cannot change: a lookup that failed for a passing reason (no
//! descriptor or memory free at that moment) is tried again next time, so one
//! bad moment does not disable containment for the life of the process. Also
//! the pieces of a lookup both hierarchies share (`/proc` files, the mount,
//! the writable check) and making a fresh per-child cgroup there.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Why a cgroup could not be found or made: what was being done, and the OS
/// error (its errno kept, so the spawn can blame the right cause).
#[derive(Debug)]
pub(crate) struct CgroupError {
    pub what: String,
    pub source: io::Error,
}

impl CgroupError {
    /// A cgroup setup this machine cannot provide (`kind()` Unsupported;
    /// the message is also the source's, for callers that show only that).
    pub fn unsupported(what: impl Into<String>) -> CgroupError {
        let what = what.into();
        CgroupError {
            source: io::Error::new(io::ErrorKind::Unsupported, what.clone()),
            what,
        }
    }

    pub fn io(what: impl Into<String>, source: io::Error) -> CgroupError {
        CgroupError {
            what: what.into(),
            source,
        }
    }
}

impl fmt::Display for CgroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source.raw_os_error().is_some() {
            write!(f, "{}: {}", self.what, self.source)
        } else {
            f.write_str(&self.what)
        }
    }
}

/// Why a lookup failed.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Will fail the same way next time (nothing mounted, not writable).
    Permanent(String),
    /// May succeed next time (EMFILE, ENFILE, ENOMEM, EINTR, EAGAIN).
    Passing(CgroupError),
}

impl Lookup {
    /// Classifies an I/O error met while looking, `what` saying at what.
    pub fn from_io(what: &str, e: io::Error) -> Lookup {
        match e.raw_os_error() {
            Some(
                libc::EMFILE
                | libc::ENFILE
                | libc::ENOMEM
                | libc::EINTR
                | libc::EAGAIN
                | libc::ENOBUFS,
            ) => Lookup::Passing(CgroupError::io(what, e)),
            _ => Lookup::Permanent(format!("{what}: {e}")),
        }
    }
}

/// Returns the remembered answer, or looks (remembering a success or a
/// permanent failure, never a passing one).
pub(crate) fn cached_lookup(
    cell: &'static OnceLock<Result<PathBuf, String>>,
    find: fn() -> Result<PathBuf, Lookup>,
) -> Result<&'static Path, CgroupError> {
    if cell.get().is_none() {
        let answer = match find() {
            Ok(p) => Ok(p),
            Err(Lookup::Permanent(m)) => Err(m),
            Err(Lookup::Passing(e)) => return Err(e),
        };
        let _ = cell.set(answer);
    }
    match cell.get() {
        Some(Ok(p)) => Ok(p),
        Some(Err(m)) => Err(CgroupError::unsupported(m.clone())),
        None => Err(CgroupError::unsupported("cgroup lookup failed")),
    }
}

/// Reads a `/proc` file a lookup needs.
pub(crate) fn read_proc(path: &str) -> Result<String, Lookup> {
    fs::read_to_string(path).map_err(|e| Lookup::from_io(&format!("cannot read {path}"), e))
}

/// The first mount in `/proc/self/mountinfo` that `pick` accepts, given the
/// fields before and after a line's ` - ` separator; `what` names what was
/// looked for when none is.
pub(crate) fn find_mount<T>(
    what: &str,
    pick: impl Fn(&str, &str) -> Option<T>,
) -> Result<T, Lookup> {
    read_proc("/proc/self/mountinfo")?
        .lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            pick(pre, post)
        })
        .ok_or_else(|| {
            Lookup::Permanent(format!(
                "no {what} is mounted (looked in /proc/self/mountinfo)"
            ))
        })
}

/// `base`, once this process may write there (`what` names the directory in
/// the error).
pub(crate) fn writable(base: PathBuf, what: &str) -> Result<PathBuf, Lookup> {
    rustix::fs::access(&base, rustix::fs::Access::WRITE_OK).map_err(|e| {
        let e = crate::sys::unix::fd::errno_to_io(e);
        Lookup::from_io(&format!("{what} {} is not writable", base.display()), e)
    })?;
    Ok(base)
}

/// Makes a fresh, empty cgroup directory under `base`, with a name unique in
/// this process; `what` names it in the error.
pub(crate) fn make_fresh(base: &Path, what: &str) -> Result<PathBuf, CgroupError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "conductor-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let path = base.join(name);
    fs::create_dir(&path)
        .map_err(|e| CgroupError::io(format!("cannot create {what} {}", path.display()), e))?;
    Ok(path)
}
