//! [`ExecRequest`]: what a child does between its creation and `execve`,
//! prepared in the parent (every pointer points at memory the parent owns
//! until the child has exec'd). Linux's vforked child (`linux::in_child`)
//! and the macOS/BSD fork fallback (`bsd::fork`) both read it.

use super::plan::FdPlan;
use super::prep::ExecStrings;
use crate::spec::{CommandSpec, Hook};
use std::ffi::c_char;
use std::os::fd::RawFd;

/// One resource limit to set: (resource, soft, hard).
pub(crate) type Rlimit = (u32, u64, u64);

/// Everything the child sets up before `execve`, in the parent's memory.
pub(crate) struct ExecRequest<'a> {
    pub argv: *const *const c_char,
    pub envp: *const *const c_char,
    /// Paths to try `execve` on, in order (the PATH search, done in the parent).
    pub candidates: &'a [*const c_char],
    /// Null: keep the parent's working directory.
    pub cwd: *const c_char,
    /// (source, target) descriptor moves; every source is above every target.
    pub moves: &'a [(RawFd, RawFd)],
    /// Descriptor ranges below `close_from` that are not targets: marked close-on-exec.
    pub gaps: &'a [(RawFd, RawFd)],
    /// Every descriptor from here up is closed or marked close-on-exec.
    pub close_from: RawFd,
    pub setsid: bool,
    /// After the moves, make this descriptor the controlling terminal
    /// (`TIOCSCTTY`; -1: none). Needs `setsid`.
    pub ctty: RawFd,
    /// -1: unchanged; 0: a new group led by the child; n: join group n.
    pub pgroup: libc::pid_t,
    pub uid: Option<libc::uid_t>,
    pub gid: Option<libc::gid_t>,
    pub groups: Option<&'a [libc::gid_t]>,
    pub umask: Option<libc::mode_t>,
    pub rlimits: &'a [Rlimit],
    /// The mask the child starts with (the spawning thread's, or empty).
    pub sigmask: libc::sigset_t,
    /// `pre_exec` closures to run just before `execve` (null: none). Only
    /// where the child has its own copy of memory (fork) or in-place `exec`.
    pub pre_exec: *mut Vec<Hook>,
}

/// The spec's `pre_exec` closures, locked (a poisoned lock is taken over:
/// the closures themselves are intact).
pub(crate) fn lock_hooks(spec: &CommandSpec) -> std::sync::MutexGuard<'_, Vec<Hook>> {
    spec.unix
        .pre_exec
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How the child is grouped: decided by each backend from the containment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grouping {
    pub setsid: bool,
    /// -1: unchanged; 0: a new group led by the child; n: join group n.
    pub pgroup: libc::pid_t,
    /// The controlling terminal to take after the moves (-1: none).
    pub ctty: RawFd,
}

impl<'a> ExecRequest<'a> {
    /// The request for `spec`: its prepared strings and descriptor plan, its
    /// Unix options, the resource limits, the grouping the backend decided
    /// and the `pre_exec` closures (null: none).
    pub fn new(
        spec: &'a CommandSpec,
        strings: &'a ExecStrings,
        plan: &'a FdPlan,
        rlimits: &'a [Rlimit],
        grouping: Grouping,
        pre_exec: *mut Vec<Hook>,
    ) -> ExecRequest<'a> {
        let u = &spec.unix;
        ExecRequest {
            argv: strings.argv(),
            envp: strings.envp(),
            candidates: strings.candidates(),
            cwd: strings
                .cwd
                .as_ref()
                .map_or(std::ptr::null(), |c| c.as_ptr()),
            moves: &plan.moves,
            gaps: &plan.gaps,
            close_from: plan.close_from,
            setsid: grouping.setsid,
            ctty: grouping.ctty,
            pgroup: grouping.pgroup,
            uid: u.uid,
            gid: u.gid,
            groups: u.groups.as_deref(),
            umask: u.umask.map(|m| m as libc::mode_t),
            rlimits,
            sigmask: super::sigmask::child_sigmask(u.empty_signal_mask),
            pre_exec,
        }
    }
}
