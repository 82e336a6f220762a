//! Platform backends. Everything above this module is platform-neutral; each
//! backend provides `spawn` and a `Process` handle: `linux` (clone3, pidfd)
//! and `bsd` (macOS and the BSDs: posix_spawn, kqueue), on top of the shared
//! Unix pieces in `unix`.

#[cfg(unix)]
pub(crate) mod unix;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(any(
    target_os = "macos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod bsd;
#[cfg(any(
    target_os = "macos",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
pub(crate) use bsd::*;

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

#[cfg(unix)]
pub(crate) use unix::fd::raise_fd_limit;

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

/// A child just spawned, with the parent's ends of its pipes.
#[cfg(unix)]
pub(crate) struct Spawned {
    pub process: Process,
    pub stdin: Option<std::os::fd::OwnedFd>,
    pub stdout: Option<std::os::fd::OwnedFd>,
    pub stderr: Option<std::os::fd::OwnedFd>,
}
