//! Where `conductor each` runs its tasks beyond a plain local spawn: on the
//! hosts of `-S/--sshlogin` (one remote command per task, under the remote
//! guard) and/or under a `--launcher` prefix (e.g. `srun`), as a
//! [`Placement`] of the library's job runner.
//!
//! Each attempt takes a slot on the host with the most free slots among
//! those that are up ([`HostBook`]); an attempt whose ssh exits 255 (could
//! not connect, or lost the connection) marks its host down (tried again
//! with backoff) and runs again elsewhere, as a retry that does not use up
//! `--retries`. The runner's `{%}` slot is independent of the host.
//!
//! Containment: a remote task's tree on this machine is its ssh client, in
//! a process group of its own (its remote tree is the guard's process
//! group, stopped when the channel closes). A launcher runs outside the
//! task's process group (see [`crate::launcher`]), so `cgroup` is refused
//! with one and `best` means a process group.

use crate::launcher;
use crate::remote::hosts::HostBook;
use crate::remote::{self, Remote, Target};
use conductor::jobs::{Outcome, PlaceFuture, Placed, Placement};
use conductor::Containment;
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The hosts of a run and the launcher prefix.
pub struct Hosts {
    remote: Arc<Remote>,
    launcher: Option<String>,
    containment: Containment,
    book: Mutex<HostBook>,
    freed: tokio::sync::Notify,
}

impl Hosts {
    /// Hosts with `slots[i]` slots for login `i` of `remote`; `down` are
    /// hosts found unreachable at start (tried again after a backoff).
    pub fn new(
        remote: Arc<Remote>,
        slots: &[usize],
        down: &[String],
        launcher: Option<String>,
        containment: Containment,
    ) -> Hosts {
        let mut book = HostBook::new(slots);
        let now = Instant::now();
        for (i, l) in remote.logins().iter().enumerate() {
            if down.iter().any(|d| d == l.name()) {
                book.failed(i, now);
            }
        }
        Hosts {
            remote,
            launcher,
            containment,
            book: Mutex::new(book),
            freed: tokio::sync::Notify::new(),
        }
    }

    fn command(&self, i: usize, argv: &[OsString]) -> conductor::Command {
        let argv = launcher::prefixed(self.launcher.as_deref(), argv);
        let mut cmd = self.remote.wrap(i, &argv, remote::Input::Null);
        if self.is_ssh(i) {
            // The guard stops the remote tree when this pipe closes.
            cmd.containment(Containment::ProcessGroup)
                .stdin(conductor::Stdio::piped());
        } else {
            cmd.containment(self.containment)
                .stdin(conductor::Stdio::null());
        }
        cmd
    }

    fn is_ssh(&self, i: usize) -> bool {
        self.remote
            .logins()
            .get(i)
            .is_some_and(|l| matches!(l.target, Target::Ssh { .. }))
    }
}

impl Placement for Hosts {
    fn place<'a>(&'a self, _slot: usize, argv: &'a [OsString]) -> PlaceFuture<'a> {
        Box::pin(async move {
            loop {
                let freed = self.freed.notified();
                tokio::pin!(freed);
                freed.as_mut().enable();
                let (pick, retry) = {
                    let mut book = self.book.lock().expect("host book");
                    (book.pick(Instant::now()), book.next_retry())
                };
                if let Some(i) = pick {
                    return Some(Placed {
                        command: self.command(i, argv),
                        host: i,
                        name: self.remote.name(i).to_string(),
                    });
                }
                // Every up host is full, or every host is down: wait for a
                // slot to be freed or the next host to come back.
                let until = retry
                    .map(tokio::time::Instant::from_std)
                    .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(60));
                tokio::select! {
                    _ = freed => {}
                    _ = tokio::time::sleep_until(until) => {}
                }
            }
        })
    }

    fn finished(&self, host: usize, outcome: &Outcome) -> bool {
        let failed = self.is_ssh(host)
            && matches!(outcome, Outcome::Exited(s) if remote::is_host_failure(s.code()));
        {
            let mut book = self.book.lock().expect("host book");
            if failed {
                let delay = book.failed(host, Instant::now());
                eprintln!(
                    "conductor: host {} is down (ssh exit 255); its task runs again on the next free host; this one is tried again in {delay:?}",
                    self.remote.name(host)
                );
            } else {
                book.succeeded(host);
            }
        }
        self.freed.notify_waiters();
        failed
    }
}
