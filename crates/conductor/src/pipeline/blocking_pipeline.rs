//! The blocking shell around the shared pipeline logic: [`Pipeline`] and
//! [`PipelineChild`] for code without a runtime.

use super::{PipelineOutput, PipelineStatus, Settings};
use crate::blocking::{Child, Command};
use crate::blocking::{ChildStdin, ChildStdout};
use crate::error::Result;
use crate::stdio::Stdio;
use crate::sys::StdioDefault;
use std::ffi::OsString;
use std::time::Duration;

super::shell::pipeline_waits! {
    shell: [] [] waits,
    pipeline: {
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
    },
    pipeline_child: {
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
    },
    spawn: {} {
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
    },
    status: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::blocking::Command;
        /// let status = Command::new("true").pipe(Command::new("false")).status()?;
        /// assert_eq!(status.failed_stage(), Some(1));
        /// # Ok(()) }
        /// ```
    },
    output: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::blocking::Command;
        /// let mut rev = Command::new("rev");
        /// let out = Command::new("echo").arg("abc").to_owned_command().pipe(rev.to_owned_command()).output()?;
        /// assert_eq!(out.stdout, b"cba\n");
        /// # Ok(()) }
        /// ```
    },
    wait: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::blocking::Command::new("true").pipe(conductor::blocking::Command::new("true")).spawn()?;
        /// assert!(p.wait()?.success());
        /// # Ok(()) }
        /// ```
    },
    terminate: {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let mut p = conductor::blocking::Command::new("sleep").arg("300").to_owned_command()
        ///     .pipe(conductor::blocking::Command::new("cat")).spawn()?;
        /// let status = p.terminate(std::time::Duration::from_secs(5))?;
        /// assert_eq!(status.statuses()[0].signal(), Some(libc::SIGTERM));
        /// # Ok(()) }
        /// ```
    },
    wait_with_output: {
        /// One thread per stage collects.
    } {
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::{blocking::Command, Stdio};
        /// let p = Command::new("echo").arg("x").to_owned_command().pipe(Command::new("cat"))
        ///     .stdout(Stdio::piped()).spawn()?;
        /// assert_eq!(p.wait_with_output()?.stdout, b"x\n");
        /// # Ok(()) }
        /// ```
    },
}

/// How the blocking shell waits for its stages (see [`super::shell`]).
mod waits {
    use super::{Child, PipelineChild};
    use crate::error::{Error, Result};
    use crate::status::Output;
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};

    /// Whether every stage exited within `grace` (stops at the first that did not).
    pub(super) fn stages_exit_within(p: &mut PipelineChild, grace: Duration) -> Result<bool> {
        let deadline = Instant::now() + grace;
        for c in &mut p.children {
            let left = deadline.saturating_duration_since(Instant::now());
            if c.wait_timeout(left)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One scoped thread per stage; the scope ends only when every thread has.
    pub(super) fn collect(children: Vec<Child>, p: &PipelineChild) -> (Vec<Result<Output>>, bool) {
        let count = children.len();
        let (tx, rx) = std::sync::mpsc::channel();
        let mut outputs: Vec<Option<Result<Output>>> = (0..count).map(|_| None).collect();
        let mut timed_out = false;
        std::thread::scope(|scope| {
            for (i, c) in children.into_iter().enumerate() {
                let tx = tx.clone();
                scope.spawn(move || {
                    let _ = tx.send((i, c.wait_with_output()));
                });
            }
            drop(tx);
            // The timeout, then the grace after SIGTERM; none after SIGKILL.
            let mut deadline = p.settings.timeout.map(|t| Instant::now() + t);
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
                        let _ = p.signal(libc::SIGTERM);
                        deadline = Some(Instant::now() + p.settings.grace);
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = p.signal(libc::SIGKILL);
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
            .collect();
        (outputs, timed_out)
    }
}
