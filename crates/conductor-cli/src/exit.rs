//! Exit statuses, as timeout(1) and env(1) define them, and the one-line
//! error reports conductor prints for failures that are not the child's.

use conductor::{Error, ExitStatus, Reason};
use std::io::ErrorKind;

/// The command ran past its timeout.
pub const TIMED_OUT: i32 = 124;
/// conductor itself failed.
pub const FAILED: i32 = 125;
/// The program exists but cannot be executed.
pub const CANNOT_EXECUTE: i32 = 126;
/// The program was not found.
pub const NOT_FOUND: i32 = 127;

/// The child's code, or 128+N when it died of signal N.
pub fn from_status(s: ExitStatus) -> i32 {
    match (s.code(), s.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => FAILED,
    }
}

/// Prints one line naming the program and the reason; returns the exit code.
pub fn report_spawn_error(e: &Error) -> i32 {
    eprintln!("conductor: {}", describe(e));
    match (e.kind(), e.raw_os_error()) {
        (ErrorKind::NotFound, _) if e.operation() == conductor::Operation::Exec => NOT_FOUND,
        (ErrorKind::PermissionDenied, _) if e.operation() == conductor::Operation::Exec => {
            CANNOT_EXECUTE
        }
        (_, Some(libc::ENOEXEC)) => CANNOT_EXECUTE,
        _ => FAILED,
    }
}

/// The error in the CLI's terms: causes the library knows by type get advice
/// that names conductor's options (not the library's API).
pub fn describe(e: &Error) -> String {
    match e.reason() {
        Some(Reason::CgroupUnavailable) => format!(
            "cannot run `{}`: --containment cgroup needs a writable cgroup2 mount ({}); \
             use --containment best to fall back to a process group",
            e.program().unwrap_or_default().to_string_lossy(),
            e.io_error()
        ),
        _ => e.to_string(),
    }
}
