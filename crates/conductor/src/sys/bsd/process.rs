//! [`Process`]: a spawned macOS/BSD child, identified by its pid (which cannot
//! be reused before conductor reaps it). Exits are observed through a kqueue
//! of the child's own holding one `EVFILT_PROC`/`NOTE_EXIT` event: the async
//! wait registers that kqueue with tokio's reactor (a kqueue is itself
//! pollable), a timed blocking wait sleeps in `kevent`. Reaping is always
//! `wait4` on this child's pid only, which also yields its resource usage.
//!
//! One kqueue per child, created only when a wait needs one, mirrors the
//! Linux backend's pidfd: it needs no process-wide state, no dispatch table
//! and no binding to one tokio runtime (a shared kqueue registered once with
//! one runtime's reactor would stop working when that runtime shuts down).

use super::reaper;
use super::wait::{kill, new_kqueue, take_exits, wait4, watch_exit};
use crate::status::{ExitStatus, ResourceUsage};
use crate::sys::unix::async_pipe::register;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

#[derive(Debug)]
enum Watch {
    /// No kqueue yet (blocking waits need none).
    None,
    /// A kqueue holding the child's exit event, not in a reactor.
    Kqueue(OwnedFd),
    /// The same, registered with the reactor of the runtime with this id.
    Registered(AsyncFd<OwnedFd>, tokio::runtime::Id),
}

impl Watch {
    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Watch::None => None,
            Watch::Kqueue(fd) => Some(fd.as_fd()),
            Watch::Registered(afd, _) => Some(afd.get_ref().as_fd()),
        }
    }
}

/// A child process owned by this program.
#[derive(Debug)]
pub(crate) struct Process {
    pid: libc::pid_t,
    watch: Watch,
    /// Set once the kernel said the child exited (a kqueue event, or ESRCH when
    /// registering one): it is a zombie or about to be one. Holds the wait status
    /// the event carried, if any.
    exited: Option<Option<i32>>,
    done: Option<(ExitStatus, ResourceUsage)>,
    /// The child leads its own process group (or session), id = its pid.
    group: bool,
}

impl Process {
    pub fn new(pid: libc::pid_t, group: bool) -> Process {
        Process {
            pid,
            group,
            watch: Watch::None,
            exited: None,
            done: None,
        }
    }

    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// True once the direct child has been reaped.
    pub fn exited(&self) -> bool {
        self.done.is_some()
    }

    /// Sends `sig` to the child's process group when it leads one, else to the child.
    pub fn signal_tree(&self, sig: i32) -> io::Result<()> {
        if !self.group {
            return self.signal(sig);
        }
        match kill(-self.pid, sig) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
            r => r,
        }
    }

    /// True while the direct child runs or any member of its group is alive.
    pub fn tree_alive(&mut self) -> io::Result<bool> {
        if self.try_wait()?.is_none() {
            return Ok(true);
        }
        if !self.group {
            return Ok(false);
        }
        match kill(-self.pid, 0) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// No descriptor announces that a process group emptied (cgroups are Linux-only).
    pub fn tree_events(&self) -> Option<OwnedFd> {
        None
    }

    pub fn resource_usage(&self) -> Option<ResourceUsage> {
        self.done.map(|d| d.1)
    }

    /// Reaps the child if it has exited. When the status was discarded before
    /// `wait4` could collect it (SIGCHLD ignored, SA_NOCLDWAIT, or another
    /// `waitpid(-1)`), the one carried by the kqueue event is used if there was
    /// one, without resource usage.
    fn reap(&mut self, block: bool) -> io::Result<Option<ExitStatus>> {
        if let Some((s, _)) = self.done {
            return Ok(Some(s));
        }
        let r = match wait4(self.pid, block) {
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {
                if self.exited.is_none() {
                    // The exit event (posted before the kernel discards a status)
                    // may still be waiting in the kqueue.
                    self.take_exit(Some(Duration::ZERO))?;
                }
                match self.exited {
                    Some(Some(raw)) => Some((ExitStatus::from_raw(raw), ResourceUsage::default())),
                    _ => {
                        return Err(io::Error::other(
                            "the child's exit status was discarded before conductor could \
                             collect it (SIGCHLD ignored, SA_NOCLDWAIT, or reaped by other code)",
                        ))
                    }
                }
            }
            r => r?,
        };
        if let Some(d) = r {
            self.done = Some(d);
            // The kqueue (and its reactor registration) is no longer needed.
            self.watch = Watch::None;
        }
        Ok(r.map(|d| d.0))
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.reap(false)
    }

    /// Waits for exit. The wait happens in the child's kqueue, then `wait4`
    /// reaps: the event keeps the status even where the kernel discards it
    /// (SIGCHLD ignored), and `wait4` then returns at once. Without a kqueue
    /// (descriptor limit reached) it is a plain blocking `wait4`.
    pub fn wait_blocking(&mut self) -> io::Result<ExitStatus> {
        if self.done.is_none() && self.ensure_watch().is_ok() {
            while self.exited.is_none() && self.watch.fd().is_some() {
                self.take_exit(None)?;
            }
        }
        match self.reap(true)? {
            Some(s) => Ok(s),
            None => Err(io::Error::other("wait4 returned without a status")),
        }
    }

    /// Makes sure a kqueue watches the child's exit. Registering first and
    /// checking after (the callers do) means no exit can fall in between.
    fn ensure_watch(&mut self) -> io::Result<()> {
        if matches!(self.watch, Watch::None) && self.exited.is_none() {
            let kq = new_kqueue()?;
            if watch_exit(kq.as_fd(), self.pid)? {
                self.watch = Watch::Kqueue(kq);
            } else {
                // ESRCH: the child has already exited.
                self.exited = Some(None);
            }
        }
        Ok(())
    }

    /// Takes the exit event from the kqueue, waiting up to `timeout`. Without
    /// a kqueue it only sleeps a little (at most `timeout`), for callers that
    /// check in steps.
    fn take_exit(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let Some(kq) = self.watch.fd() else {
            if let Some(t) = timeout {
                std::thread::sleep(t.min(Duration::from_millis(5)));
            }
            return Ok(());
        };
        let mut buf = Vec::with_capacity(1);
        if let Some(exit) = take_exits(kq, &mut buf, timeout)?.first() {
            self.exited = Some(exit.status);
        }
        Ok(())
    }

    /// Waits at most `timeout`; `None` if the child still runs then.
    pub fn wait_timeout_blocking(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.reap(false)? {
            return Ok(Some(s));
        }
        let deadline = Instant::now() + timeout;
        // Without a kqueue (descriptor limit reached) `take_exit` checks in steps.
        let _ = self.ensure_watch();
        loop {
            if self.exited.is_some() {
                // Exiting: the status is moments away.
                return self.reap(true);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            self.take_exit(Some(left))?;
            if let Some(s) = self.reap(false)? {
                return Ok(Some(s));
            }
            if left.is_zero() && self.exited.is_none() {
                return Ok(None);
            }
        }
    }

    /// Polls for exit; cancel-safe (nothing is lost if the future is dropped).
    /// The kqueue follows the runtime it is polled in: one registered with
    /// another runtime's reactor (perhaps shut down since) is registered anew
    /// with the current one.
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let current = tokio::runtime::Handle::try_current().ok().map(|h| h.id());
        loop {
            if let Some(s) = self.reap(false)? {
                return Poll::Ready(Ok(s));
            }
            if self.exited.is_some() {
                // The kernel reported the exit but the child is not reapable yet
                // (it is still finishing its exit): poll again shortly.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match &self.watch {
                Watch::None => {
                    self.ensure_watch()?;
                }
                Watch::Registered(_, id) if Some(*id) != current => {
                    let Watch::Registered(afd, _) = std::mem::replace(&mut self.watch, Watch::None)
                    else {
                        unreachable!("matched above")
                    };
                    self.watch = Watch::Kqueue(afd.into_inner());
                }
                Watch::Kqueue(_) => {
                    let Some(id) = current else {
                        return Poll::Ready(Err(io::Error::other(
                            "no tokio runtime is running; use conductor::blocking for code without one",
                        )));
                    };
                    let Watch::Kqueue(kq) = std::mem::replace(&mut self.watch, Watch::None) else {
                        unreachable!("matched above")
                    };
                    self.watch = Watch::Registered(register(kq, Interest::READABLE)?, id);
                }
                Watch::Registered(afd, _) => {
                    let mut guard = ready!(afd.poll_read_ready(cx))?;
                    let mut buf = Vec::with_capacity(1);
                    match take_exits(guard.get_inner().as_fd(), &mut buf, Some(Duration::ZERO))?
                        .first()
                    {
                        Some(exit) => self.exited = Some(exit.status),
                        None => guard.clear_ready(),
                    }
                }
            }
        }
    }

    /// Sends `sig`. A child that has already been reaped is not an error.
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        if self.done.is_some() {
            return Ok(());
        }
        kill(self.pid, sig)
    }

    /// Hands a child that may still run to the background reaper, killing it first if asked.
    pub fn orphan(mut self, kill_it: bool) {
        if kill_it {
            let _ = self.signal_tree(libc::SIGKILL);
        }
        if self.done.is_some() {
            return;
        }
        if let Ok(Some(_)) | Err(_) = self.try_wait() {
            // Reaped now, or not ours to reap any more.
            return;
        }
        reaper::adopt(self.pid);
    }
}
