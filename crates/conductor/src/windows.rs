//! Windows-only builder options, as the [`CommandExt`] extension trait
//! (mirroring `std::os::windows::process::CommandExt`), implemented by both
//! `Command` types; and how Unix signal numbers map onto Windows.
//!
//! # Signals
//!
//! Windows has no signals. [`Child::signal`](crate::Child::signal) and
//! `signal_tree` accept the few numbers with a meaningful equivalent and
//! return an [`Unsupported`](std::io::ErrorKind::Unsupported) error for the rest:
//!
//! | number | `signal` (the child) | `signal_tree` (its Job) |
//! | --- | --- | --- |
//! | [`SIGKILL`] (9) | `TerminateProcess` (exit code 1) | `TerminateJobObject` |
//! | [`SIGTERM`] (15) | `CTRL_BREAK_EVENT` to a child leading its own process group; `TerminateProcess` otherwise or when the event cannot be sent | the same, with `TerminateJobObject` |
//! | [`SIGBREAK`] (21) | `CTRL_BREAK_EVENT`, for a child leading its own process group | the same |
//! | 0 | nothing (succeeds) | nothing |
//!
//! A child leads its own process group under any
//! [`Containment`](crate::Containment) other than `None`, or with
//! [`CommandExt::new_process_group`]. `CTRL_BREAK_EVENT` reaches only the
//! members of that group that share this process's console; its default
//! handler ends a process with exit code `0xC000013A`. The graceful stop
//! (`terminate`, timeouts) sends it, waits the grace, then kills the Job;
//! when it cannot be delivered (no group, no shared console) the tree is
//! killed at once. (Creating a process group also turns CTRL+C off in the
//! child, as Windows does.) [`ExitStatus::signal`](crate::ExitStatus::signal)
//! is always `None` on Windows.
//!
//! # Trees
//!
//! `Containment::ProcessGroup`, `Session` and `BestAvailable` put the child
//! in a new Job Object before it runs (it is created suspended, assigned,
//! then resumed); every process it starts joins the job. The job is closed
//! with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, so the tree dies if this
//! process dies while holding the `Child`; a `Child` dropped without
//! `kill_on_drop` lets its tree run on. `Containment::Cgroup` is refused
//! (Linux only). `BestAvailable` goes on without the job if the system
//! refuses to nest it.

use crate::spec::HasSpec;
use std::ffi::OsStr;
use std::os::windows::io::OwnedHandle;

/// SIGKILL's number: kills the child (`TerminateProcess`) or the tree (`TerminateJobObject`).
pub const SIGKILL: i32 = 9;
/// SIGTERM's number: `CTRL_BREAK_EVENT` to a child leading its own process
/// group; otherwise (or when the event cannot be sent) the same as [`SIGKILL`].
pub const SIGTERM: i32 = 15;
/// SIGBREAK's number (as in the C runtime): `CTRL_BREAK_EVENT` to a child
/// leading its own process group.
pub const SIGBREAK: i32 = 21;

/// Windows-specific options for [`crate::Command`] and [`crate::blocking::Command`].
///
/// ```
/// use conductor::windows::CommandExt;
/// # fn main() -> Result<(), conductor::Error> {
/// let out = conductor::blocking::Command::new("cmd")
///     .raw_arg(r#"/d /c "echo hi""#)
///     .no_window(true)
///     .output()?;
/// assert!(out.status.success());
/// # Ok(()) }
/// ```
pub trait CommandExt: sealed::Sealed {
    /// Adds `CreateProcessW` creation flags (`CREATE_*`) to those conductor
    /// sets itself. `CREATE_SUSPENDED` is ignored (conductor resumes only
    /// what it suspends); use the dedicated methods for process groups,
    /// detaching and windows.
    fn creation_flags(&mut self, flags: u32) -> &mut Self;
    /// Appends `arg` to the command line exactly as given: no quoting, no
    /// escaping, after a single space, in its place among the arguments
    /// added with `arg`/`args`. For programs that parse their command line
    /// by their own rules (`cmd.exe /c`, `msiexec`). You take full
    /// responsibility for the text; NUL is refused, and so is any raw
    /// argument for a batch file (it would reopen cmd.exe's injection).
    /// Raw arguments are not listed by `get_args`.
    fn raw_arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self;
    /// Starts the child as the leader of a new process group
    /// (`CREATE_NEW_PROCESS_GROUP`), so `CTRL_BREAK_EVENT` can be sent to it
    /// (SIGTERM/SIGBREAK). Implied by any containment.
    fn new_process_group(&mut self, on: bool) -> &mut Self;
    /// Starts a console child without any console (`DETACHED_PROCESS`).
    fn detached(&mut self, on: bool) -> &mut Self;
    /// Gives a console child a console without a window (`CREATE_NO_WINDOW`).
    /// By default this is done only when this process has no console itself
    /// (a GUI program or a service), where the child would otherwise open one.
    fn no_window(&mut self, on: bool) -> &mut Self;
    /// Lets the child inherit `handle` (with the same value), besides its
    /// stdio; tell the child the value, for example in an argument. Every
    /// other handle of this process stays out of the child.
    fn inherit_handle(&mut self, handle: OwnedHandle) -> &mut Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Command {}
    impl Sealed for crate::blocking::Command {}
}

impl<T: HasSpec + sealed::Sealed> CommandExt for T {
    fn creation_flags(&mut self, flags: u32) -> &mut Self {
        self.spec_mut().windows.creation_flags |= flags;
        self
    }
    fn raw_arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Self {
        let spec = self.spec_mut();
        let pos = spec.args.len();
        spec.windows.raw_args.push((pos, arg.as_ref().to_owned()));
        self
    }
    fn new_process_group(&mut self, on: bool) -> &mut Self {
        self.spec_mut().windows.new_process_group = on;
        self
    }
    fn detached(&mut self, on: bool) -> &mut Self {
        self.spec_mut().windows.detached = on;
        self
    }
    fn no_window(&mut self, on: bool) -> &mut Self {
        self.spec_mut().windows.no_window = Some(on);
        self
    }
    fn inherit_handle(&mut self, handle: OwnedHandle) -> &mut Self {
        self.spec_mut().windows.handles.push(handle);
        self
    }
}
