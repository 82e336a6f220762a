//! Running tasks and workers on other machines over ssh (`-S/--sshlogin`,
//! `--sshloginfile`, `--ssh`), with GNU parallel's conventions.
//!
//! * [`login`]: parsing `[N/]LOGIN` and login files.
//! * [`quote`]: POSIX shell quoting; the remote side always runs a shell.
//! * [`guard`]: the `sh` guard that stops a remote task's process group
//!   when its channel closes (no remote orphans).
//! * [`master`]: one OpenSSH ControlMaster per host in a private directory.
//! * [`hosts`]: which host is up, which is down and when to try it again.
//! * [`Remote`]: all of it together; [`Remote::wrap`] turns a program and
//!   its arguments into the local `ssh ... -- exec sh -c '<guard>' ...`
//!   command, for `pool` (one long-lived worker per slot) and `each` (one
//!   command per task) alike.

pub mod guard;
pub mod hosts;
pub mod login;
pub mod master;
pub mod quote;

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;

pub use guard::Input;
pub use login::{Login, Target};

/// ssh's exit status when it could not connect (or the connection broke);
/// a remote command's own status otherwise.
pub const SSH_FAILED: i32 = 255;

/// Whether a wrapped command's exit code says the host failed rather than
/// the task (ssh exits 255 when it cannot connect or loses the connection).
///
/// ```ignore
/// assert!(is_host_failure(Some(255)));
/// assert!(!is_host_failure(Some(1)));
/// ```
pub fn is_host_failure(code: Option<i32>) -> bool {
    code == Some(SSH_FAILED)
}

/// The hosts of a run, their masters and how to reach them.
#[derive(Debug)]
pub struct Remote {
    logins: Vec<Login>,
    ssh: Vec<OsString>,
    control: Option<master::ControlDir>,
    grace: Duration,
}

/// Hosts that could not be reached at start: (name, ssh's complaint).
pub type Unreachable = Vec<(String, String)>;

impl Remote {
    /// Sets up `logins`: `ssh` is the `--ssh` client (split on white space;
    /// default `ssh`), used by logins that name only a host. With
    /// `multiplex`, starts one ControlMaster per distinct ssh host and
    /// reports those that cannot be reached (they stay in the run: their
    /// slots try again later, with backoff).
    pub async fn start(
        logins: Vec<Login>,
        ssh: Option<&str>,
        multiplex: bool,
    ) -> std::io::Result<(Remote, Unreachable)> {
        let ssh: Vec<OsString> = ssh
            .unwrap_or("ssh")
            .split_whitespace()
            .map(OsString::from)
            .collect();
        let has_remote = logins.iter().any(|l| l.target != Target::Local);
        let remote = Remote {
            logins,
            ssh: if ssh.is_empty() {
                vec!["ssh".into()]
            } else {
                ssh
            },
            control: if multiplex && has_remote {
                Some(master::ControlDir::new()?)
            } else {
                None
            },
            grace: Duration::from_secs(2),
        };
        let mut down = Vec::new();
        if let Some(control) = &remote.control {
            // One master per distinct ssh command, all connecting at once.
            let mut seen = std::collections::HashSet::new();
            let firsts: Vec<(usize, Vec<OsString>)> = (0..remote.logins.len())
                .filter_map(|i| Some((i, remote.ssh_argv(i)?)))
                .filter(|(_, argv)| seen.insert(argv.clone()))
                .collect();
            let results = join_all(firsts.iter().map(|(_, argv)| control.start(argv))).await;
            for ((i, _), result) in firsts.iter().zip(results) {
                if let Err(why) = result {
                    down.push((remote.logins[*i].name().to_string(), why));
                }
            }
        }
        Ok((remote, down))
    }

    /// Asks each remote login that is up for its number of CPUs (`nproc`),
    /// all at once: GNU parallel's default number of slots per host.
    /// `None` for the local machine and for hosts that did not answer.
    pub async fn remote_cpus(&self) -> Vec<Option<usize>> {
        let probe = |i: usize| {
            let mut cmd = self.ssh_command(i)?;
            cmd.arg("nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1")
                .stdin(conductor::Stdio::null())
                .stdout(conductor::Stdio::piped())
                .stderr(conductor::Stdio::null())
                .timeout(Duration::from_secs(30));
            Some(async move {
                let out = cmd.output().await.ok()?;
                let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
                (out.status.success() && n > 0).then_some(n)
            })
        };
        join_all((0..self.logins.len()).map(|i| {
            let p = probe(i);
            async move {
                match p {
                    Some(p) => p.await,
                    None => None,
                }
            }
        }))
        .await
    }

    /// The number of slots on each login: its own count, else `jobs`, else
    /// `default_jobs()` for this machine and the host's CPUs for an ssh
    /// host (asked only when some login needs them; 1 if it did not answer).
    pub async fn slots(&self, jobs: Option<usize>, default_jobs: impl Fn() -> usize) -> Vec<usize> {
        let cpus = if jobs.is_none() && self.logins.iter().any(|l| l.slots.is_none()) {
            self.remote_cpus().await
        } else {
            Vec::new()
        };
        self.logins
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.slots.or(jobs).unwrap_or_else(|| match l.target {
                    Target::Local => default_jobs(),
                    Target::Ssh { .. } => cpus.get(i).copied().flatten().unwrap_or(1),
                })
            })
            .collect()
    }

    /// `ssh [options] host --` for login `i`, ready for the remote command line.
    fn ssh_command(&self, i: usize) -> Option<conductor::Command> {
        let ssh = self.ssh_argv(i)?;
        let (client, rest) = ssh.split_first()?;
        let (host, options) = rest.split_last()?;
        let mut cmd = conductor::Command::new(client);
        cmd.args(options);
        if let Some(control) = &self.control {
            cmd.args(control.options());
        }
        cmd.args(["-T", "-o", "BatchMode=yes"]).arg(host).arg("--");
        Some(cmd)
    }

    /// The logins, in the order given.
    pub fn logins(&self) -> &[Login] {
        &self.logins
    }

    /// Login `i`'s ssh client, its own options and the host (last), or
    /// `None` for the local machine.
    fn ssh_argv(&self, i: usize) -> Option<Vec<OsString>> {
        match &self.logins.get(i)?.target {
            Target::Local => None,
            Target::Ssh { command, host } => {
                let mut argv: Vec<OsString> = if command.is_empty() {
                    self.ssh.clone()
                } else {
                    command.iter().map(OsString::from).collect()
                };
                argv.push(host.into());
                Some(argv)
            }
        }
    }

    /// The command that runs `argv` for login `i`: as is on the local
    /// machine, or through ssh under the [`guard`] with every argument
    /// quoted. The caller keeps the command's stdin open (a pipe) for as
    /// long as the task runs: its EOF stops the remote task.
    ///
    /// ```ignore
    /// let cmd = remote.wrap(0, &["wc".into(), "-l".into()], Input::PassThrough);
    /// ```
    pub fn wrap(&self, i: usize, argv: &[OsString], input: Input) -> conductor::Command {
        let Some(mut cmd) = self.ssh_command(i) else {
            let mut cmd = conductor::Command::new(&argv[0]);
            cmd.args(&argv[1..]);
            return cmd;
        };
        let words: Vec<Vec<u8>> = argv.iter().map(|a| a.as_bytes().to_vec()).collect();
        cmd.arg(OsString::from_vec(guard::command_line(
            &words, input, self.grace,
        )));
        cmd
    }

    /// Closes the masters and removes their directory (also done on drop;
    /// call it before `process::exit`).
    pub fn close(&self) {
        if let Some(control) = &self.control {
            control.close();
        }
    }

    /// Login `i`'s name for summaries and `--json`.
    pub fn name(&self, i: usize) -> &str {
        self.logins.get(i).map_or("?", Login::name)
    }
}

/// Runs every future to completion, concurrently; results in order.
async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, d) in futures.iter_mut().zip(done.iter_mut()) {
            if d.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *d = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter()
        .map(|d| d.expect("every future finished"))
        .collect()
}

/// Every login from `-S` values and `--sshloginfile` files, in order.
///
/// ```ignore
/// let logins = collect(&["2/a,b".into()], &[])?;
/// assert_eq!(logins.len(), 2);
/// ```
pub fn collect(sshlogin: &[String], files: &[std::path::PathBuf]) -> Result<Vec<Login>, String> {
    let mut logins = Vec::new();
    for v in sshlogin {
        logins.extend(login::parse(v).map_err(|e| format!("--sshlogin: {e}"))?);
    }
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("--sshloginfile: cannot read {}: {e}", f.display()))?;
        logins.extend(
            login::parse_file(&text).map_err(|e| format!("--sshloginfile {}: {e}", f.display()))?,
        );
    }
    Ok(logins)
}
