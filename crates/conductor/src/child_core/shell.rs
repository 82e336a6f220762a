//! [`child_shell`]: the `Child` type with its methods that wait, its
//! spawn-time wiring and its pseudo-terminal hand-over, written once for the
//! async and the blocking `Child`. A shell expands it with, each after its
//! label:
//!
//! - `shell:` its `async` and `.await` tokens (none for the blocking one),
//!   then a module `$w` of waiting primitives, all that differs between
//!   waiting with and without a runtime:
//!   - `pipe(OwnedIo, write: bool) -> io::Result<Pipe>`: the shell's pipe
//!     around a spawned child's end;
//!   - `exit(&mut Process)`, `exit_within(&mut Process, Duration)`: the raw
//!     wait, unbounded or bounded;
//!   - `stop_tree(&mut Process, grace)`, `tree_gone(&mut Process)`: the
//!     stop engine's two drivers;
//!   - `gather(&mut Child, input, deadline) -> Result<Gathered>`:
//!     `communicate`'s I/O phase (feed stdin, collect stdout and stderr
//!     under the limits), which takes the child's pipes;
//! - `command:` the path of its `Command` (for doc links);
//! - `pty:` its pseudo-terminal type, whose `new` and `master_as_stdout`
//!   take the terminal's master as the `Pty` or as the child's stdout;
//! - then, in braces: `child:` the docs of its `Child` struct; under each
//!   method's name the method's example (`wait:` given first, in its own
//!   braces, any sentence only true of that shell); and `own:` the items
//!   only that shell's `Child` has.
//!
//! The methods' shared docs are here.

/// See the [module documentation](self).
macro_rules! child_shell {
    (
        shell: [$($async:tt)*] [$($await:tt)*] $w:ident,
        command: $cmd:literal,
        pty: $pty:ty,
        child: {$(#[$struct_doc:meta])*},
        take_pty: {$(#[$take_pty_ex:meta])*},
        wait: {$(#[$wait_extra:meta])*} {$(#[$wait_ex:meta])*},
        wait_timeout: {$(#[$wait_timeout_ex:meta])*},
        wait_with_output: {$(#[$wwo_ex:meta])*},
        wait_with_capture: {$(#[$wwc_ex:meta])*},
        communicate: {$(#[$communicate_ex:meta])*},
        communicate_captured: {$(#[$cc_ex:meta])*},
        terminate: {$(#[$terminate_ex:meta])*},
        wait_tree: {$(#[$wait_tree_ex:meta])*},
        own: {$($own:item)*},
    ) => {
        $crate::child_core::child_struct!($(#[$struct_doc])* pty: $pty);

        impl Child {
            $crate::child_core::child_passthrough!();

            $($own)*

            pub(crate) fn from_spawned(
                s: $crate::sys::Spawned,
                spec: &$crate::spec::CommandSpec,
            ) -> $crate::error::Result<Child> {
                let mut child = Child {
                    core: $crate::child_core::ChildCore::new(s.process, spec),
                    stdin: None,
                    stdout: None,
                    stderr: None,
                    #[cfg(unix)]
                    pty: None,
                };
                let wrap = |end, write| {
                    $w::pipe(end, write)
                        .map_err(|e| child.core.err($crate::error::Operation::Stdio, e))
                };
                let stdin = s.stdin.map(|end| wrap(end, true)).transpose()?;
                let stdout = s.stdout.map(|end| wrap(end, false)).transpose()?;
                let stderr = s.stderr.map(|end| wrap(end, false)).transpose()?;
                child.stdin = stdin.map(|pipe| ChildStdin { pipe });
                child.stdout = stdout.map(|pipe| ChildStdout { pipe });
                child.stderr = stderr.map(|pipe| ChildStderr { pipe });
                Ok(child)
            }

            /// Gives the child the pseudo-terminal master its spawn opened (if
            /// any): read as its stdout when `capture` (`output()`) and stdout
            /// is on the terminal, otherwise kept for [`take_pty`](Self::take_pty).
            pub(crate) fn attach_master(
                &mut self,
                master: Option<$crate::builder::PtyMaster>,
                capture: bool,
            ) -> $crate::error::Result<()> {
                let Some(master) = master else {
                    return Ok(());
                };
                #[cfg(windows)]
                {
                    let _ = capture;
                    match master {}
                }
                #[cfg(unix)]
                {
                    let stdio_err = |e| self.core.err($crate::error::Operation::Stdio, e);
                    if capture && self.stdout.is_none() {
                        self.stdout = Some(<$pty>::master_as_stdout(master).map_err(stdio_err)?);
                    } else {
                        self.pty = Some(<$pty>::new(master).map_err(stdio_err)?);
                    }
                    Ok(())
                }
            }

            /// The parent's end of the child's pseudo-terminal, when it was spawned
            #[doc = concat!("with [`pty`](", $cmd, "::pty) (once; `None` after).")]
            ///
            $(#[$take_pty_ex])*
            #[cfg(unix)]
            pub fn take_pty(&mut self) -> Option<$pty> {
                self.pty.take()
            }

            /// Waits for the child to exit. The child's stdin is closed first
            /// (as std does), so a child reading it to EOF cannot deadlock the wait.
            $(#[$wait_extra])*
            ///
            /// # Errors
            ///
            /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
            /// example the status was discarded by other code reaping it).
            ///
            $(#[$wait_ex])*
            pub $($async)* fn wait(&mut self) -> $crate::error::Result<$crate::status::ExitStatus> {
                drop(self.stdin.take());
                let res = $w::exit(self.core.process()) $($await)*;
                self.core.wait_result(res)
            }

            /// Waits at most `timeout` (closing the child's stdin first, as
            /// [`wait`](Self::wait)); `Ok(None)` if the child still runs then (it
            /// is not killed).
            ///
            /// # Errors
            ///
            /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
            /// example the status was discarded by other code reaping it).
            ///
            $(#[$wait_timeout_ex])*
            pub $($async)* fn wait_timeout(
                &mut self,
                timeout: std::time::Duration,
            ) -> $crate::error::Result<Option<$crate::status::ExitStatus>> {
                drop(self.stdin.take());
                let res = $w::exit_within(self.core.process(), timeout) $($await)*;
                self.core.wait_opt_result(res)
            }

            /// Waits for exit while collecting all of stdout and stderr (those that are piped).
            ///
            /// # Errors
            ///
            /// As [`communicate`](Self::communicate).
            ///
            $(#[$wwo_ex])*
            pub $($async)* fn wait_with_output(self) -> $crate::error::Result<$crate::status::Output> {
                self.communicate(&[]) $($await)*
            }

            /// Like [`wait_with_output`](Self::wait_with_output), also saying
            /// whether each stream was cut at the capture limit or the I/O grace.
            ///
            /// # Errors
            ///
            /// As [`communicate`](Self::communicate).
            ///
            $(#[$wwc_ex])*
            pub $($async)* fn wait_with_capture(self) -> $crate::error::Result<$crate::status::Captured> {
                self.communicate_captured(&[]) $($await)*
            }

            /// Writes `input` to the child's stdin (then closes it) while collecting
            /// stdout and stderr, and waits for exit: no deadlock whatever the sizes.
            /// A child that stops reading early is not an error. The limits of the
            /// command that spawned the child apply:
            #[doc = concat!("[`timeout`](", $cmd, "::timeout) (stops the tree and returns a")]
            /// `TimedOut` error carrying the partial output),
            #[doc = concat!("[`io_grace`](", $cmd, "::io_grace) and [`capture_limit`](", $cmd, "::capture_limit).")]
            ///
            /// # Errors
            ///
            /// [`Operation::Io`](crate::Operation::Io) when a pipe fails (a child that stops reading
            /// stdin is not an error), [`Operation::Wait`](crate::Operation::Wait) when the wait fails,
            /// [`Operation::Timeout`](crate::Operation::Timeout) (carrying the partial output) when the
            /// command's timeout stopped the tree,
            /// [`Operation::ExitStatus`](crate::Operation::ExitStatus) for a checked run that exited
            /// unsuccessfully.
            ///
            $(#[$communicate_ex])*
            pub $($async)* fn communicate(self, input: &[u8]) -> $crate::error::Result<$crate::status::Output> {
                self.communicate_captured(input) $($await)* .map(|c| c.output)
            }

            /// [`communicate`](Self::communicate), also saying whether each stream
            /// was cut (see [`Captured`](crate::Captured)).
            ///
            /// # Errors
            ///
            /// As [`communicate`](Self::communicate).
            ///
            $(#[$cc_ex])*
            pub $($async)* fn communicate_captured(
                mut self,
                input: &[u8],
            ) -> $crate::error::Result<$crate::status::Captured> {
                let limits = self.core.limits;
                let deadline = limits.timeout.map(|t| std::time::Instant::now() + t);
                let got = $w::gather(&mut self, input, deadline) $($await)* ?;
                let ended = if got.timed_out {
                    $crate::child_core::Ended::Stopped(self.terminate(limits.grace) $($await)* ?)
                } else {
                    self.wait_or_stop(deadline) $($await)* ?
                };
                self.core.finish(ended, got)
            }

            /// Runs to completion under the command's timeout (used by `status()`).
            pub(crate) $($async)* fn wait_limited(&mut self) -> $crate::error::Result<$crate::status::ExitStatus> {
                let deadline = self.core.limits.timeout.map(|t| std::time::Instant::now() + t);
                let ended = self.wait_or_stop(deadline) $($await)* ?;
                self.core.finish_status(ended)
            }

            /// Waits until `deadline`; past it, stops the tree (with the command's grace).
            $($async)* fn wait_or_stop(
                &mut self,
                deadline: Option<std::time::Instant>,
            ) -> $crate::error::Result<$crate::child_core::Ended> {
                let status = match deadline {
                    Some(d) => {
                        let left = d.saturating_duration_since(std::time::Instant::now());
                        self.wait_timeout(left) $($await)* ?
                    }
                    None => Some(self.wait() $($await)* ?),
                };
                Ok(match status {
                    Some(s) => $crate::child_core::Ended::Exited(s),
                    None => $crate::child_core::Ended::Stopped(
                        self.terminate(self.core.limits.grace) $($await)* ?,
                    ),
                })
            }

            /// Stops the whole tree gracefully: SIGTERM (and SIGCONT) to every member,
            /// up to `grace` for all of them to exit, then SIGKILL (`cgroup.kill` for a
            /// cgroup); reaps the direct child and returns its status. A zero grace
            /// sends SIGKILL at once. A child that exits cleanly on SIGTERM within the
            /// grace is not killed. The child's stdin is closed first.
            ///
            /// # Errors
            ///
            /// [`Operation::Signal`](crate::Operation::Signal) when the tree cannot be signalled or
            /// reaped.
            ///
            $(#[$terminate_ex])*
            pub $($async)* fn terminate(
                &mut self,
                grace: std::time::Duration,
            ) -> $crate::error::Result<$crate::status::ExitStatus> {
                drop(self.stdin.take());
                let res = $w::stop_tree(self.core.process(), grace) $($await)*;
                self.core.stop_result(grace, res)
            }

            /// Waits for the direct child, then until every member of its tree is gone
            /// (the cgroup is empty, or the process group has no members left).
            ///
            /// # Errors
            ///
            /// [`Operation::Wait`](crate::Operation::Wait) when the system refuses the wait (for
            /// example the status was discarded by other code reaping it), or when the tree's
            /// membership cannot be read.
            ///
            $(#[$wait_tree_ex])*
            pub $($async)* fn wait_tree(&mut self) -> $crate::error::Result<$crate::status::ExitStatus> {
                let status = self.wait() $($await)* ?;
                let res = $w::tree_gone(self.core.process()) $($await)*;
                res.map_err(|e| self.core.err($crate::error::Operation::Wait, e))?;
                Ok(status)
            }
        }
    };
}
pub(crate) use child_shell;
