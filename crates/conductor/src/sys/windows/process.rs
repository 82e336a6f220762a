//! [`Process`]: a spawned Windows child, identified by its process handle
//! (which keeps the pid from being reused while we hold it), with the Job
//! holding its tree when it has one.
//!
//! - Waits: `WaitForSingleObject` on the handle (blocking, or with a timeout),
//!   a registered thread-pool wait ([`ExitWatch`]) for the async API; the
//!   status is `GetExitCodeProcess`, the usage `GetProcessTimes` and
//!   `K32GetProcessMemoryInfo` (peak working set).
//! - Signals: see [`crate::windows`] for the mapping of Unix signal numbers.
//! - No zombies exist on Windows: dropping just closes the handles, after
//!   killing the tree (kill-on-drop) or letting it run on.

use super::handle::cvt;
use super::job::{Job, TreeEvents};
use super::wait::ExitWatch;
use crate::status::{ExitStatus, ResourceUsage};
use crate::windows::{SIGBREAK, SIGKILL, SIGTERM};
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, OwnedHandle};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, FILETIME, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::Console::{GenerateConsoleCtrlEvent, CTRL_BREAK_EVENT};
use windows_sys::Win32::System::ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, GetProcessTimes, TerminateProcess, WaitForSingleObject, INFINITE,
};

/// The exit code of a process ended by `kill`/SIGKILL (as std and tokio use).
const KILLED_EXIT_CODE: u32 = 1;

/// A child process owned by this program.
#[derive(Debug)]
pub(crate) struct Process {
    /// Declared first: dropped (unregistered) before the handle it waits on closes.
    watch: Option<ExitWatch>,
    job: Option<Job>,
    handle: OwnedHandle,
    pid: u32,
    /// The child leads its own process group (CREATE_NEW_PROCESS_GROUP).
    group: bool,
    done: Option<(ExitStatus, ResourceUsage)>,
}

impl Process {
    pub fn new(handle: OwnedHandle, pid: u32, job: Option<Job>, group: bool) -> Process {
        Process {
            watch: None,
            job,
            handle,
            pid,
            group,
            done: None,
        }
    }

    pub fn id(&self) -> u32 {
        self.pid
    }

    /// The process handle (for `AsHandle` on the public `Child` types).
    pub fn handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        std::os::windows::io::AsHandle::as_handle(&self.handle)
    }

    /// True once the direct child has exited and its status was collected.
    pub fn exited(&self) -> bool {
        self.done.is_some()
    }

    pub fn resource_usage(&self) -> Option<ResourceUsage> {
        self.done.map(|d| d.1)
    }

    /// Waits up to `ms` milliseconds for the handle; true once it is signalled.
    fn signalled(&self, ms: u32) -> io::Result<bool> {
        // SAFETY: an open process handle.
        match unsafe { WaitForSingleObject(self.handle.as_raw_handle(), ms) } {
            WAIT_OBJECT_0 => Ok(true),
            WAIT_TIMEOUT => Ok(false),
            WAIT_FAILED => Err(io::Error::last_os_error()),
            other => Err(io::Error::other(format!(
                "WaitForSingleObject returned {other:#x}"
            ))),
        }
    }

    /// Collects the status of the exited child.
    fn finish(&mut self) -> io::Result<ExitStatus> {
        if let Some((s, _)) = self.done {
            return Ok(s);
        }
        let mut code = 0u32;
        // SAFETY: an open process handle; `code` is a valid out-pointer.
        cvt(unsafe { GetExitCodeProcess(self.handle.as_raw_handle(), &mut code) })?;
        let status = ExitStatus::from_raw(code as i32);
        self.done = Some((status, usage(&self.handle)));
        // The registered wait is no longer needed.
        self.watch = None;
        Ok(status)
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some((s, _)) = self.done {
            return Ok(Some(s));
        }
        if self.signalled(0)? {
            return self.finish().map(Some);
        }
        Ok(None)
    }

    pub fn wait_blocking(&mut self) -> io::Result<ExitStatus> {
        while self.try_wait()?.is_none() {
            self.signalled(INFINITE)?;
        }
        self.finish()
    }

    /// Waits at most `timeout`; `None` if the child still runs then.
    pub fn wait_timeout_blocking(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // Round up, so a sub-millisecond rest does not spin.
            let ms = left.as_nanos().div_ceil(1_000_000);
            self.signalled(u32::try_from(ms).unwrap_or(u32::MAX - 1).min(u32::MAX - 1))?;
        }
    }

    /// Polls for exit; cancel-safe (nothing is lost if the future is dropped).
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(s) = self.try_wait()? {
            return Poll::Ready(Ok(s));
        }
        if self.watch.is_none() {
            self.watch = Some(ExitWatch::register(self.handle.as_handle())?);
        }
        if let Some(w) = &self.watch {
            if w.poll(cx).is_ready() {
                return Poll::Ready(self.finish());
            }
        }
        // Registered after the check above: an exit in between is seen here.
        match self.try_wait()? {
            Some(s) => Poll::Ready(Ok(s)),
            None => Poll::Pending,
        }
    }

    /// Sends `sig` to the child (see [`crate::windows`] for the mapping).
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        if self.done.is_some() {
            return Ok(());
        }
        match sig {
            0 => Ok(()),
            SIGKILL => self.terminate_process(),
            // Where the request cannot be sent, SIGTERM does what its
            // default action does on Unix: terminate.
            SIGTERM if self.group => ctrl_break(self.pid).or_else(|_| self.terminate_process()),
            SIGTERM => self.terminate_process(),
            SIGBREAK if self.group => ctrl_break(self.pid),
            _ => Err(unsupported(sig, self.group)),
        }
    }

    fn terminate_process(&self) -> io::Result<()> {
        // SAFETY: an open process handle.
        match cvt(unsafe { TerminateProcess(self.handle.as_raw_handle(), KILLED_EXIT_CODE) }) {
            // Access is denied to a process that has already exited.
            Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => {
                if self.signalled(0)? {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            r => r,
        }
    }

    /// Sends `sig` to the whole tree: the job for SIGKILL (and SIGTERM
    /// without a process group), the process group for SIGTERM/SIGBREAK.
    pub fn signal_tree(&self, sig: i32) -> io::Result<()> {
        let Some(job) = &self.job else {
            return self.signal(sig);
        };
        match sig {
            0 => Ok(()),
            SIGKILL => job.terminate(KILLED_EXIT_CODE),
            SIGTERM if self.group => {
                ctrl_break(self.pid).or_else(|_| job.terminate(KILLED_EXIT_CODE))
            }
            SIGBREAK if self.group => ctrl_break(self.pid),
            SIGTERM => job.terminate(KILLED_EXIT_CODE),
            _ => Err(unsupported(sig, self.group)),
        }
    }

    /// The graceful stop's request: CTRL_BREAK_EVENT to the child's process
    /// group. False when it cannot be delivered (no group of its own, or no
    /// console shared with the child), so the caller kills at once.
    pub fn ask_tree_to_stop(&mut self) -> io::Result<bool> {
        if !self.group || (self.job.is_none() && self.try_wait()?.is_some()) {
            return Ok(false);
        }
        Ok(ctrl_break(self.pid).is_ok())
    }

    /// True while the direct child runs or any process of its job does.
    pub fn tree_alive(&mut self) -> io::Result<bool> {
        if self.try_wait()?.is_none() {
            return Ok(true);
        }
        match &self.job {
            None => Ok(false),
            Some(job) => Ok(job.active_processes()? > 0),
        }
    }

    /// The job's completion port, for blocking tree waits.
    pub fn tree_events(&self) -> Option<TreeEvents> {
        self.job.as_ref().and_then(Job::events)
    }

    /// Closes the handles of a child that may still run: kills its tree
    /// first if asked; otherwise lets the tree run on (the job stops killing
    /// its members when the job closes).
    pub fn orphan(mut self, kill_it: bool) {
        if kill_it {
            let _ = self.signal_tree(SIGKILL);
            return;
        }
        if self.job.is_some() && !matches!(self.tree_alive(), Ok(false)) {
            if let Some(job) = &self.job {
                let _ = job.set_kill_on_close(false);
            }
        }
    }
}

/// CTRL_BREAK_EVENT to the process group led by `pid` (it reaches the
/// members that share this process's console).
fn ctrl_break(pid: u32) -> io::Result<()> {
    // SAFETY: no memory is passed.
    cvt(unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pid) })
}

fn unsupported(sig: i32, group: bool) -> io::Error {
    let mut msg = format!(
        "signal {sig} has no Windows equivalent; supported: SIGKILL ({SIGKILL}) and SIGTERM \
         ({SIGTERM}), which terminate the process (SIGTERM sends CTRL_BREAK_EVENT to a child \
         leading its own process group), SIGBREAK ({SIGBREAK}) for such a child, and 0"
    );
    if sig == SIGBREAK && !group {
        msg = "SIGBREAK (CTRL_BREAK_EVENT) needs a child that leads its own process group \
               (new_process_group or a containment)"
            .to_string();
    }
    io::Error::new(io::ErrorKind::Unsupported, msg)
}

fn duration(ft: FILETIME) -> Duration {
    let ticks = (u64::from(ft.dwHighDateTime) << 32) | u64::from(ft.dwLowDateTime);
    Duration::from_nanos(ticks.saturating_mul(100))
}

/// CPU times and peak working set of an exited process (zero where unknown).
fn usage(handle: &OwnedHandle) -> ResourceUsage {
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    let mut usage = ResourceUsage::default();
    // SAFETY: an open process handle; valid out-pointers.
    let times = unsafe {
        GetProcessTimes(
            handle.as_raw_handle(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        )
    };
    if times != 0 {
        usage.user_time = duration(user);
        usage.system_time = duration(kernel);
    }
    // SAFETY: zero is a valid value for this plain-data struct.
    let mut mem: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    mem.cb = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
    // SAFETY: an open process handle; `mem` is the size passed.
    if unsafe { K32GetProcessMemoryInfo(handle.as_raw_handle(), &mut mem, mem.cb) } != 0 {
        usage.max_rss_bytes = mem.PeakWorkingSetSize as u64;
    }
    usage
}
