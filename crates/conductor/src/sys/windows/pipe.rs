//! Creating a child's stdio pipe: a uniquely named, single-instance,
//! local-only named pipe. The parent's end is the server (overlapped for the
//! async API, so tokio can drive it; synchronous for the blocking API); the
//! child's end is a synchronous client handle, as every program expects of
//! its stdio. Neither end is inheritable: the spawn makes the child's end
//! inheritable only for the `CreateProcessW` call that passes it on.

use super::handle::{owned_or_invalid, wide_nul};
use std::ffi::OsString;
use std::io;
use std::os::windows::io::OwnedHandle;
use std::sync::atomic::{AtomicU64, Ordering};
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_PIPE_BUSY, GENERIC_READ, GENERIC_WRITE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, FILE_READ_ATTRIBUTES,
    FILE_WRITE_ATTRIBUTES, OPEN_EXISTING, PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_BYTE, PIPE_WAIT,
};

/// The two ends of a new pipe.
pub(crate) struct PipePair {
    pub parent: OwnedHandle,
    pub child: OwnedHandle,
}

/// Makes a pipe whose data flows to the parent (`parent_reads`, for stdout
/// and stderr) or to the child (stdin). `overlapped`: the parent's end is
/// for tokio. `buffer`: the pipe's buffer size in bytes.
pub(crate) fn pipe(parent_reads: bool, overlapped: bool, buffer: u32) -> io::Result<PipePair> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut attempts = 0;
    loop {
        let name = OsString::from(format!(
            r"\\.\pipe\conductor-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()),
        ));
        let name = wide_nul(&name);
        let mut open_mode = FILE_FLAG_FIRST_PIPE_INSTANCE;
        open_mode |= if parent_reads {
            PIPE_ACCESS_INBOUND
        } else {
            PIPE_ACCESS_OUTBOUND
        };
        if overlapped {
            open_mode |= FILE_FLAG_OVERLAPPED;
        }
        // SAFETY: a NUL-terminated name; default security (not inheritable).
        let server = unsafe {
            owned_or_invalid(CreateNamedPipeW(
                name.as_ptr(),
                open_mode,
                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                1,
                buffer,
                buffer,
                0,
                std::ptr::null(),
            ))
        };
        let server = match server {
            Ok(s) => s,
            // The name is taken (FILE_FLAG_FIRST_PIPE_INSTANCE): try another.
            Err(e)
                if attempts < 16
                    && matches!(
                        e.raw_os_error().map(|c| c as u32),
                        Some(ERROR_ACCESS_DENIED | ERROR_PIPE_BUSY)
                    ) =>
            {
                attempts += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        // The child's end may set the pipe's state (and read its attributes).
        let access = if parent_reads {
            GENERIC_WRITE | FILE_READ_ATTRIBUTES
        } else {
            GENERIC_READ | FILE_WRITE_ATTRIBUTES
        };
        // SAFETY: the name of the pipe just created; synchronous, not
        // inheritable, no sharing, no template.
        let child = unsafe {
            owned_or_invalid(CreateFileW(
                name.as_ptr(),
                access,
                0,
                std::ptr::null(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            ))
        }?;
        return Ok(PipePair {
            parent: server,
            child,
        });
    }
}
