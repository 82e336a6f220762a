//! Turning a failed spawn (the step that failed and its errno) into an
//! [`Error`] naming the program, the operation and a readable detail, the same
//! way on every Unix backend. Also the error for options a platform lacks.

use crate::error::{Error, Operation};
use crate::spec::CommandSpec;
use std::io;

/// Declares [`Step`] and its decoding from the wire, from one list of the
/// steps and their codes.
macro_rules! steps {
    ($($(#[$attr:meta])* $name:ident = $code:literal,)*) => {
        /// The step of a spawn that failed, as far as the backend can tell. The
        /// numbering is the wire format of the fork path's error pipe.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        pub(crate) enum Step {
            $($(#[$attr])* $name = $code,)*
        }

        impl Step {
            /// The step with wire code `v`, if any.
            pub fn from_u32(v: u32) -> Option<Step> {
                match v {
                    $($code => Some(Step::$name),)*
                    _ => None,
                }
            }
        }
    };
}

steps! {
    /// Creating the process itself (fork, posix_spawn out of resources).
    Spawn = 1,
    /// Resetting signal dispositions or the signal mask.
    Signals = 2,
    /// `setsid` or `setpgid`.
    Session = 3,
    Groups = 4,
    Gid = 5,
    Uid = 6,
    Chdir = 7,
    /// Moving or closing descriptors.
    Fds = 8,
    Exec = 9,
    /// Setting a resource limit.
    Rlimit = 10,
    /// Joining the per-child memory cgroup (Linux, cgroup v1).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Cgroup = 11,
    /// A `pre_exec` closure returned an error.
    PreExec = 12,
}

/// A PATH search's choice of error, kept by every backend's exec loop. Safe in
/// a vfork or fork child: integer work only. A candidate that is missing
/// (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG) or not executable (EACCES) moves the
/// search on to the next; any other error ends it. When every candidate
/// failed and one of them was not executable, EACCES is reported (as execvp
/// does), not the last ENOENT.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecSearch {
    many: bool,
    saw_eacces: bool,
    last: i32,
}

impl ExecSearch {
    /// A search over `candidates` paths.
    pub fn new(candidates: usize) -> ExecSearch {
        ExecSearch {
            many: candidates > 1,
            saw_eacces: false,
            last: libc::ENOENT,
        }
    }

    /// Records that a candidate failed with `errno`; true to try the next one.
    pub fn failed(&mut self, errno: i32) -> bool {
        self.last = errno;
        if errno == libc::EACCES {
            self.saw_eacces = true;
        }
        self.many && (errno == libc::EACCES || is_missing(errno))
    }

    /// The error to report once the search is over.
    pub fn error(&self) -> i32 {
        if self.saw_eacces && is_missing(self.last) {
            libc::EACCES
        } else {
            self.last
        }
    }
}

/// Errors saying a path does not lead to a file.
pub(crate) fn is_missing(errno: i32) -> bool {
    matches!(
        errno,
        libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG
    )
}

/// The fork path's failure report: `(step, errno)` as two native-endian
/// 32-bit words, written by the child only when it fails.
pub(crate) type Report = [u8; 8];

/// Reads the fork child's failure report from `rd` until EOF (a successful
/// exec closes the write end); returns the report and how many of its bytes
/// arrived (0: the exec succeeded; fewer than 8: the child died mid-report).
pub(crate) fn read_report(rd: std::os::fd::BorrowedFd<'_>) -> rustix::io::Result<(Report, usize)> {
    let mut report = [0u8; 8];
    let mut got = 0;
    while got < report.len() {
        match rustix::io::read(rd, &mut report[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((report, got))
}

/// The [`Report`] of `step` failing with `errno` (async-signal-safe: the
/// child builds it on its stack).
pub(crate) fn encode_report(step: Step, errno: i32) -> Report {
    let mut report = [0u8; 8];
    report[..4].copy_from_slice(&(step as u32).to_ne_bytes());
    report[4..].copy_from_slice(&errno.to_ne_bytes());
    report
}

/// The `(step, errno)` words of a complete [`Report`].
pub(crate) fn decode_report(report: &Report) -> (u32, i32) {
    let (step, errno) = report.split_at(4);
    (
        u32::from_ne_bytes(step.try_into().unwrap_or([0; 4])),
        i32::from_ne_bytes(errno.try_into().unwrap_or([0; 4])),
    )
}

/// A failed credential step: setting `what` failed.
fn credentials(what: &str) -> (Operation, Option<String>) {
    (
        Operation::Credentials,
        Some(format!("setting {what} failed")),
    )
}

/// The error for `step` failing with `errno`; `exec_size` is the byte size of
/// argv plus envp, quoted when exec says E2BIG.
pub(crate) fn spawn_error(spec: &CommandSpec, exec_size: usize, step: Step, errno: i32) -> Error {
    let (op, detail) = match step {
        Step::Exec => (
            Operation::Exec,
            match errno {
                libc::ENOENT => Some("program not found".to_string()),
                libc::EACCES => Some("permission denied".to_string()),
                libc::ENOEXEC => Some("not an executable format".to_string()),
                libc::E2BIG => Some(format!(
                    "arguments and environment ({exec_size} bytes) are too large for exec"
                )),
                _ => None,
            },
        ),
        Step::Chdir => (
            Operation::ChangeDirectory,
            spec.cwd
                .as_ref()
                .map(|d| format!("working directory {}", d.display())),
        ),
        Step::Fds => (Operation::FileDescriptors, None),
        Step::Rlimit => (
            Operation::ResourceLimits,
            Some(
                "setting a resource limit failed (raising a hard limit needs privilege)"
                    .to_string(),
            ),
        ),
        Step::Cgroup => (
            if memory_limited(spec) {
                Operation::MemoryLimit
            } else {
                Operation::Containment
            },
            Some("joining the child's memory cgroup failed".to_string()),
        ),
        Step::Spawn | Step::Signals => (Operation::Spawn, None),
        Step::PreExec => (Operation::PreExec, None),
        Step::Session => credentials("the session or process group"),
        Step::Groups => credentials("the supplementary groups"),
        Step::Gid => credentials("the group id"),
        Step::Uid => credentials("the user id"),
    };
    let mut err = Error::new(op, io::Error::from_raw_os_error(errno)).with_program(&spec.program);
    if let Some(d) = detail {
        err = err.with_detail(d);
    }
    err
}

#[cfg(target_os = "linux")]
fn memory_limited(spec: &CommandSpec) -> bool {
    spec.unix.memory_limit.is_some()
}

#[cfg(not(target_os = "linux"))]
fn memory_limited(_: &CommandSpec) -> bool {
    false
}

/// The error for a builder option this platform cannot honour (for example a
/// Linux-only one such as a cgroup on macOS): a clear refusal at spawn time,
/// never a silently ignored option.
#[cfg(not(target_os = "linux"))]
pub(crate) fn unsupported(spec: &CommandSpec, option: &str) -> Error {
    Error::new(
        Operation::Spawn,
        io::Error::new(io::ErrorKind::Unsupported, "unsupported on this platform"),
    )
    .with_program(&spec.program)
    .with_detail(format!(
        "{option} is not supported on {}",
        std::env::consts::OS
    ))
}

/// The command's resource limits as (resource, soft, hard), checked: a soft
/// limit above its hard limit is refused here, naming the resource.
pub(crate) fn rlimits(spec: &CommandSpec) -> Result<Vec<(u32, u64, u64)>, Error> {
    let mut out = Vec::with_capacity(spec.unix.rlimits.len());
    for &(res, soft, hard) in &spec.unix.rlimits {
        if soft > hard {
            return Err(Error::invalid_input(
                &spec.program,
                format!(
                    "{}: soft limit {soft} is above hard limit {hard}",
                    res.name()
                ),
            ));
        }
        out.push((res.raw(), soft, hard));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{decode_report, encode_report, ExecSearch, Step};

    #[test]
    fn a_report_decodes_to_the_step_and_errno_it_was_encoded_from() {
        let (step, errno) = decode_report(&encode_report(Step::PreExec, libc::EPERM));
        assert_eq!(Step::from_u32(step), Some(Step::PreExec));
        assert_eq!(errno, libc::EPERM);
    }

    fn search(errors: &[i32], candidates: usize) -> (usize, i32) {
        let mut s = ExecSearch::new(candidates);
        let tried = errors.iter().take_while(|&&e| s.failed(e)).count();
        (tried, s.error())
    }

    #[test]
    fn a_path_search_moves_past_missing_and_unexecutable_candidates() {
        // Missing, not executable, missing: all tried, EACCES reported.
        let errs = [libc::ENOENT, libc::EACCES, libc::ENOTDIR];
        assert_eq!(search(&errs, 3), (3, libc::EACCES));
        // Only missing ones: the last error stands.
        assert_eq!(search(&[libc::ENOENT, libc::ENOENT], 2), (2, libc::ENOENT));
        // Any other error ends the search with that error.
        let errs = [libc::ENOENT, libc::ENOEXEC, libc::ENOENT];
        assert_eq!(search(&errs, 3), (1, libc::ENOEXEC));
    }

    #[test]
    fn a_single_candidate_reports_its_own_error() {
        assert_eq!(search(&[libc::ENOENT], 1), (0, libc::ENOENT));
        assert_eq!(search(&[libc::EACCES], 1), (0, libc::EACCES));
    }
}
