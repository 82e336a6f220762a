//! [`Process`]: a spawned Linux child, identified by its pidfd. Waiting is a
//! `waitid(P_PIDFD)`, either blocking or after the pidfd turns readable in
//! tokio's reactor; signals go through `pidfd_send_signal`. Without a pidfd
//! (the fallback), waiting is driven by SIGCHLD and signals by pid.

use super::memory::Memory;
use super::reaper;
use super::wait::{kill, pidfd_send_signal, waitid, Target};
use crate::pidfd::PidFd;
use crate::status::{ExitStatus, ResourceUsage, UsageSource};
use crate::sys::unix::async_pipe::try_register;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

#[derive(Debug)]
enum Handle {
    /// A pidfd not (yet) registered with a reactor.
    Pidfd(PidFd),
    /// A pidfd registered with the reactor of the runtime with this id.
    Registered(AsyncFd<PidFd>, tokio::runtime::Id),
    /// No pidfd: the SIGCHLD fallback, listening in the runtime with this id.
    Pid(Option<(tokio::signal::unix::Signal, tokio::runtime::Id)>),
    /// Transient state while converting.
    Empty,
}

/// What holds a child's process tree together.
#[derive(Debug)]
pub(crate) enum Tree {
    /// Only the direct child is known.
    Single,
    /// The child leads a process group (or session) with id = its pid.
    Group,
    /// The child and all its descendants are in this cgroup.
    Cgroup(super::cgroup::Cgroup),
}

/// A child process owned by this program.
#[derive(Debug)]
pub(crate) struct Process {
    pid: libc::pid_t,
    handle: Handle,
    done: Option<(ExitStatus, ResourceUsage)>,
    tree: Tree,
    /// The cgroup measuring (and perhaps limiting) the tree's memory.
    memory: Option<Memory>,
}

impl Process {
    pub fn new(
        pid: libc::pid_t,
        pidfd: Option<OwnedFd>,
        tree: Tree,
        memory: Option<Memory>,
    ) -> Process {
        Process {
            pid,
            tree,
            memory,
            handle: match pidfd {
                Some(fd) => Handle::Pidfd(PidFd::new(fd)),
                None => Handle::Pid(None),
            },
            done: None,
        }
    }

    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    pub fn pidfd(&self) -> Option<&PidFd> {
        match &self.handle {
            Handle::Pidfd(fd) => Some(fd),
            Handle::Registered(afd, _) => Some(afd.get_ref()),
            _ => None,
        }
    }

    fn target(&self) -> Target {
        match self.pidfd() {
            Some(fd) => Target::Pidfd(fd.as_raw_fd()),
            None => Target::Pid(self.pid),
        }
    }

    /// True once the direct child has been reaped.
    pub fn exited(&self) -> bool {
        self.done.is_some()
    }

    /// What the child used; for a cgroup tree, the CPU is read again now, so
    /// descendants that outlived the child (a tree stopped after a timeout)
    /// are counted up to this call.
    pub fn resource_usage(&self) -> Option<ResourceUsage> {
        let (_, mut ru) = self.done?;
        if let (Tree::Cgroup(cg), UsageSource::Cgroup) = (&self.tree, ru.cpu_source) {
            if let Ok((user, system)) = cg.cpu() {
                ru.user_time = user;
                ru.system_time = system;
            }
        }
        Some(ru)
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some((s, _)) = self.done {
            return Ok(Some(s));
        }
        let r = waitid(self.target(), false)?;
        self.finish(r)
    }

    fn finish(&mut self, r: Option<(ExitStatus, ResourceUsage)>) -> io::Result<Option<ExitStatus>> {
        if let Some((status, mut ru)) = r {
            self.account(&mut ru);
            self.done = Some((status, ru));
            super::subreaper::reaped(self.pid);
        }
        Ok(r.map(|d| d.0))
    }

    /// Replaces rusage's figures with the cgroups' where the child has them:
    /// the whole tree's CPU (`cpu.stat`), its memory peak and OOM kills.
    fn account(&self, ru: &mut ResourceUsage) {
        let tree = match &self.tree {
            Tree::Cgroup(cg) => Some(cg),
            _ => None,
        };
        if let Some((user, system)) = tree.and_then(|cg| cg.cpu().ok()) {
            ru.user_time = user;
            ru.system_time = system;
            ru.cpu_source = UsageSource::Cgroup;
        }
        if let Some(m) = &self.memory {
            m.account(tree, ru);
            m.release();
        }
    }

    pub fn wait_blocking(&mut self) -> io::Result<ExitStatus> {
        if let Some((s, _)) = self.done {
            return Ok(s);
        }
        let r = waitid(self.target(), true)?;
        match self.finish(r)? {
            Some(s) => Ok(s),
            None => Err(io::Error::other("waitid returned without a status")),
        }
    }

    /// Waits at most `timeout`; `None` if the child still runs then.
    pub fn wait_timeout_blocking(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        if let Some(s) = self.try_wait()? {
            return Ok(Some(s));
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.pidfd() {
                Some(fd) => {
                    let mut fds = [rustix::event::PollFd::new(
                        &fd,
                        rustix::event::PollFlags::IN,
                    )];
                    let ts = rustix::event::Timespec {
                        tv_sec: left.as_secs() as i64,
                        tv_nsec: left.subsec_nanos() as _,
                    };
                    match rustix::event::poll(&mut fds, Some(&ts)) {
                        Ok(_) | Err(rustix::io::Errno::INTR) => {}
                        Err(e) => return Err(crate::sys::unix::fd::errno_to_io(e)),
                    }
                }
                // Fallback: no descriptor to poll; check in short steps.
                None => std::thread::sleep(left.min(Duration::from_millis(5))),
            }
            if let Some(s) = self.try_wait()? {
                return Ok(Some(s));
            }
            if left.is_zero() {
                return Ok(None);
            }
        }
    }

    /// Polls for exit; cancel-safe (nothing is lost if the future is dropped).
    /// The handle follows the runtime it is polled in: one registered with
    /// another runtime's reactor (perhaps shut down since) is registered anew
    /// with the current one.
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let current = tokio::runtime::Handle::try_current().ok().map(|h| h.id());
        loop {
            if let Some((s, _)) = self.done {
                return Poll::Ready(Ok(s));
            }
            match &mut self.handle {
                Handle::Registered(_, id) if Some(*id) != current => {
                    let Handle::Registered(afd, _) =
                        std::mem::replace(&mut self.handle, Handle::Empty)
                    else {
                        unreachable!("matched above")
                    };
                    self.handle = Handle::Pidfd(afd.into_inner());
                }
                Handle::Pid(Some((_, id))) if Some(*id) != current => {
                    self.handle = Handle::Pid(None);
                }
                Handle::Pidfd(_) => {
                    let Handle::Pidfd(fd) = std::mem::replace(&mut self.handle, Handle::Empty)
                    else {
                        unreachable!("matched above")
                    };
                    // No probe first: a child that already exited makes the pidfd
                    // readable at once, and the common case saves a syscall.
                    match (try_register(fd, Interest::READABLE), current) {
                        (Ok(afd), Some(id)) => self.handle = Handle::Registered(afd, id),
                        (Ok(afd), None) => {
                            // Registered yet no runtime id: cannot happen; stay usable.
                            self.handle = Handle::Pidfd(afd.into_inner());
                            return Poll::Ready(Err(io::Error::other("no tokio runtime")));
                        }
                        (Err((fd, e)), _) => {
                            // Keep the pidfd: blocking waits and signals still need it.
                            self.handle = Handle::Pidfd(fd);
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                Handle::Registered(afd, _) => {
                    let mut guard = ready!(afd.poll_read_ready(cx))?;
                    match waitid(Target::Pidfd(guard.get_inner().as_raw_fd()), false)? {
                        Some(d) => {
                            drop(guard);
                            self.finish(Some(d))?;
                        }
                        None => guard.clear_ready(),
                    }
                }
                Handle::Pid(sig) => {
                    if sig.is_none() {
                        let Some(id) = current else {
                            return Poll::Ready(Err(io::Error::other("no tokio runtime")));
                        };
                        // Listen before checking, so an exit in between is not missed.
                        *sig = Some((
                            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())?,
                            id,
                        ));
                    }
                    if let Some(d) = waitid(Target::Pid(self.pid), false)? {
                        self.finish(Some(d))?;
                        continue;
                    }
                    if let Handle::Pid(Some((s, _))) = &mut self.handle {
                        if ready!(s.poll_recv(cx)).is_none() {
                            return Poll::Ready(Err(io::Error::other("SIGCHLD stream ended")));
                        }
                    }
                }
                Handle::Empty => {
                    return Poll::Ready(Err(io::Error::other(
                        "child handle is in an invalid state",
                    )))
                }
            }
        }
    }

    /// Sends `sig`. A child that has already been reaped is not an error.
    pub fn signal(&self, sig: i32) -> io::Result<()> {
        if self.done.is_some() {
            return Ok(());
        }
        match self.pidfd() {
            Some(fd) => pidfd_send_signal(std::os::fd::AsFd::as_fd(fd), sig),
            None => kill(self.pid, sig),
        }
    }

    /// Sends `sig` to the whole tree the containment holds (just the child without one).
    pub fn signal_tree(&self, sig: i32) -> io::Result<()> {
        match &self.tree {
            Tree::Single => self.signal(sig),
            Tree::Group => match kill(-self.pid, sig) {
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(()),
                r => r,
            },
            Tree::Cgroup(cg) => cg.signal(sig),
        }
    }

    /// True while the direct child runs or any other member of its tree is alive.
    pub fn tree_alive(&mut self) -> io::Result<bool> {
        if self.try_wait()?.is_none() {
            return Ok(true);
        }
        match &self.tree {
            Tree::Single => Ok(false),
            Tree::Group => match kill(-self.pid, 0) {
                Ok(()) => Ok(true),
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(false),
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => Ok(true),
                Err(e) => Err(e),
            },
            Tree::Cgroup(cg) => cg.populated(),
        }
    }

    /// The cgroup's events file, which polls POLLPRI when the tree empties.
    pub fn tree_events(&self) -> Option<OwnedFd> {
        match &self.tree {
            Tree::Cgroup(cg) => cg.events().ok(),
            _ => None,
        }
    }

    /// The cgroup directory holding the tree, if any.
    pub fn cgroup_path(&self) -> Option<&std::path::Path> {
        match &self.tree {
            Tree::Cgroup(cg) => Some(cg.path()),
            _ => None,
        }
    }

    /// Hands a child that may still run to the background reaper, killing it
    /// (and its contained tree) first if asked.
    pub fn orphan(mut self, kill_it: bool) {
        if kill_it {
            let _ = self.signal_tree(libc::SIGKILL);
        }
        if self.done.is_some() {
            return;
        }
        if let Ok(Some(_)) = self.try_wait() {
            return;
        }
        match std::mem::replace(&mut self.handle, Handle::Empty) {
            Handle::Pidfd(fd) => reaper::adopt_pidfd(fd.into_owned()),
            Handle::Registered(afd, _) => reaper::adopt_pidfd(afd.into_inner().into_owned()),
            Handle::Pid(_) => reaper::adopt_pid(self.pid),
            Handle::Empty => {}
        }
    }
}
