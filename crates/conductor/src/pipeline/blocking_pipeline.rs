//! The blocking shell around the shared pipeline logic: [`Pipeline`] and
//! [`PipelineChild`] for code without a runtime.

use super::{PipelineOutput, PipelineStatus, Settings};
use crate::blocking::{Child, Command};
use crate::blocking::{ChildStdin, ChildStdout};
use crate::error::{Error, Result};
use crate::stdio::Stdio;
use crate::sys::StdioDefault;
use std::ffi::OsString;
use std::time::Duration;

/// `a | b | c` (blocking API): see the [module documentation](crate::pipeline).
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::blocking::{Command, Pipeline};
/// let mut sort = Command::new("sort");
/// sort.arg("-r");
/// let out = Pipeline::new([Command::new("printf").arg("a\\nb\\nc\\n").to_owned_command(), sort])
///     .output()
///     ?;
/// assert_eq!(out.stdout, b"c\nb\na\n");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Pipeline {
    stages: Vec<Command>,
    settings: Settings,
}

super::pipeline_builder!();

impl Pipeline {
    /// Starts every stage; the ends' streams default to the parent's.
    ///
    /// # Errors
    ///
    /// The failure of the first stage that could not be spawned (see
    /// [`Command::spawn`](crate::Command::spawn)); the stages already started are killed and
    /// reaped.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// use std::io::Read;
    /// let mut p = Command::new("echo").arg("hi").to_owned_command().pipe(Command::new("cat"))
    ///     .stdout(Stdio::piped()).spawn()?;
    /// let mut got = String::new();
    /// p.stdout.take().unwrap().read_to_string(&mut got).map_err(conductor::Error::from)?;
    /// assert_eq!(got, "hi\n");
    /// assert!(p.wait()?.success());
    /// # Ok(()) }
    /// ```
    pub fn spawn(&mut self) -> Result<PipelineChild> {
        self.spawn_with([StdioDefault::Inherit; 3])
    }

    /// Runs the pipeline to completion with inherited ends.
    ///
    /// # Errors
    ///
    /// The failure of the first stage that could not be spawned (see
    /// [`Command::spawn`](crate::Command::spawn)); the stages already started are killed and
    /// reaped; then `Wait` or `Io` when a wait or a pipe fails, and `Timeout` (carrying the
    /// status so far) when the pipeline's timeout stopped it. A stage that exits unsuccessfully
    /// is not an error: see
    /// [`PipelineStatus::exit_ok`](crate::pipeline::PipelineStatus::exit_ok).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let status = Command::new("true").pipe(Command::new("false")).status()?;
    /// assert_eq!(status.failed_stage(), Some(1));
    /// # Ok(()) }
    /// ```
    pub fn status(&mut self) -> Result<PipelineStatus> {
        let child = self.spawn()?;
        Ok(child.wait_with_output()?.status)
    }

    /// Runs the pipeline to completion, capturing the last stage's stdout
    /// and every stage's stderr (the first stage's stdin is the null
    /// device unless set).
    ///
    /// # Errors
    ///
    /// The failure of the first stage that could not be spawned (see
    /// [`Command::spawn`](crate::Command::spawn)); the stages already started are killed and
    /// reaped; then `Wait` or `Io` when a wait or a pipe fails, and `Timeout` (carrying the
    /// status so far) when the pipeline's timeout stopped it. A stage that exits unsuccessfully
    /// is not an error: see
    /// [`PipelineStatus::exit_ok`](crate::pipeline::PipelineStatus::exit_ok).
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::blocking::Command;
    /// let mut rev = Command::new("rev");
    /// let out = Command::new("echo").arg("abc").to_owned_command().pipe(rev.to_owned_command()).output()?;
    /// assert_eq!(out.stdout, b"cba\n");
    /// # Ok(()) }
    /// ```
    pub fn output(&mut self) -> Result<PipelineOutput> {
        let child =
            self.spawn_with([StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped])?;
        child.wait_with_output()
    }
}

/// A running pipeline (blocking API), from [`Pipeline::spawn`].
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::blocking::Command;
/// use std::time::Duration;
/// let mut p = Command::new("sleep").arg("300").to_owned_command().pipe(Command::new("cat")).spawn()?;
/// let status = p.terminate(Duration::from_secs(5))?;
/// assert!(!status.success());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PipelineChild {
    /// The first stage's stdin, when piped.
    pub stdin: Option<ChildStdin>,
    /// The last stage's stdout, when piped.
    pub stdout: Option<ChildStdout>,
    pgid: u32,
    children: Vec<Child>,
    programs: Vec<OsString>,
    settings: Settings,
}

impl PipelineChild {
    super::pipeline_child_methods!();

    /// Waits for every stage (closing the pipeline's stdin first).
    ///
    /// # Errors
    ///
    /// [`Operation::Wait`](crate::Operation::Wait) when a stage's wait fails; `Timeout` when
    /// the pipeline's timeout stopped it.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut p = conductor::blocking::Command::new("true").pipe(conductor::blocking::Command::new("true")).spawn()?;
    /// assert!(p.wait()?.success());
    /// # Ok(()) }
    /// ```
    pub fn wait(&mut self) -> Result<PipelineStatus> {
        drop(self.stdin.take());
        let mut statuses = Vec::with_capacity(self.children.len());
        for c in &mut self.children {
            statuses.push(c.wait()?);
        }
        Ok(super::status(
            statuses,
            self.programs.clone(),
            &self.settings,
        ))
    }

    /// Stops the whole pipeline: SIGTERM to its process group, SIGKILL
    /// after `grace` if a stage is still running, then waits for every stage.
    ///
    /// # Errors
    ///
    /// [`Operation::Signal`](crate::Operation::Signal) when the group cannot be signalled,
    /// `Wait` when a stage cannot be reaped.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// let mut p = conductor::blocking::Command::new("sleep").arg("300").to_owned_command()
    ///     .pipe(conductor::blocking::Command::new("cat")).spawn()?;
    /// let status = p.terminate(std::time::Duration::from_secs(5))?;
    /// assert_eq!(status.statuses()[0].signal(), Some(libc::SIGTERM));
    /// # Ok(()) }
    /// ```
    pub fn terminate(&mut self, grace: Duration) -> Result<PipelineStatus> {
        drop(self.stdin.take());
        self.signal(libc::SIGTERM)?;
        let deadline = std::time::Instant::now() + grace;
        for c in &mut self.children {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if c.wait_timeout(left)?.is_none() {
                self.signal(libc::SIGKILL)?;
                break;
            }
        }
        self.wait()
    }

    /// Waits for every stage while collecting the last stage's stdout and
    /// every stage's stderr (those that are piped), under the pipeline's
    /// timeout. One thread per stage collects.
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when a pipe fails,
    /// [`Operation::Wait`](crate::Operation::Wait) when a wait fails, `Timeout` (carrying the
    /// output so far) when the pipeline's timeout stopped it.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let p = Command::new("echo").arg("x").to_owned_command().pipe(Command::new("cat"))
    ///     .stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(p.wait_with_output()?.stdout, b"x\n");
    /// # Ok(()) }
    /// ```
    pub fn wait_with_output(mut self) -> Result<PipelineOutput> {
        use std::sync::mpsc::RecvTimeoutError;
        use std::time::Instant;
        drop(self.stdin.take());
        let count = self.children.len();
        let last = count - 1;
        self.children[last].stdout = self.stdout.take();
        let children = std::mem::take(&mut self.children);
        let (tx, rx) = std::sync::mpsc::channel();
        let mut outputs: Vec<Option<Result<crate::Output>>> = (0..count).map(|_| None).collect();
        let mut timed_out = false;
        std::thread::scope(|scope| {
            for (i, c) in children.into_iter().enumerate() {
                let tx = tx.clone();
                scope.spawn(move || {
                    let _ = tx.send((i, c.wait_with_output()));
                });
            }
            drop(tx);
            let mut deadline = self.settings.timeout.map(|t| Instant::now() + t);
            let mut killed = false;
            let mut received = 0;
            while received < count {
                let got = match deadline {
                    Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                match got {
                    Ok((i, out)) => {
                        outputs[i] = Some(out);
                        received += 1;
                    }
                    Err(RecvTimeoutError::Timeout) if !timed_out => {
                        timed_out = true;
                        let _ = self.signal(libc::SIGTERM);
                        deadline = Some(Instant::now() + self.settings.grace);
                    }
                    Err(RecvTimeoutError::Timeout) if !killed => {
                        killed = true;
                        let _ = self.signal(libc::SIGKILL);
                        deadline = None;
                    }
                    Err(_) => break,
                }
            }
        });
        let outputs = outputs
            .into_iter()
            .map(|out| {
                out.unwrap_or_else(|| {
                    Err(Error::new(
                        crate::Operation::Wait,
                        std::io::Error::other("a pipeline stage's collector ended without a result"),
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        super::collected(outputs, &self.programs, &self.settings, timed_out)
    }
}
