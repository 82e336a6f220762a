//! The async shell around the shared pipeline logic: [`Pipeline`] and
//! [`PipelineChild`].

use super::{PipelineOutput, PipelineStatus, Settings};
use crate::child::Child;
use crate::command::Command;
use crate::error::Result;
use crate::pipes::{ChildStdin, ChildStdout};
use crate::stdio::Stdio;
use crate::sys::StdioDefault;
use std::ffi::OsString;
use std::time::Duration;

super::shell::pipeline_waits! {
    shell: [async] [.await] waits,
    pipeline: {
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
    },
    pipeline_child: {
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
    },
    spawn: {
        /// Outside a tokio runtime, `Spawn`.
    } {
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
    },
    status: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::Command;
        /// let status = Command::new("true").pipe(Command::new("false")).status().await?;
        /// assert_eq!(status.failed_stage(), Some(1));
        /// # Ok(()) }
        /// ```
    },
    output: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::Command;
        /// let mut rev = Command::new("rev");
        /// let out = Command::new("echo").arg("abc").to_owned_command().pipe(rev.to_owned_command()).output().await?;
        /// assert_eq!(out.stdout, b"cba\n");
        /// # Ok(()) }
        /// ```
    },
    wait: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::Command::new("true").pipe(conductor::Command::new("true")).spawn()?;
        /// assert!(p.wait().await?.success());
        /// # Ok(()) }
        /// ```
    },
    terminate: {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::Command::new("sleep").arg("300").to_owned_command()
        ///     .pipe(conductor::Command::new("cat")).spawn()?;
        /// let status = p.terminate(std::time::Duration::from_secs(5)).await?;
        /// assert_eq!(status.statuses()[0].signal(), Some(libc::SIGTERM));
        /// # Ok(()) }
        /// ```
    },
    wait_with_output: {} {
        /// ```
        /// # #[tokio::main(flavor = "current_thread")]
        /// # async fn main() -> Result<(), conductor::Error> {
        /// use conductor::{Command, Stdio};
        /// let p = Command::new("echo").arg("x").to_owned_command().pipe(Command::new("cat"))
        ///     .stdout(Stdio::piped()).spawn()?;
        /// assert_eq!(p.wait_with_output().await?.stdout, b"x\n");
        /// # Ok(()) }
        /// ```
    },
}

/// How the async shell waits for its stages (see [`super::shell`]).
mod waits {
    use super::{Child, PipelineChild};
    use crate::error::{Error, Result};
    use crate::status::Output;
    use std::time::Duration;

    /// Whether every stage exited within `grace`.
    pub(super) async fn stages_exit_within(p: &mut PipelineChild, grace: Duration) -> Result<bool> {
        match tokio::time::timeout(grace, p.wait()).await {
            Ok(res) => res.map(|_| true),
            Err(_) => Ok(false),
        }
    }

    /// One task per stage; every task is awaited (none is left running
    /// behind an early error), the killer task is aborted on every path.
    pub(super) async fn collect(
        children: Vec<Child>,
        p: &PipelineChild,
    ) -> (Vec<Result<Output>>, bool) {
        let tasks: Vec<_> = children
            .into_iter()
            .map(|c| tokio::spawn(c.wait_with_output()))
            .collect();
        let deadline = p.settings.timeout.map(|t| tokio::time::Instant::now() + t);
        let mut timed_out = false;
        let mut killer = None;
        let mut outputs = Vec::with_capacity(tasks.len());
        for mut task in tasks {
            let joined = match deadline {
                Some(at) if !timed_out => match tokio::time::timeout_at(at, &mut task).await {
                    Ok(j) => j,
                    Err(_) => {
                        timed_out = true;
                        let _ = p.signal(libc::SIGTERM);
                        let (pgid, grace) = (p.pgid, p.settings.grace);
                        killer = Some(tokio::spawn(async move {
                            tokio::time::sleep(grace).await;
                            let _ = super::super::signal_group(pgid, libc::SIGKILL);
                        }));
                        task.await
                    }
                },
                _ => task.await,
            };
            outputs.push(joined.unwrap_or_else(|e| {
                Err(Error::new(crate::Operation::Wait, std::io::Error::other(e))
                    .with_detail("pipeline stage"))
            }));
        }
        if let Some(k) = killer {
            k.abort();
        }
        (outputs, timed_out)
    }
}
