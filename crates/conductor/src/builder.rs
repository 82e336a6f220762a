//! The builder methods shared by [`crate::Command`] and [`crate::blocking::Command`],
//! written once as a macro so both types stay identical.

/// Expands to the std-compatible builder methods on a type with a `spec: CommandSpec` field.
macro_rules! builder_methods {
    () => {
        /// Adds an argument.
        ///
        /// ```
        /// let mut cmd = conductor::blocking::Command::new("ls");
        /// cmd.arg("-l").arg("/");
        /// ```
        pub fn arg<S: AsRef<std::ffi::OsStr>>(&mut self, arg: S) -> &mut Self {
            self.spec.args.push(arg.as_ref().to_owned());
            self
        }

        /// Adds several arguments.
        ///
        /// ```
        /// conductor::blocking::Command::new("ls").args(["-l", "/"]);
        /// ```
        pub fn args<I, S>(&mut self, args: I) -> &mut Self
        where
            I: IntoIterator<Item = S>,
            S: AsRef<std::ffi::OsStr>,
        {
            for a in args {
                self.spec.args.push(a.as_ref().to_owned());
            }
            self
        }

        /// Sets an environment variable for the child.
        ///
        /// ```
        /// conductor::blocking::Command::new("env").env("LANG", "C");
        /// ```
        pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Self
        where
            K: AsRef<std::ffi::OsStr>,
            V: AsRef<std::ffi::OsStr>,
        {
            self.spec.set_env(key.as_ref(), val.as_ref());
            self
        }

        /// Sets several environment variables for the child.
        ///
        /// ```
        /// conductor::blocking::Command::new("env").envs([("A", "1"), ("B", "2")]);
        /// ```
        pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Self
        where
            I: IntoIterator<Item = (K, V)>,
            K: AsRef<std::ffi::OsStr>,
            V: AsRef<std::ffi::OsStr>,
        {
            for (k, v) in vars {
                self.spec.set_env(k.as_ref(), v.as_ref());
            }
            self
        }

        /// Removes a variable from the child's environment.
        ///
        /// ```
        /// conductor::blocking::Command::new("env").env_remove("HOME");
        /// ```
        pub fn env_remove<K: AsRef<std::ffi::OsStr>>(&mut self, key: K) -> &mut Self {
            self.spec.remove_env(key.as_ref());
            self
        }

        /// Starts the child with an empty environment (plus what `env` adds after).
        ///
        /// ```
        /// conductor::blocking::Command::new("env").env_clear().env("PATH", "/bin");
        /// ```
        pub fn env_clear(&mut self) -> &mut Self {
            self.spec.clear_env();
            self
        }

        /// Sets the child's working directory. A program named by a relative
        /// path containing a slash (`./run.sh`, `bin/tool`) is resolved
        /// against this directory, the child's, as std, CPython and Go do
        /// (the child changes directory before `exec`); a bare name is
        /// searched in `PATH`.
        ///
        /// ```
        /// conductor::blocking::Command::new("pwd").current_dir("/tmp");
        /// ```
        pub fn current_dir<P: AsRef<std::path::Path>>(&mut self, dir: P) -> &mut Self {
            self.spec.cwd = Some(dir.as_ref().to_owned());
            self
        }

        /// Connects the child's stdin.
        ///
        /// ```
        /// conductor::blocking::Command::new("cat").stdin(conductor::Stdio::null());
        /// ```
        pub fn stdin<T: Into<$crate::Stdio>>(&mut self, cfg: T) -> &mut Self {
            self.spec.stdin = Some(cfg.into());
            self
        }

        /// Connects the child's stdout.
        ///
        /// ```
        /// conductor::blocking::Command::new("ls").stdout(conductor::Stdio::piped());
        /// ```
        pub fn stdout<T: Into<$crate::Stdio>>(&mut self, cfg: T) -> &mut Self {
            self.spec.stdout = Some(cfg.into());
            self
        }

        /// Connects the child's stderr.
        ///
        /// ```
        /// conductor::blocking::Command::new("ls").stderr(conductor::Stdio::null());
        /// ```
        pub fn stderr<T: Into<$crate::Stdio>>(&mut self, cfg: T) -> &mut Self {
            self.spec.stderr = Some(cfg.into());
            self
        }

        /// Kills the child (and reaps it) when its `Child` handle is dropped
        /// while it still runs. Without it a dropped child runs on and is
        /// reaped in the background when it exits; no zombie is left either way.
        ///
        /// ```
        /// conductor::blocking::Command::new("sleep").arg("10").kill_on_drop(true);
        /// ```
        pub fn kill_on_drop(&mut self, kill: bool) -> &mut Self {
            self.spec.kill_on_drop = kill;
            self
        }

        /// Whether [`kill_on_drop`](Self::kill_on_drop) is set (tokio's
        /// `get_kill_on_drop`).
        ///
        /// ```
        /// let mut cmd = conductor::Command::new("sleep");
        /// assert!(!cmd.get_kill_on_drop());
        /// assert!(cmd.kill_on_drop(true).get_kill_on_drop());
        /// ```
        pub fn get_kill_on_drop(&self) -> bool {
            self.spec.kill_on_drop
        }

        /// Runs the child on a new pseudo-terminal of `size` (see
        /// [`pty`](crate::pty)): the child leads a new session with the
        /// terminal as its controlling terminal, and each of stdin, stdout
        /// and stderr not set explicitly is the terminal. After `spawn`,
        /// `take_pty()` on the child gives the parent's end; `output()`
        /// captures what the child writes to the terminal as stdout (with
        /// the terminal's `\r\n` line ends). Unix; on Windows the spawn
        /// fails with an `Unsupported` error.
        ///
        /// ```
        /// # #[cfg(unix)]
        /// # fn main() -> Result<(), conductor::Error> {
        /// use conductor::pty::PtySize;
        /// let out = conductor::blocking::Command::new("stty").arg("size")
        ///     .pty(PtySize::new(33, 77))
        ///     .output()?;
        /// assert_eq!(out.stdout, b"33 77\r\n");
        /// # Ok(()) }
        /// # #[cfg(windows)] fn main() {}
        /// ```
        pub fn pty(&mut self, size: $crate::pty::PtySize) -> &mut Self {
            self.spec.pty = Some(size);
            self
        }

        /// How the child's process tree is contained (default: none). Tree
        /// operations (`signal_tree`, `terminate`, `wait_tree`, timeouts) reach
        /// what the containment holds.
        ///
        /// ```
        /// use conductor::Containment;
        /// conductor::blocking::Command::new("make").containment(Containment::BestAvailable);
        /// ```
        pub fn containment(&mut self, c: $crate::Containment) -> &mut Self {
            self.spec.containment = c;
            self
        }

        /// A time limit for `status()` and `output()`: when it expires the
        /// child's tree is stopped (SIGTERM, the [`grace`](Self::grace), then
        /// SIGKILL) and the call fails with a `TimedOut` error that still
        /// carries the output collected so far ([`Error::partial_output`](crate::Error::partial_output)).
        /// A zero timeout stops the child at once. Pair it with a
        /// [`containment`](Self::containment) so grandchildren are stopped too.
        ///
        /// ```
        /// use std::time::Duration;
        /// conductor::blocking::Command::new("sleep").arg("9").timeout(Duration::from_secs(1));
        /// ```
        pub fn timeout(&mut self, limit: std::time::Duration) -> &mut Self {
            self.spec.limits.timeout = Some(limit);
            self
        }

        /// How long a stopped tree gets between SIGTERM and SIGKILL when a
        /// timeout expires (default 5 s; zero sends SIGKILL at once).
        ///
        /// ```
        /// use std::time::Duration;
        /// conductor::blocking::Command::new("server").grace(Duration::from_millis(500));
        /// ```
        pub fn grace(&mut self, grace: std::time::Duration) -> &mut Self {
            self.spec.limits.grace = grace;
            self
        }

        /// Output bounded by exit (Go's `WaitDelay`): once the direct child
        /// has exited, `output()` waits at most this long for its pipes to
        /// reach end of file, then closes them and returns what it has, so a
        /// grandchild holding the pipes cannot hang the caller. Default: wait
        /// for end of file, as std does.
        ///
        /// ```
        /// use std::time::Duration;
        /// conductor::blocking::Command::new("sh").args(["-c", "sleep 300 &"]).io_grace(Duration::from_millis(100));
        /// ```
        pub fn io_grace(&mut self, grace: std::time::Duration) -> &mut Self {
            self.spec.limits.io_grace = Some(grace);
            self
        }

        /// Caps what `output()` keeps of each stream at `bytes`. The rest is
        /// read and discarded (the child never blocks on a full pipe);
        /// `capture()` returns a [`Captured`](crate::Captured) that says
        /// whether a stream was cut.
        ///
        /// ```
        /// # fn main() -> Result<(), conductor::Error> {
        /// let got = conductor::blocking::Command::new("head").args(["-c", "100000", "/dev/zero"])
        ///     .capture_limit(10)
        ///     .capture()?;
        /// assert_eq!(got.output.stdout.len(), 10);
        /// assert!(got.stdout_truncated && got.output.status.success());
        /// # Ok(()) }
        /// ```
        pub fn capture_limit(&mut self, bytes: usize) -> &mut Self {
            self.spec.limits.capture_limit = Some(bytes);
            self
        }

        /// A checked run (Python's `check=True`, execa's and duct's
        /// default): `status()`, `output()`, `capture()`,
        /// `combined_output()`, and a spawned child's `wait_with_output()`
        /// and `communicate()`, turn an unsuccessful exit into an
        /// [`Error`](crate::Error) with [`Operation::ExitStatus`](crate::Operation::ExitStatus)
        /// that carries the program, its arguments, the status
        /// ([`Error::exit_status`](crate::Error::exit_status)), the tail of
        /// stderr when it was captured ([`Error::stderr_tail`](crate::Error::stderr_tail))
        /// and the whole output ([`Error::partial_output`](crate::Error::partial_output)).
        /// `Child::wait()` is never checked.
        ///
        /// ```
        /// # fn main() {
        /// let err = conductor::blocking::Command::new("sh").args(["-c", "echo no >&2; exit 3"])
        ///     .checked(true)
        ///     .output()
        ///     .unwrap_err();
        /// assert_eq!(err.exit_status().unwrap().code(), Some(3));
        /// assert_eq!(err.program().unwrap(), "sh");
        /// assert!(err.to_string().contains("no"), "{err}");
        /// # }
        /// ```
        pub fn checked(&mut self, on: bool) -> &mut Self {
            self.spec.checked = on;
            self
        }

        /// The containment set with [`containment`](Self::containment).
        ///
        /// ```
        /// use conductor::Containment;
        /// assert_eq!(conductor::blocking::Command::new("ls").get_containment(), Containment::None);
        /// ```
        pub fn get_containment(&self) -> $crate::Containment {
            self.spec.containment
        }

        /// The program this command runs.
        ///
        /// ```
        /// assert_eq!(conductor::blocking::Command::new("ls").get_program(), "ls");
        /// ```
        pub fn get_program(&self) -> &std::ffi::OsStr {
            &self.spec.program
        }

        /// The arguments, without the program.
        ///
        /// ```
        /// let mut cmd = conductor::blocking::Command::new("ls");
        /// cmd.args(["-l", "/"]);
        /// assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["-l", "/"]);
        /// ```
        pub fn get_args(&self) -> $crate::CommandArgs<'_> {
            $crate::CommandArgs {
                iter: self.spec.args.iter(),
            }
        }

        /// The environment changes made on this command (`None`: removed).
        ///
        /// ```
        /// let mut cmd = conductor::blocking::Command::new("env");
        /// cmd.env("A", "1").env_remove("B");
        /// let envs: Vec<_> = cmd.get_envs().collect();
        /// assert_eq!(envs.len(), 2);
        /// ```
        pub fn get_envs(&self) -> $crate::CommandEnvs<'_> {
            $crate::CommandEnvs {
                iter: self.spec.env.iter(),
            }
        }

        /// The working directory set with [`current_dir`](Self::current_dir).
        ///
        /// ```
        /// let mut cmd = conductor::blocking::Command::new("pwd");
        /// assert!(cmd.get_current_dir().is_none());
        /// ```
        pub fn get_current_dir(&self) -> Option<&std::path::Path> {
            self.spec.cwd()
        }
    };
}

pub(crate) use builder_methods;

/// Expands to the trait impls both `Command` types share: `Debug` printing
/// as std's does, and `From<std::process::Command>`.
macro_rules! command_impls {
    ($ty:ty) => {
        /// Prints as std's `Command` does, `{:?}` (`cd "/tmp" && A="1" "prog" "arg"`)
        /// and `{:#?}` alike (conductor's own options are not shown).
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.spec.to_std(), f)
            }
        }

        /// What can be read back from a std `Command`: program, arguments,
        /// environment changes and working directory (std keeps its stdio
        /// and Unix options private).
        impl From<std::process::Command> for $ty {
            fn from(cmd: std::process::Command) -> $ty {
                Self {
                    spec: $crate::spec::CommandSpec::from_std(&cmd),
                }
            }
        }
    };
}

pub(crate) use command_impls;

/// Expands to a shell's `Command` type: the struct (with the docs given),
/// its shared trait impls, `new` (with the shell's example), the builder
/// methods and the spawn into the shell's `Child` (its pipes in
/// non-blocking mode or not); the shell adds its public spawning and
/// running methods.
macro_rules! command_type {
    ($(#[$doc:meta])* nonblocking: $nonblocking:literal, new: {$(#[$new_ex:meta])*}) => {
        $(#[$doc])*
        pub struct Command {
            pub(crate) spec: $crate::spec::CommandSpec,
        }

        $crate::builder::command_impls!(Command);

        impl $crate::spec::HasSpec for Command {
            fn spec_mut(&mut self) -> &mut $crate::spec::CommandSpec {
                &mut self.spec
            }
        }

        impl Command {
            /// A command that runs `program`, found through the child's `PATH` when it
            /// names no directory. No shell is involved.
            ///
            $(#[$new_ex])*
            pub fn new<S: AsRef<std::ffi::OsStr>>(program: S) -> Command {
                Command {
                    spec: $crate::spec::CommandSpec::new(program.as_ref()),
                }
            }

            $crate::builder::builder_methods!();

            /// Spawns with these stdio defaults (`grow`: enlarge the pipes) and
            /// hands the parts to the shell's `Child`: its pipes, and the
            /// pseudo-terminal's master (read as stdout when stdout is piped).
            fn spawn_wired(
                &mut self,
                defaults: [$crate::sys::StdioDefault; 3],
                grow: bool,
            ) -> $crate::error::Result<Child> {
                let opts = $crate::sys::SpawnOptions {
                    defaults,
                    nonblocking: $nonblocking,
                    grow_pipes: grow,
                };
                let (spawned, master) = $crate::builder::spawn_parts(&mut self.spec, &opts)?;
                let mut child = Child::from_spawned(spawned, &self.spec)?;
                child.attach_master(master, defaults[1] == $crate::sys::StdioDefault::Piped)?;
                Ok(child)
            }
        }
    };
}

pub(crate) use command_type;

/// What `output()`, `capture()` and `combined_output()` default to: stdin
/// the null device, stdout and stderr piped.
pub(crate) const CAPTURE: [crate::sys::StdioDefault; 3] = [
    crate::sys::StdioDefault::Null,
    crate::sys::StdioDefault::Piped,
    crate::sys::StdioDefault::Piped,
];

/// The pseudo-terminal master a spawn hands its `Child` (none on Windows).
#[cfg(unix)]
pub(crate) type PtyMaster = std::os::fd::OwnedFd;
/// The pseudo-terminal master a spawn hands its `Child` (none on Windows).
#[cfg(windows)]
pub(crate) type PtyMaster = std::convert::Infallible;

/// The spawn both `Command` types share: checks the program, opens the
/// pseudo-terminal the spec asks for, spawns, and returns the child's parts
/// with the terminal's master; the spec is left as it was set.
pub(crate) fn spawn_parts(
    spec: &mut crate::spec::CommandSpec,
    opts: &crate::sys::SpawnOptions,
) -> crate::Result<(crate::sys::Spawned, Option<PtyMaster>)> {
    spec.check_program()?;
    let pty = crate::pty::prepare(spec)?;
    let spawned = crate::sys::spawn(spec, opts);
    if let Some(p) = &pty {
        crate::pty::restore(spec, p);
    }
    let spawned = spawned?;
    spec.spawned();
    #[cfg(unix)]
    let master = pty.map(|p| p.master);
    #[cfg(windows)]
    let master = pty;
    Ok((spawned, master))
}
