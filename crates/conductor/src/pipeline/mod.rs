//! Pipelines: `a | b | c` without a shell, with `pipefail` semantics.
//!
//! A [`Pipeline`] (async) or [`blocking::Pipeline`](crate::blocking::Pipeline)
//! is built from commands (`a.pipe(b).pipe(c)`, or [`Pipeline::new`] from a
//! list). Every stage is spawned like any command (fork-free, nothing
//! inherited but its three streams), with a pipe from each stage's stdout to
//! the next one's stdin; the parent keeps no pipe end, so an early-exiting
//! reader (`head`) gives the writer before it a broken pipe at once.
//!
//! The whole pipeline is one process group (the first stage leads it, the
//! others join it), so a timeout or [`terminate`](PipelineChild::terminate)
//! stops every stage and whatever each started in the group. A stage's own
//! containment and process group are replaced by the pipeline's.
//!
//! The [`PipelineStatus`] holds every stage's status, in order; it is a
//! success when every stage succeeded (bash's `pipefail`), and names the
//! failing stage (the last failing one, as bash reports). A stage other
//! than the last killed by SIGPIPE (a writer whose reader exited first, as
//! `yes` in `yes | head -1`) is not a failure unless
//! [`sigpipe_is_failure`](Pipeline::sigpipe_is_failure) says so.
//!
//! The first stage's stdin, the last stage's stdout and every stage's
//! stderr are set on the pipeline like a `Command`'s (a stage's own setting
//! wins for its stdin when first, its stdout when last, its stderr always).
//! `output()` captures the last stage's stdout and every stage's stderr
//! (concatenated in stage order).
//!
//! Unix only (the group is a Unix process group).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), conductor::Error> {
//! use conductor::Command;
//! let mut head = Command::new("head");
//! head.args(["-n", "3"]);
//! let out = Command::new("yes").pipe(head).output().await?;
//! assert_eq!(out.stdout, b"y\ny\ny\n");
//! assert!(out.status.success()); // yes's SIGPIPE is not a failure
//! # Ok(()) }
//! ```

/// The `Pipeline` builder, `Command::pipe` and the spawn loop, the same on
/// the async and the blocking pipeline (their examples use the blocking one);
/// expanded in each shell, where `Command`, `Child`, `Pipeline` and
/// `PipelineChild` name that shell's types.
macro_rules! pipeline_builder {
    () => {
        impl Command {
            /// A pipeline of this command into `next` (`self | next`).
            ///
            /// ```
            /// # fn main() -> Result<(), conductor::Error> {
            /// use conductor::blocking::Command;
            /// let mut wc = Command::new("wc");
            /// wc.arg("-l");
            /// let out = Command::new("printf").arg("1\\n2\\n").to_owned_command().pipe(wc).output()?;
            /// assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "2");
            /// # Ok(()) }
            /// ```
            pub fn pipe(self, next: Command) -> Pipeline {
                Pipeline::new([self, next])
            }

            /// Moves a configured command out of a builder chain (which yields
            /// `&mut Command`), leaving a command that runs the same program with
            /// no other settings behind: `Command::new("a").arg("x").to_owned_command()`.
            ///
            /// ```
            /// let cmd: conductor::blocking::Command = conductor::blocking::Command::new("ls").arg("-l").to_owned_command();
            /// assert_eq!(cmd.get_args().count(), 1);
            /// ```
            pub fn to_owned_command(&mut self) -> Command {
                let fresh = Command::new(self.get_program());
                std::mem::replace(self, fresh)
            }
        }

        impl Pipeline {
            /// A pipeline of `stages`, in order (at least one; spawning an empty
            /// pipeline fails with `InvalidInput`).
            ///
            /// ```
            /// use conductor::blocking::{Command, Pipeline};
            /// let p = Pipeline::new([Command::new("yes"), Command::new("head")]);
            /// assert_eq!(p.len(), 2);
            /// ```
            pub fn new<I: IntoIterator<Item = Command>>(stages: I) -> Pipeline {
                Pipeline {
                    stages: stages.into_iter().collect(),
                    settings: Settings::default(),
                }
            }

            /// Appends a stage: `self | next`.
            ///
            /// ```
            /// use conductor::blocking::Command;
            /// let p = Command::new("cat").pipe(Command::new("sort")).pipe(Command::new("uniq"));
            /// assert_eq!(p.len(), 3);
            /// ```
            pub fn pipe(mut self, next: Command) -> Pipeline {
                self.stages.push(next);
                self
            }

            /// The number of stages.
            ///
            /// ```
            /// assert_eq!(conductor::blocking::Pipeline::new([]).len(), 0);
            /// ```
            pub fn len(&self) -> usize {
                self.stages.len()
            }

            /// True for a pipeline without stages.
            ///
            /// ```
            /// assert!(conductor::blocking::Pipeline::new([]).is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.stages.is_empty()
            }

            /// The first stage's stdin (unless that stage set its own).
            ///
            /// ```
            /// use conductor::{blocking::Command, Stdio};
            /// Command::new("cat").pipe(Command::new("wc")).stdin(Stdio::null());
            /// ```
            pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Pipeline {
                self.settings.stdin = Some(cfg.into());
                self
            }

            /// The last stage's stdout (unless that stage set its own).
            ///
            /// ```
            /// use conductor::{blocking::Command, Stdio};
            /// Command::new("cat").pipe(Command::new("wc")).stdout(Stdio::null());
            /// ```
            pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Pipeline {
                self.settings.stdout = Some(cfg.into());
                self
            }

            /// Every stage's stderr (except a stage that set its own).
            ///
            /// ```
            /// use conductor::{blocking::Command, Stdio};
            /// Command::new("cat").pipe(Command::new("wc")).stderr(Stdio::null());
            /// ```
            pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Pipeline {
                self.settings.stderr = Some(cfg.into());
                self
            }

            /// A time limit for `status()` and `output()`: when it expires the
            /// pipeline's process group gets SIGTERM, then SIGKILL after the
            /// [`grace`](Self::grace), and the call fails with a `TimedOut` error.
            ///
            /// ```
            /// use std::time::Duration;
            /// conductor::blocking::Command::new("yes").pipe(conductor::blocking::Command::new("wc")).timeout(Duration::from_secs(9));
            /// ```
            pub fn timeout(&mut self, limit: Duration) -> &mut Pipeline {
                self.settings.timeout = Some(limit);
                self
            }

            /// Time between SIGTERM and SIGKILL when the timeout expires (default 5 s).
            ///
            /// ```
            /// use std::time::Duration;
            /// conductor::blocking::Command::new("yes").pipe(conductor::blocking::Command::new("wc")).grace(Duration::from_secs(1));
            /// ```
            pub fn grace(&mut self, grace: Duration) -> &mut Pipeline {
                self.settings.grace = grace;
                self
            }

            /// Whether a stage other than the last killed by SIGPIPE fails the
            /// pipeline (default: no, as in `yes | head -1`).
            ///
            /// ```
            /// # fn main() -> Result<(), conductor::Error> {
            /// let mut head = conductor::blocking::Command::new("head");
            /// head.args(["-n", "1"]);
            /// let status = conductor::blocking::Command::new("yes").pipe(head).sigpipe_is_failure(true)
            ///     .stdout(conductor::Stdio::null()).status()?;
            /// assert_eq!(status.failed_stage(), Some(0));
            /// # Ok(()) }
            /// ```
            pub fn sigpipe_is_failure(&mut self, on: bool) -> &mut Pipeline {
                self.settings.sigpipe_is_failure = on;
                self
            }

            fn spawn_with(&mut self, defaults: [StdioDefault; 3]) -> Result<PipelineChild> {
                super::check_stages(self.stages.len())?;
                let count = self.stages.len();
                let mut pipes = super::pipes(count)?.into_iter();
                let mut input = None;
                let mut children: Vec<Child> = Vec::with_capacity(count);
                let mut pgid = None;
                let programs: Vec<OsString> = self
                    .stages
                    .iter()
                    .map(|c| c.get_program().to_owned())
                    .collect();
                for (i, stage) in self.stages.iter_mut().enumerate() {
                    let (next_input, output) = match pipes.next() {
                        Some((r, w)) => (Some(r), Some(w)),
                        None => (None, None),
                    };
                    let saved = super::wire(
                        &mut stage.spec,
                        &self.settings,
                        i,
                        count,
                        input.take(),
                        output,
                        pgid,
                    );
                    let spawned = stage.spawn_with(defaults, true);
                    super::unwire(&mut stage.spec, saved);
                    input = next_input;
                    match spawned {
                        Ok(child) => {
                            pgid.get_or_insert(child.id());
                            children.push(child);
                        }
                        Err(e) => {
                            if let Some(g) = pgid {
                                let _ = super::signal_group(g, libc::SIGKILL);
                            }
                            return Err(e);
                        }
                    }
                }
                let stdin = children.first_mut().and_then(|c| c.stdin.take());
                let stdout = children.last_mut().and_then(|c| c.stdout.take());
                Ok(PipelineChild {
                    stdin,
                    stdout,
                    pgid: pgid.unwrap_or(0),
                    children,
                    programs,
                    settings: Settings {
                        timeout: self.settings.timeout,
                        grace: self.settings.grace,
                        sigpipe_is_failure: self.settings.sigpipe_is_failure,
                        ..Settings::default()
                    },
                })
            }
        }
    };
}
pub(crate) use pipeline_builder;

/// The `PipelineChild` methods that do not wait, the same on both shells
/// (their examples use the blocking one).
macro_rules! pipeline_child_methods {
    () => {
        /// The stages' process ids, in order.
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::blocking::Command::new("true").pipe(conductor::blocking::Command::new("true")).spawn()?;
        /// assert_eq!(p.ids().len(), 2);
        /// p.wait()?;
        /// # Ok(()) }
        /// ```
        pub fn ids(&self) -> Vec<u32> {
            self.children.iter().map(Child::id).collect()
        }

        /// The process group every stage is in (the first stage's id).
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::blocking::Command::new("true").pipe(conductor::blocking::Command::new("true")).spawn()?;
        /// assert_eq!(p.process_group(), p.ids()[0]);
        /// p.wait()?;
        /// # Ok(()) }
        /// ```
        pub fn process_group(&self) -> u32 {
            self.pgid
        }

        /// Sends `sig` to every process in the pipeline's group.
        ///
        /// # Errors
        ///
        /// [`Operation::Signal`](crate::Operation::Signal) when the group cannot be signalled.
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::blocking::Command::new("sleep").arg("300").to_owned_command()
        ///     .pipe(conductor::blocking::Command::new("cat")).spawn()?;
        /// p.signal(libc::SIGKILL)?;
        /// assert!(!p.wait()?.success());
        /// # Ok(()) }
        /// ```
        pub fn signal(&self, sig: i32) -> Result<()> {
            super::signal_group(self.pgid, sig)
        }
    };
}
pub(crate) use pipeline_child_methods;

mod async_pipeline;
mod shell;
pub(crate) mod blocking_pipeline;

pub use async_pipeline::{Pipeline, PipelineChild};

use crate::error::{Error, Result};
use crate::spec::CommandSpec;
use crate::status::ExitStatus;
use crate::stdio::{Stdio, StdioKind};
use crate::Containment;
use std::ffi::OsString;
use std::time::Duration;

/// How a pipeline ended: every stage's status, in order, judged with
/// `pipefail` semantics.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::blocking::Command;
/// let status = Command::new("true").pipe(Command::new("false")).pipe(Command::new("true")).status()?;
/// assert!(!status.success());
/// assert_eq!(status.failed_stage(), Some(1));
/// assert_eq!(status.code(), Some(1));
/// assert_eq!(status.statuses().len(), 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineStatus {
    statuses: Vec<ExitStatus>,
    programs: Vec<OsString>,
    sigpipe_is_failure: bool,
}

impl PipelineStatus {
    /// Each stage's status, first stage first.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let status = Command::new("false").pipe(Command::new("true")).status()?;
    /// assert_eq!(status.statuses()[0].code(), Some(1));
    /// # Ok(()) }
    /// ```
    pub fn statuses(&self) -> &[ExitStatus] {
        &self.statuses
    }

    /// Whether stage `index` counts as failed: it did not succeed, and it is
    /// not a writer killed by SIGPIPE (unless those count).
    fn stage_failed(&self, index: usize) -> bool {
        let s = &self.statuses[index];
        if s.success() {
            return false;
        }
        let last = index + 1 == self.statuses.len();
        let sigpipe = s.signal() == Some(libc::SIGPIPE);
        !(sigpipe && !last && !self.sigpipe_is_failure)
    }

    /// The index of the stage that failed the pipeline: the last one that
    /// failed (as bash's `pipefail` reports), or `None` on success.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let status = Command::new("true").pipe(Command::new("false")).status()?;
    /// assert_eq!(status.failed_stage(), Some(1));
    /// # Ok(()) }
    /// ```
    pub fn failed_stage(&self) -> Option<usize> {
        (0..self.statuses.len())
            .rev()
            .find(|&i| self.stage_failed(i))
    }

    /// True when no stage failed.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// assert!(Command::new("true").pipe(Command::new("true")).status()?.success());
    /// # Ok(()) }
    /// ```
    pub fn success(&self) -> bool {
        self.failed_stage().is_none()
    }

    /// The status that decides the pipeline's: the failing stage's, or the
    /// last stage's on success.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let status = Command::new("sh").args(["-c", "exit 7"]).to_owned_command()
    ///     .pipe(Command::new("true")).status()?;
    /// assert_eq!(status.deciding().code(), Some(7));
    /// # Ok(()) }
    /// ```
    pub fn deciding(&self) -> ExitStatus {
        let i = self
            .failed_stage()
            .unwrap_or(self.statuses.len().saturating_sub(1));
        self.statuses[i]
    }

    /// The exit code of the [`deciding`](Self::deciding) status (`None` when
    /// that stage was killed by a signal).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// assert_eq!(Command::new("true").pipe(Command::new("true")).status()?.code(), Some(0));
    /// # Ok(()) }
    /// ```
    pub fn code(&self) -> Option<i32> {
        self.deciding().code()
    }

    /// `Ok(())` on success; otherwise a [`StageFailed`] naming the stage.
    ///
    /// # Errors
    ///
    /// [`StageFailed`] for the stage that decides the pipeline's status (the last unsuccessful
    /// one, as `pipefail`).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let status = Command::new("true").pipe(Command::new("false")).status()?;
    /// let err = status.exit_ok().unwrap_err();
    /// assert_eq!(err.index, 1);
    /// assert_eq!(err.to_string(), "pipeline stage 1 (false) failed: exit status: 1");
    /// # Ok(()) }
    /// ```
    pub fn exit_ok(&self) -> std::result::Result<(), StageFailed> {
        match self.failed_stage() {
            None => Ok(()),
            Some(index) => Err(StageFailed {
                index,
                program: self.programs[index].clone(),
                status: self.statuses[index],
            }),
        }
    }
}

/// A pipeline that failed: which stage, which program, how it ended.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::blocking::Command;
/// let err = Command::new("false").pipe(Command::new("true")).status()?.exit_ok().unwrap_err();
/// assert_eq!((err.index, err.status.code()), (0, Some(1)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pipeline stage {index} ({}) failed: {status}", program.to_string_lossy())]
pub struct StageFailed {
    /// The stage's index, 0 for the first.
    pub index: usize,
    /// The stage's program.
    pub program: OsString,
    /// How it ended.
    pub status: ExitStatus,
}

/// What a pipeline's `output()` collected.
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::blocking::Command;
/// let mut tr = Command::new("tr");
/// tr.args(["a-z", "A-Z"]);
/// let out = Command::new("echo").arg("hi").to_owned_command().pipe(tr).output()?;
/// assert_eq!(out.stdout, b"HI\n");
/// assert!(out.stderr.is_empty() && out.status.success());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineOutput {
    /// Every stage's status.
    pub status: PipelineStatus,
    /// The last stage's stdout (when captured).
    pub stdout: Vec<u8>,
    /// Every stage's stderr (when captured), concatenated in stage order.
    pub stderr: Vec<u8>,
}

/// The pipeline-wide settings shared by both shells.
#[derive(Debug)]
pub(crate) struct Settings {
    pub stdin: Option<Stdio>,
    pub stdout: Option<Stdio>,
    pub stderr: Option<Stdio>,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub sigpipe_is_failure: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            stdin: None,
            stdout: None,
            stderr: None,
            timeout: None,
            grace: Duration::from_secs(5),
            sigpipe_is_failure: false,
        }
    }
}

/// A copy of a `Stdio` for one more stage.
fn copy_stdio(s: &Stdio) -> Stdio {
    Stdio(match &s.0 {
        StdioKind::Inherit => StdioKind::Inherit,
        StdioKind::Null => StdioKind::Null,
        StdioKind::Piped => StdioKind::Piped,
        StdioKind::MergeStdout => StdioKind::MergeStdout,
        StdioKind::Owned(fd) => match fd.try_clone() {
            Ok(fd) => StdioKind::Owned(fd),
            Err(e) => StdioKind::Failed(e),
        },
        StdioKind::Failed(e) => StdioKind::Failed(std::io::Error::new(e.kind(), e.to_string())),
    })
}

/// What a stage's spec had before the pipeline wired it, put back after
/// its spawn (dropping the pipeline's pipe ends with the swapped-in values).
pub(crate) struct Saved {
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    containment: Containment,
    process_group: Option<i32>,
    setsid: bool,
}

/// Wires stage `index` of `count`: its stdin from `input` (the previous
/// stage's pipe) or the pipeline's, its stdout to `output` (the next
/// stage's pipe) or the pipeline's, its stderr the pipeline's unless set;
/// the group `pgid` (None: the stage leads a new one).
pub(crate) fn wire(
    spec: &mut CommandSpec,
    settings: &Settings,
    index: usize,
    count: usize,
    input: Option<std::io::PipeReader>,
    output: Option<std::io::PipeWriter>,
    pgid: Option<u32>,
) -> Saved {
    let saved = Saved {
        stdin: spec.stdin.take(),
        stdout: spec.stdout.take(),
        stderr: spec.stderr.take(),
        containment: spec.containment,
        process_group: spec.unix.process_group,
        setsid: spec.unix.setsid,
    };
    let own = |s: &Option<Stdio>| s.as_ref().map(copy_stdio);
    spec.stdin = match input {
        Some(p) => Some(p.into()),
        None if index == 0 => own(&saved.stdin).or_else(|| settings.stdin.as_ref().map(copy_stdio)),
        None => None,
    };
    spec.stdout = match output {
        Some(p) => Some(p.into()),
        None if index + 1 == count => {
            own(&saved.stdout).or_else(|| settings.stdout.as_ref().map(copy_stdio))
        }
        None => None,
    };
    spec.stderr = own(&saved.stderr).or_else(|| settings.stderr.as_ref().map(copy_stdio));
    spec.containment = Containment::None;
    spec.unix.setsid = false;
    spec.unix.process_group = Some(pgid.map_or(0, |g| g as i32));
    saved
}

/// Puts back what [`wire`] replaced.
pub(crate) fn unwire(spec: &mut CommandSpec, saved: Saved) {
    spec.stdin = saved.stdin;
    spec.stdout = saved.stdout;
    spec.stderr = saved.stderr;
    spec.containment = saved.containment;
    spec.unix.process_group = saved.process_group;
    spec.unix.setsid = saved.setsid;
}

/// The pipes between `count` stages: (reader for stage i+1, writer for stage i).
pub(crate) fn pipes(count: usize) -> Result<Vec<(std::io::PipeReader, std::io::PipeWriter)>> {
    (1..count)
        .map(|_| {
            std::io::pipe().map_err(|e| {
                Error::new(crate::Operation::Stdio, e)
                    .with_detail("cannot create a pipeline's pipe")
            })
        })
        .collect()
}

/// Checks a pipeline has a stage.
pub(crate) fn check_stages(count: usize) -> Result<()> {
    if count == 0 {
        return Err(Error::invalid_input(
            std::ffi::OsStr::new("pipeline"),
            "a pipeline needs at least one command",
        ));
    }
    Ok(())
}

/// The pipeline as a shell would write it, for errors and logs.
pub(crate) fn describe(programs: &[OsString]) -> OsString {
    let mut s = OsString::new();
    for (i, p) in programs.iter().enumerate() {
        if i > 0 {
            s.push(" | ");
        }
        s.push(p);
    }
    s
}

/// Sends `sig` to the pipeline's process group.
pub(crate) fn signal_group(pgid: u32, sig: i32) -> Result<()> {
    crate::sys::signal_group(pgid, sig).map_err(|e| {
        Error::new(crate::Operation::Signal, e).with_detail("pipeline's process group")
    })
}

pub(crate) fn status(
    statuses: Vec<ExitStatus>,
    programs: Vec<OsString>,
    settings: &Settings,
) -> PipelineStatus {
    PipelineStatus {
        statuses,
        programs,
        sigpipe_is_failure: settings.sigpipe_is_failure,
    }
}

/// What `wait_with_output` returns once every stage's output is in (first
/// stage first): the last stage's stdout, every stage's stderr in order, and
/// the `Timeout` error instead when the pipeline's timeout stopped it.
pub(crate) fn collected(
    outputs: Vec<crate::Output>,
    programs: &[OsString],
    settings: &Settings,
    stopped: bool,
) -> Result<PipelineOutput> {
    let last = outputs.len().saturating_sub(1);
    let mut statuses = Vec::with_capacity(outputs.len());
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for (i, out) in outputs.into_iter().enumerate() {
        statuses.push(out.status);
        stderr.extend_from_slice(&out.stderr);
        if i == last {
            stdout = out.stdout;
        }
    }
    let status = status(statuses, programs.to_vec(), settings);
    if stopped {
        return Err(timed_out(
            programs,
            settings.timeout.unwrap_or_default(),
            &status,
            stdout,
            stderr,
        ));
    }
    Ok(PipelineOutput {
        status,
        stdout,
        stderr,
    })
}

/// The error for a pipeline stopped at its timeout, with what it wrote.
pub(crate) fn timed_out(
    programs: &[OsString],
    limit: Duration,
    status: &PipelineStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
) -> Error {
    Error::timed_out(
        &describe(programs),
        limit,
        crate::Output {
            status: status.deciding(),
            stdout,
            stderr,
        },
    )
}
