//! Worker slots and where they run: on this machine, or on a host of
//! `-S/--sshlogin` through ssh; and the command each slot's worker runs.
//!
//! A worker's command is built from the inside out: the program and its
//! arguments; `stdbuf -oL` in front with `--line-buffered` (it must wrap
//! the program itself, wherever that runs); the `--launcher` prefix (under
//! its guard); then, for a remote slot, ssh and the remote guard around all
//! of it, every word quoted for the remote shell.
//!
//! Containment (`--containment`) holds a worker's process tree on this
//! machine. A remote slot's tree on this machine is only its ssh client:
//! its remote tree is held by the remote guard's process group, stopped
//! when the channel closes. The ssh client is always put in a process group
//! of its own: a cgroup could not reach the remote processes, and it would
//! catch (and kill with the worker) an ssh ControlPersist master that the
//! worker's ssh started for a host that was down at start, cutting the
//! channels of the other slots on that host. A `--launcher` runs outside the
//! worker's process group on purpose (so that a stopped worker's `srun` is
//! told to cancel its step rather than killed): a cgroup would kill it with
//! the worker, so with a launcher `best` means a process group and `cgroup`
//! is refused.

use crate::launcher;
use crate::remote::{self, Remote, Target};
use crate::run::ContainmentArg;
use conductor::{Command, Containment};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;

/// The worker slots of a run and their hosts.
pub struct Slots {
    remote: Option<Arc<Remote>>,
    /// Slot -> login index (empty without `-S`: every slot is local).
    hosts: Vec<usize>,
    workers: usize,
}

impl Slots {
    /// Plans the slots: without logins, `workers` (or `default_jobs()`)
    /// local slots; with logins, each login's `N/`, else `workers`, else
    /// its CPU count (GNU parallel's default; the local machine's is
    /// `default_jobs()`).
    pub async fn plan(
        remote: Option<Arc<Remote>>,
        workers: Option<usize>,
        default_jobs: impl Fn() -> usize,
    ) -> Slots {
        let Some(r) = remote else {
            return Slots {
                remote: None,
                hosts: Vec::new(),
                workers: workers.unwrap_or_else(default_jobs),
            };
        };
        let hosts: Vec<usize> = r
            .slots(workers, default_jobs)
            .await
            .into_iter()
            .enumerate()
            .flat_map(|(i, n)| std::iter::repeat_n(i, n))
            .collect();
        Slots {
            workers: hosts.len(),
            remote: Some(r),
            hosts,
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.workers
    }

    /// Whether any worker is remote (host failures are then expected).
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// The host of a task's worker for `--json`, failures and the per-host
    /// tally: `None` without `-S`; `:` for this machine among hosts.
    pub fn host(&self, worker: Option<usize>) -> Option<&str> {
        let r = self.remote.as_ref()?;
        Some(r.name(*self.hosts.get(worker?)?))
    }

    /// Each slot's ssh host (`None` for a slot on this machine), for the
    /// prefix of its stderr lines.
    pub fn ssh_hosts(&self) -> Vec<Option<String>> {
        (0..self.workers)
            .map(|slot| {
                let r = self.remote.as_ref()?;
                let i = *self.hosts.get(slot)?;
                match r.logins().get(i)?.target {
                    Target::Local => None,
                    Target::Ssh { .. } => Some(r.name(i).to_string()),
                }
            })
            .collect()
    }

    /// The command of `slot`'s worker.
    pub fn command(&self, slot: usize, spec: &Worker) -> Command {
        let host = self.remote.as_ref().and_then(|r| {
            let i = *self.hosts.get(slot)?;
            let ssh = matches!(r.logins().get(i)?.target, Target::Ssh { .. });
            ssh.then_some((r, i))
        });
        let argv = launcher::prefixed(spec.launcher.as_deref(), &spec.argv);
        match host {
            None => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]).containment(spec.containment);
                if spec.line_buffered {
                    c.env("PYTHONUNBUFFERED", "1");
                }
                c
            }
            Some((r, i)) => {
                // The ssh client's environment does not reach the remote side.
                let mut words: Vec<OsString> = Vec::with_capacity(argv.len() + 2);
                if spec.line_buffered {
                    words.extend(["env".into(), "PYTHONUNBUFFERED=1".into()]);
                }
                words.extend(argv);
                let mut c = r.wrap(i, &words, remote::Input::PassThrough);
                c.containment(Containment::ProcessGroup);
                c
            }
        }
    }
}

/// What every worker runs, wherever it runs.
pub struct Worker {
    /// The program and its arguments (`stdbuf -oL` included).
    pub argv: Vec<OsString>,
    /// The `--launcher` prefix.
    pub launcher: Option<String>,
    /// `--line-buffered`: `PYTHONUNBUFFERED=1` too.
    pub line_buffered: bool,
    /// The containment of workers on this machine.
    pub containment: Containment,
}

/// The containment of workers on this machine, or why `--containment`
/// cannot be honoured (see the module docs).
///
/// ```ignore
/// assert_eq!(local_containment(ContainmentArg::Best, true), Ok(Containment::ProcessGroup));
/// ```
pub fn local_containment(arg: ContainmentArg, launcher: bool) -> Result<Containment, String> {
    match (arg, launcher) {
        (ContainmentArg::None, _) => Err(
            "--containment none: pool workers are always contained; use --containment group".into(),
        ),
        (arg, launcher) => launcher::containment(arg, launcher, "worker"),
    }
}

/// Tasks per host, for the line after the summary.
#[derive(Default)]
pub struct HostTally(BTreeMap<String, u64>);

impl HostTally {
    /// Counts a task done on `host` (nothing without one). The name is
    /// copied only the first time it is seen.
    pub fn count(&mut self, host: Option<&str>) {
        let Some(h) = host else { return };
        match self.0.get_mut(h) {
            Some(n) => *n += 1,
            None => {
                self.0.insert(h.to_string(), 1);
            }
        }
    }

    /// Whether a task was counted on a host other than `name`.
    pub fn any_but(&self, name: &str) -> bool {
        self.0.keys().any(|h| h != name)
    }

    /// `h0 40, h1 38`, or `None` when no task named a host.
    pub fn line(&self) -> Option<String> {
        if self.0.is_empty() {
            return None;
        }
        let hosts: Vec<String> = self.0.iter().map(|(h, n)| format!("{h} {n}")).collect();
        Some(hosts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_with_and_without_launcher() {
        assert_eq!(
            local_containment(ContainmentArg::Best, true),
            Ok(Containment::ProcessGroup)
        );
        assert_eq!(
            local_containment(ContainmentArg::Best, false),
            Ok(Containment::BestAvailable)
        );
        assert!(local_containment(ContainmentArg::Cgroup, true).is_err());
        assert_eq!(
            local_containment(ContainmentArg::Cgroup, false),
            Ok(Containment::Cgroup)
        );
        assert!(local_containment(ContainmentArg::None, false).is_err());
    }

    #[test]
    fn host_tally() {
        let mut t = HostTally::default();
        assert_eq!(t.line(), None);
        t.count(Some("b"));
        t.count(Some("a"));
        t.count(Some("b"));
        t.count(None);
        assert_eq!(t.line().as_deref(), Some("a 1, b 2"));
        assert!(t.any_but("a"));
        let mut local = HostTally::default();
        local.count(Some(":"));
        assert!(!local.any_but(":"));
    }
}
