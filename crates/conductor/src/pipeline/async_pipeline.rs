//! The async shell around the shared pipeline logic: [`Pipeline`] and
//! [`PipelineChild`].

use super::{PipelineOutput, PipelineStatus, Settings};
use crate::child::Child;
use crate::command::Command;
use crate::error::{Error, Result};
use crate::pipes::{ChildStdin, ChildStdout};
use crate::stdio::Stdio;
use crate::sys::StdioDefault;
use std::ffi::OsString;
use std::time::Duration;

/// `a | b | c` (async API): see the [module documentation](crate::pipeline).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), conductor::Error> {
/// use conductor::{pipeline::Pipeline, Command};
/// let mut sort = Command::new("sort");
/// sort.arg("-r");
/// let out = Pipeline::new([Command::new("printf").arg("a\\nb\\nc\\n").to_owned_command(), sort])
///     .output()
///     .await?;
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
    /// reaped. Outside a tokio runtime, `Spawn`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// use tokio::io::AsyncReadExt;
    /// let mut p = Command::new("echo").arg("hi").to_owned_command().pipe(Command::new("cat"))
    ///     .stdout(Stdio::piped()).spawn()?;
    /// let mut got = String::new();
    /// p.stdout.take().unwrap().read_to_string(&mut got).await?;
    /// assert_eq!(got, "hi\n");
    /// assert!(p.wait().await?.success());
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::Command;
    /// let status = Command::new("true").pipe(Command::new("false")).status().await?;
    /// assert_eq!(status.failed_stage(), Some(1));
    /// # Ok(()) }
    /// ```
    pub async fn status(&mut self) -> Result<PipelineStatus> {
        let child = self.spawn()?;
        Ok(child.wait_with_output().await?.status)
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::Command;
    /// let mut rev = Command::new("rev");
    /// let out = Command::new("echo").arg("abc").to_owned_command().pipe(rev.to_owned_command()).output().await?;
    /// assert_eq!(out.stdout, b"cba\n");
    /// # Ok(()) }
    /// ```
    pub async fn output(&mut self) -> Result<PipelineOutput> {
        let child =
            self.spawn_with([StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped])?;
        child.wait_with_output().await
    }
}

/// A running pipeline (async API), from [`Pipeline::spawn`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), conductor::Error> {
/// use conductor::Command;
/// use std::time::Duration;
/// let mut p = Command::new("sleep").arg("300").to_owned_command().pipe(Command::new("cat")).spawn()?;
/// let status = p.terminate(Duration::from_secs(5)).await?;
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut p = conductor::Command::new("true").pipe(conductor::Command::new("true")).spawn()?;
    /// assert!(p.wait().await?.success());
    /// # Ok(()) }
    /// ```
    pub async fn wait(&mut self) -> Result<PipelineStatus> {
        drop(self.stdin.take());
        let mut statuses = Vec::with_capacity(self.children.len());
        for c in &mut self.children {
            statuses.push(c.wait().await?);
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// let mut p = conductor::Command::new("sleep").arg("300").to_owned_command()
    ///     .pipe(conductor::Command::new("cat")).spawn()?;
    /// let status = p.terminate(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(status.statuses()[0].signal(), Some(libc::SIGTERM));
    /// # Ok(()) }
    /// ```
    pub async fn terminate(&mut self, grace: Duration) -> Result<PipelineStatus> {
        self.signal(libc::SIGTERM)?;
        match tokio::time::timeout(grace, self.wait()).await {
            Ok(res) => res,
            Err(_) => {
                self.signal(libc::SIGKILL)?;
                self.wait().await
            }
        }
    }

    /// Waits for every stage while collecting the last stage's stdout and
    /// every stage's stderr (those that are piped), under the pipeline's
    /// timeout.
    ///
    /// # Errors
    ///
    /// [`Operation::Io`](crate::Operation::Io) when a pipe fails,
    /// [`Operation::Wait`](crate::Operation::Wait) when a wait fails, `Timeout` (carrying the
    /// output so far) when the pipeline's timeout stopped it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), conductor::Error> {
    /// use conductor::{Command, Stdio};
    /// let p = Command::new("echo").arg("x").to_owned_command().pipe(Command::new("cat"))
    ///     .stdout(Stdio::piped()).spawn()?;
    /// assert_eq!(p.wait_with_output().await?.stdout, b"x\n");
    /// # Ok(()) }
    /// ```
    pub async fn wait_with_output(mut self) -> Result<PipelineOutput> {
        drop(self.stdin.take());
        let last = self.children.len() - 1;
        // The last stage collects the pipeline's stdout.
        self.children[last].stdout = self.stdout.take();
        let mut tasks: Vec<_> = std::mem::take(&mut self.children)
            .into_iter()
            .map(|c| tokio::spawn(c.wait_with_output()))
            .collect();
        let deadline = self
            .settings
            .timeout
            .map(|t| tokio::time::Instant::now() + t);
        let mut timed_out = false;
        let mut killer = None;
        let mut outputs = Vec::with_capacity(tasks.len());
        for task in &mut tasks {
            let joined = match deadline {
                Some(at) if !timed_out => match tokio::time::timeout_at(at, &mut *task).await {
                    Ok(j) => j,
                    Err(_) => {
                        timed_out = true;
                        let _ = self.signal(libc::SIGTERM);
                        let (pgid, grace) = (self.pgid, self.settings.grace);
                        killer = Some(tokio::spawn(async move {
                            tokio::time::sleep(grace).await;
                            let _ = super::signal_group(pgid, libc::SIGKILL);
                        }));
                        task.await
                    }
                },
                _ => task.await,
            };
            let out = joined.map_err(|e| {
                Error::new(crate::Operation::Wait, std::io::Error::other(e))
                    .with_detail("pipeline stage")
            })?;
            outputs.push(out?);
        }
        if let Some(k) = killer {
            k.abort();
        }
        super::collected(outputs, &self.programs, &self.settings, timed_out)
    }
}
