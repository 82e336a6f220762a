//! [`CommandSpec`]: the platform-neutral description of a command that both the
//! async and the blocking `Command` builders fill in and the `sys` backends
//! read, with each platform's options ([`UnixOptions`] in `unix_options`,
//! `WindowsOptions` in `windows_options`). The public `unix` and `windows`
//! modules set these options; nothing here depends on them.

#[cfg(unix)]
mod unix_options;
#[cfg(windows)]
mod windows_options;

use crate::stdio::Stdio;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
#[cfg(unix)]
pub use unix_options::Resource;
#[cfg(unix)]
pub(crate) use unix_options::{Hook, UnixOptions};
#[cfg(windows)]
pub(crate) use windows_options::WindowsOptions;

/// Everything a builder has been told; backends turn it into a child process.
#[derive(Debug)]
pub(crate) struct CommandSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    /// Changes to the inherited environment: `None` removes the variable.
    pub env: BTreeMap<OsString, Option<OsString>>,
    pub env_clear: bool,
    pub cwd: Option<PathBuf>,
    pub stdin: Option<Stdio>,
    pub stdout: Option<Stdio>,
    pub stderr: Option<Stdio>,
    pub kill_on_drop: bool,
    /// Run the child on a new pseudo-terminal of this size.
    pub pty: Option<crate::pty::PtySize>,
    /// `status()`/`output()` turn an unsuccessful exit into an error.
    pub checked: bool,
    pub containment: crate::tree::Containment,
    pub limits: crate::tree::Limits,
    #[cfg(unix)]
    pub unix: UnixOptions,
    #[cfg(windows)]
    pub windows: WindowsOptions,
}

impl CommandSpec {
    pub fn new(program: &OsStr) -> CommandSpec {
        CommandSpec {
            program: program.to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            env_clear: false,
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            kill_on_drop: false,
            pty: None,
            checked: false,
            containment: Default::default(),
            limits: Default::default(),
            #[cfg(unix)]
            unix: Default::default(),
            #[cfg(windows)]
            windows: Default::default(),
        }
    }

    pub fn set_env(&mut self, key: &OsStr, val: &OsStr) {
        self.forget_other_case(key);
        self.env.insert(key.to_owned(), Some(val.to_owned()));
    }

    pub fn remove_env(&mut self, key: &OsStr) {
        self.forget_other_case(key);
        if self.env_clear {
            self.env.remove(key);
        } else {
            self.env.insert(key.to_owned(), None);
        }
    }

    /// Windows variable names are case-insensitive: a change to `Path`
    /// replaces an earlier change to `PATH`. (Nothing to do on Unix.)
    fn forget_other_case(&mut self, _key: &OsStr) {
        #[cfg(windows)]
        self.env.retain(|k, _| !crate::sys::env_key_eq(k, _key));
    }

    pub fn clear_env(&mut self) {
        self.env_clear = true;
        self.env.clear();
    }

    /// True when the child's environment differs from the parent's.
    pub fn env_changed(&self) -> bool {
        self.env_clear || !self.env.is_empty()
    }

    /// The value the child will see for `key`, when the builder decided it
    /// (`Some(None)` means removed; `None` means inherited).
    #[cfg(unix)]
    pub fn env_override(&self, key: &OsStr) -> Option<Option<&OsStr>> {
        match self.env.get(key) {
            Some(v) => Some(v.as_deref()),
            None if self.env_clear => Some(None),
            None => None,
        }
    }

    /// The complete environment the child will get (Unix; the Windows
    /// backend compares names case-insensitively, in `sys::windows::env`).
    #[cfg(unix)]
    pub fn resolved_env(&self) -> Vec<(OsString, OsString)> {
        let mut out: BTreeMap<OsString, OsString> = if self.env_clear {
            BTreeMap::new()
        } else {
            std::env::vars_os().collect()
        };
        for (k, v) in &self.env {
            match v {
                Some(v) => {
                    out.insert(k.clone(), v.clone());
                }
                None => {
                    out.remove(k);
                }
            }
        }
        out.into_iter().collect()
    }

    pub fn cwd(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// The same command as a std `Command` (program, `arg0`, arguments,
    /// environment, directory), for `Debug` output identical to std's.
    pub fn to_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.program);
        #[cfg(unix)]
        if let Some(arg0) = &self.unix.arg0 {
            std::os::unix::process::CommandExt::arg0(&mut cmd, arg0);
        }
        cmd.args(&self.args);
        if self.env_clear {
            cmd.env_clear();
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        cmd
    }

    /// What can be read back from a std `Command`.
    pub fn from_std(cmd: &std::process::Command) -> CommandSpec {
        let mut spec = CommandSpec::new(cmd.get_program());
        spec.args = cmd.get_args().map(OsStr::to_owned).collect();
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => spec.set_env(k, v),
                None => spec.remove_env(k),
            }
        }
        spec.cwd = cmd.get_current_dir().map(Path::to_owned);
        spec
    }

    /// After a successful spawn: the parent's copies of `inherit_fd`
    /// descriptors are closed (the child has its own), so a reader waiting
    /// for end of file on such a pipe is not held up by the `Command`.
    pub fn spawned(&mut self) {
        #[cfg(unix)]
        self.unix.fds.clear();
    }

    /// std's rule: an empty program name is not found (never `exec`ed).
    pub fn check_program(&self) -> crate::Result<()> {
        if !self.program.is_empty() {
            return Ok(());
        }
        #[cfg(unix)]
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        #[cfg(windows)]
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        Err(crate::Error::new(crate::Operation::Exec, e)
            .with_program(&self.program)
            .with_detail("the program name is empty"))
    }
}

/// Iterator over the environment changes of a command, from `get_envs`.
/// Mirrors [`std::process::CommandEnvs`]: `None` means the variable is removed.
#[derive(Debug)]
pub struct CommandEnvs<'a> {
    pub(crate) iter: std::collections::btree_map::Iter<'a, OsString, Option<OsString>>,
}

impl ExactSizeIterator for CommandEnvs<'_> {}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);
    fn next(&mut self) -> Option<Self::Item> {
        self.iter.next().map(|(k, v)| (k.as_os_str(), v.as_deref()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

/// Iterator over a command's arguments, from `get_args`.
#[derive(Debug)]
pub struct CommandArgs<'a> {
    pub(crate) iter: std::slice::Iter<'a, OsString>,
}

impl<'a> Iterator for CommandArgs<'a> {
    type Item = &'a OsStr;
    fn next(&mut self) -> Option<&'a OsStr> {
        self.iter.next().map(|s| s.as_os_str())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl ExactSizeIterator for CommandArgs<'_> {}

/// Gives the shared builder code access to a command's spec.
pub(crate) trait HasSpec {
    fn spec_mut(&mut self) -> &mut CommandSpec;
}
