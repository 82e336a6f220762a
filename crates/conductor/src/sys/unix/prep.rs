//! Turns a [`CommandSpec`] into the C strings `execve` takes: argv, envp and the
//! list of paths to try for the program (a PATH search done in the parent, so
//! the child never allocates). Bad input is reported here, naming the item.

use crate::error::{Error, Result};
use crate::spec::CommandSpec;
use std::ffi::{c_char, CString, OsStr};
use std::os::unix::ffi::OsStrExt;

/// argv, envp and exec candidates, with the pointer arrays the child reads.
pub(crate) struct ExecStrings {
    _args: Vec<CString>,
    argv: Vec<*const c_char>,
    /// `KEY=VALUE\0` strings, packed.
    _env: Vec<u8>,
    /// Pointers into `_env`, NULL-terminated.
    envp: Vec<*const c_char>,
    _paths: Vec<CString>,
    candidates: Vec<*const c_char>,
    pub cwd: Option<CString>,
    /// Bytes of argv plus envp, for a clear E2BIG message.
    pub size: usize,
}

// SAFETY: the raw pointers point into CStrings owned by the same struct.
unsafe impl Send for ExecStrings {}

fn cstring(spec: &CommandSpec, what: &str, s: &OsStr) -> Result<CString> {
    CString::new(s.as_bytes()).map_err(|e| {
        Error::invalid_input(
            &spec.program,
            format!(
                "{what} {:?} contains a NUL byte at offset {}",
                s.to_string_lossy(),
                e.nul_position()
            ),
        )
    })
}

impl ExecStrings {
    pub fn new(spec: &CommandSpec) -> Result<ExecStrings> {
        let program = cstring(spec, "program", &spec.program)?;
        if spec.program.is_empty() {
            return Err(Error::invalid_input(
                &spec.program,
                "the program name is empty",
            ));
        }
        let mut size = 0;
        let mut args = Vec::with_capacity(spec.args.len() + 1);
        args.push(match &spec.unix.arg0 {
            Some(a0) => cstring(spec, "arg0", a0)?,
            None => program.clone(),
        });
        for (i, a) in spec.args.iter().enumerate() {
            args.push(cstring(spec, &format!("argument {}", i + 1), a)?);
        }
        let mut argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        size += args
            .iter()
            .map(|a| a.as_bytes().len() + 1 + 8)
            .sum::<usize>();

        // The child's environment is always a copy made here: an inherited
        // one is read through std (`vars_os` holds std's environment lock), never
        // by handing the live `environ` to the child, which another thread's
        // `set_var` may be rewriting while the child execs.
        let mut env = Vec::new();
        let mut ends = Vec::new();
        let mut push = |k: &OsStr, v: &OsStr| {
            env.extend_from_slice(k.as_bytes());
            env.push(b'=');
            env.extend_from_slice(v.as_bytes());
            env.push(0);
            ends.push(env.len());
        };
        if spec.env_changed() {
            for (k, v) in spec.resolved_env() {
                if k.as_bytes().contains(&b'=') || k.is_empty() {
                    return Err(Error::invalid_input(
                        &spec.program,
                        format!(
                            "environment variable name {:?} is empty or contains '='",
                            k.to_string_lossy()
                        ),
                    ));
                }
                if k.as_bytes().contains(&0) || v.as_bytes().contains(&0) {
                    return Err(Error::invalid_input(
                        &spec.program,
                        format!(
                            "environment variable {} contains a NUL byte",
                            k.to_string_lossy()
                        ),
                    ));
                }
                push(&k, &v);
            }
        } else {
            // Names and values from the C environment hold no NUL.
            for (k, v) in std::env::vars_os() {
                push(&k, &v);
            }
        }
        let mut envp: Vec<*const c_char> = Vec::with_capacity(ends.len() + 1);
        let mut start = 0;
        for end in ends {
            envp.push(env[start..].as_ptr().cast());
            start = end;
        }
        envp.push(std::ptr::null());
        size += env.len() + 8 * envp.len();

        let paths = candidates(spec, &program)?;
        let candidates = paths.iter().map(|p| p.as_ptr()).collect();
        let cwd = match &spec.cwd {
            Some(d) => Some(cstring(spec, "working directory", d.as_os_str())?),
            None => None,
        };
        Ok(ExecStrings {
            _args: args,
            argv,
            _env: env,
            envp,
            _paths: paths,
            candidates,
            cwd,
            size,
        })
    }

    pub fn argv(&self) -> *const *const c_char {
        self.argv.as_ptr()
    }

    /// The environment for the child (a copy; see [`ExecStrings::new`]).
    pub fn envp(&self) -> *const *const c_char {
        self.envp.as_ptr()
    }

    pub fn candidates(&self) -> &[*const c_char] {
        &self.candidates
    }

    /// The same paths as [`candidates`](Self::candidates), as C strings.
    #[cfg(not(target_os = "linux"))]
    pub fn candidate_paths(&self) -> &[CString] {
        &self._paths
    }
}

/// The paths `execve` will try: the program itself when it names a path,
/// otherwise each directory of the child's PATH (execvp's rules).
fn candidates(spec: &CommandSpec, program: &CString) -> Result<Vec<CString>> {
    let bytes = program.as_bytes();
    if bytes.contains(&b'/') {
        return Ok(vec![program.clone()]);
    }
    let inherited;
    let path: &[u8] = match spec.env_override(OsStr::new("PATH")) {
        Some(Some(p)) => p.as_bytes(),
        Some(None) => b"/bin:/usr/bin",
        None => {
            inherited = std::env::var_os("PATH");
            inherited
                .as_deref()
                .map_or(b"/bin:/usr/bin", |p| p.as_bytes())
        }
    };
    let mut out = Vec::new();
    for dir in path.split(|&b| b == b':') {
        let mut full = Vec::with_capacity(dir.len() + 1 + bytes.len() + 1);
        if dir.is_empty() {
            full.extend_from_slice(b"./");
        } else {
            full.extend_from_slice(dir);
            full.push(b'/');
        }
        full.extend_from_slice(bytes);
        // No NUL possible: PATH comes from an OsStr without one (checked when set).
        if let Ok(c) = CString::new(full) {
            out.push(c);
        }
    }
    Ok(out)
}
