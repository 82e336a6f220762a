//! [`pipeline_waits`]: the `Pipeline` and `PipelineChild` types with the
//! methods that wait, written once for both shells. A shell expands it with its `async` and
//! `.await` tokens (none for the blocking one) and a module `$w` holding
//! its two waiting primitives:
//!
//! - `stages_exit_within(&mut PipelineChild, Duration) -> Result<bool>`:
//!   waits for every stage for at most that long (`false`: some still run);
//! - `collect(Vec<Child>, &PipelineChild) -> (Vec<Result<Output>>, bool)`:
//!   every stage's `wait_with_output`, run side by side under the
//!   pipeline's timeout (SIGTERM to the group when it strikes, SIGKILL after
//!   the grace), returned only once every stage has returned (whatever
//!   failed), in stage order, with whether the timeout struck.
//!
//! The type docs and the methods' examples are the shell's, passed in.

/// See the [module documentation](self).
macro_rules! pipeline_waits {
    (
        shell: [$($async:tt)*] [$($await:tt)*] $w:ident,
        pipeline: {$(#[$pipeline_doc:meta])*},
        pipeline_child: {$(#[$child_doc:meta])*},
        spawn: {$(#[$spawn_extra:meta])*} {$(#[$spawn_ex:meta])*},
        status: {$(#[$status_ex:meta])*},
        output: {$(#[$output_ex:meta])*},
        wait: {$(#[$wait_ex:meta])*},
        terminate: {$(#[$terminate_ex:meta])*},
        wait_with_output: {$(#[$wwo_extra:meta])*} {$(#[$wwo_ex:meta])*},
    ) => {
        $(#[$pipeline_doc])*
        #[derive(Debug)]
        pub struct Pipeline {
            stages: Vec<Command>,
            settings: Settings,
        }

        super::pipeline_builder!();

        $(#[$child_doc])*
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

        impl Pipeline {
            /// Starts every stage; the ends' streams default to the parent's.
            ///
            /// # Errors
            ///
            /// The failure of the first stage that could not be spawned (see
            /// [`Command::spawn`](crate::Command::spawn)); the stages already started are killed and
            /// reaped.
            $(#[$spawn_extra])*
            ///
            $(#[$spawn_ex])*
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
            $(#[$status_ex])*
            pub $($async)* fn status(&mut self) -> Result<PipelineStatus> {
                let child = self.spawn()?;
                Ok(child.wait_with_output() $($await)* ?.status)
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
            $(#[$output_ex])*
            pub $($async)* fn output(&mut self) -> Result<PipelineOutput> {
                let child =
                    self.spawn_with([StdioDefault::Null, StdioDefault::Piped, StdioDefault::Piped])?;
                child.wait_with_output() $($await)*
            }
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
            $(#[$wait_ex])*
            pub $($async)* fn wait(&mut self) -> Result<PipelineStatus> {
                drop(self.stdin.take());
                let mut statuses = Vec::with_capacity(self.children.len());
                for c in &mut self.children {
                    statuses.push(c.wait() $($await)* ?);
                }
                Ok(super::status(
                    statuses,
                    self.programs.clone(),
                    &self.settings,
                ))
            }

            /// Stops the whole pipeline: closes its stdin, sends SIGTERM to its
            /// process group, SIGKILL after `grace` if a stage is still running,
            /// then waits for every stage.
            ///
            /// # Errors
            ///
            /// [`Operation::Signal`](crate::Operation::Signal) when the group cannot be signalled,
            /// `Wait` when a stage cannot be reaped.
            ///
            $(#[$terminate_ex])*
            pub $($async)* fn terminate(&mut self, grace: Duration) -> Result<PipelineStatus> {
                drop(self.stdin.take());
                self.signal(libc::SIGTERM)?;
                if !$w::stages_exit_within(self, grace) $($await)* ? {
                    self.signal(libc::SIGKILL)?;
                }
                self.wait() $($await)*
            }

            /// Waits for every stage while collecting the last stage's stdout and
            /// every stage's stderr (those that are piped), under the pipeline's
            /// timeout. Every stage is waited for even when one fails; the first
            /// stage's error (in stage order) is then returned.
            $(#[$wwo_extra])*
            ///
            /// # Errors
            ///
            /// [`Operation::Io`](crate::Operation::Io) when a pipe fails,
            /// [`Operation::Wait`](crate::Operation::Wait) when a wait fails, `Timeout` (carrying the
            /// output so far) when the pipeline's timeout stopped it.
            ///
            $(#[$wwo_ex])*
            pub $($async)* fn wait_with_output(mut self) -> Result<PipelineOutput> {
                drop(self.stdin.take());
                let mut children = std::mem::take(&mut self.children);
                // The last stage collects the pipeline's stdout.
                if let Some(last) = children.last_mut() {
                    last.stdout = self.stdout.take();
                }
                let (outputs, timed_out) = $w::collect(children, &self) $($await)*;
                let outputs = outputs.into_iter().collect::<Result<Vec<_>>>()?;
                super::collected(outputs, &self.programs, &self.settings, timed_out)
            }
        }
    };
}
pub(crate) use pipeline_waits;
