//! Platform backends. Everything above this module is platform-neutral; each
//! backend provides `spawn` and a `Process` handle: `linux` (clone3, pidfd)
//! and `bsd` (macOS and the BSDs: posix_spawn, kqueue), on top of the shared
//! Unix pieces in `unix`, and `windows` (CreateProcessW, Job Objects,
//! registered waits, named pipes).
//!
//! Besides `spawn` and `Process`, each platform provides the pipe ends the
//! public pipe types wrap ([`AsyncPipe`], [`BlockingPipe`] with
//! [`pipe_read`]/[`pipe_write`]), the blocking `communicate` loop, and
//! [`wait_tree_event`] (what wakes a blocking wait for a whole tree, on what
//! `Process::tree_events` returns).

#[cfg(unix)]
pub(crate) mod unix;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

/// Puts each item under the macOS/BSD backend's targets.
macro_rules! on_bsd {
    ($($item:item)*) => {$(
        #[cfg(any(
            target_os = "macos",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ))]
        $item
    )*};
}
on_bsd! {
    mod bsd;
    pub(crate) use bsd::*;
}

#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "macos",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))
))]
compile_error!("conductor has no backend for this Unix (supported: Linux, macOS and the BSDs)");

mod stream;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(unix)]
pub(crate) use unix::async_pipe::AsyncPipe;
#[cfg(unix)]
pub(crate) use unix::fd::raise_fd_limit;
#[cfg(unix)]
pub(crate) use unix::io::{communicate, CollectOpts, Pipes};
#[cfg(unix)]
pub(crate) use unix::signal_names;
#[cfg(unix)]
pub(crate) use unix::tree::{signal_group, wait_tree_event};
// The Unix pieces the platform-neutral modules use, named here so that no
// module outside `sys` reaches into `sys::unix`.
#[cfg(unix)]
pub(crate) use unix::async_pipe::register as register_async_fd;
#[cfg(unix)]
pub(crate) use unix::fd::errno_to_io;
#[cfg(unix)]
pub(crate) use unix::{pty, signals};

/// The parent's end of a blocking child's pipe.
#[cfg(unix)]
pub(crate) type BlockingPipe = std::os::fd::OwnedFd;

/// Wraps the parent's end of a pipe for the blocking API.
#[cfg(unix)]
pub(crate) fn blocking_pipe(fd: std::os::fd::OwnedFd) -> BlockingPipe {
    fd
}

/// The plain descriptor of a blocking pipe end (to hand it to another child).
#[cfg(unix)]
pub(crate) fn blocking_pipe_into_owned(pipe: BlockingPipe) -> std::os::fd::OwnedFd {
    pipe
}

/// Reads from a blocking pipe end; 0 at end of file.
#[cfg(unix)]
pub(crate) fn pipe_read(pipe: &BlockingPipe, buf: &mut [u8]) -> std::io::Result<usize> {
    unix::io::read(std::os::fd::AsFd::as_fd(pipe), buf)
}

/// Writes to a blocking pipe end (never raising SIGPIPE).
#[cfg(unix)]
pub(crate) fn pipe_write(pipe: &BlockingPipe, buf: &[u8]) -> std::io::Result<usize> {
    unix::io::write(std::os::fd::AsFd::as_fd(pipe), buf)
}

/// The signal that kills (SIGKILL; `TerminateProcess`/`TerminateJobObject` on Windows).
#[cfg(unix)]
pub(crate) const SIGKILL: i32 = libc::SIGKILL;

/// What a standard stream is when the builder did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StdioDefault {
    Inherit,
    Null,
    Piped,
}

/// How to spawn, beyond the spec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpawnOptions {
    /// Defaults for stdin, stdout, stderr.
    pub defaults: [StdioDefault; 3],
    /// Parent pipe ends are non-blocking (the async API).
    pub nonblocking: bool,
    /// Enlarge output pipes (the caller will capture everything).
    pub grow_pipes: bool,
}

/// How the blocking `communicate` loop ended.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// The deadline passed before the pipes closed.
    pub timed_out: bool,
    /// Stdout went past the capture limit.
    pub out_truncated: bool,
    /// Stderr went past the capture limit.
    pub err_truncated: bool,
}

/// A child just spawned, with the parent's ends of its pipes.
pub(crate) struct Spawned {
    pub process: Process,
    pub stdin: Option<crate::stdio::OwnedIo>,
    pub stdout: Option<crate::stdio::OwnedIo>,
    pub stderr: Option<crate::stdio::OwnedIo>,
}
