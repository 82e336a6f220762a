//! What `CreateProcessW` runs: the program resolved over the child's
//! `PATH`/`PATHEXT` ([`winargs::resolve_program`], never the current
//! directory implicitly), and the command line: [`winargs::build_command_line`]
//! plus the caller's raw arguments for an executable, or the system cmd.exe
//! with [`winargs::build_batch_command_line`] for a `.bat`/`.cmd` file.

use super::env::{refuse_nul, ChildEnv};
use super::handle::wide_nul;
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::winargs::{self, CommandLineError};
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use windows_sys::Win32::Foundation::ERROR_FILE_NOT_FOUND;
use windows_sys::Win32::System::SystemInformation::GetSystemDirectoryW;

/// The `lpApplicationName` and `lpCommandLine` for one spawn.
pub(crate) struct Launch {
    /// The file run, NUL-terminated: the resolved program, or cmd.exe.
    pub app: Vec<u16>,
    /// The command line, NUL-terminated (`CreateProcessW` may write to it).
    pub line: Vec<u16>,
}

/// The longest command line `CreateProcessW` accepts, in UTF-16 units with the NUL.
const MAX_LINE: usize = 32767;

/// The error for a command line that cannot be built safely.
fn line_error(spec: &CommandSpec, e: CommandLineError) -> Error {
    let detail = e.to_string();
    Error::new(Operation::Validate, io::Error::from(e))
        .with_program(&spec.program)
        .with_detail(detail)
}

fn not_found(spec: &CommandSpec, env: &ChildEnv) -> Error {
    let detail = if Path::new(&spec.program).components().count() > 1 {
        "program not found".to_string()
    } else {
        format!(
            "program not found in the child's PATH (extensions tried: {})",
            env.get("PATHEXT")
                .map_or(winargs::DEFAULT_PATHEXT.into(), |p| p.to_string_lossy())
        )
    };
    Error::new(
        Operation::Exec,
        io::Error::from_raw_os_error(ERROR_FILE_NOT_FOUND as i32),
    )
    .with_program(&spec.program)
    .with_detail(detail)
}

/// Resolves the program and builds the command line.
pub(crate) fn prepare(spec: &CommandSpec, env: &ChildEnv) -> Result<Launch> {
    let raw = &spec.windows.raw_args;
    // A program name with NUL or `"` cannot be carried: say so, not "not found".
    winargs::build_command_line(&spec.program, std::iter::empty::<&OsStr>())
        .map_err(|e| line_error(spec, e))?;
    let found = winargs::resolve_program(
        &spec.program,
        env.get("PATH"),
        env.get("PATHEXT"),
        Path::is_file,
    )
    .ok_or_else(|| not_found(spec, env))?;
    let found = std::path::absolute(&found).unwrap_or(found);
    let line = if winargs::is_batch_file(&found) {
        if !raw.is_empty() {
            return Err(Error::invalid_input(
                &spec.program,
                "raw arguments cannot be passed to a batch file: they would \
                 reopen cmd.exe's command injection",
            ));
        }
        let line = winargs::build_batch_command_line(&found, &spec.args)
            .map_err(|e| line_error(spec, e))?;
        let app = system_cmd().map_err(|e| {
            Error::new(Operation::Spawn, e)
                .with_program(&spec.program)
                .with_detail("cannot find the system's cmd.exe to run a batch file")
        })?;
        return finish(spec, wide_nul(app.as_os_str()), line);
    } else if raw.is_empty() {
        winargs::build_command_line(&spec.program, &spec.args).map_err(|e| line_error(spec, e))?
    } else {
        with_raw_args(spec)?
    };
    finish(spec, wide_nul(found.as_os_str()), line)
}

fn finish(spec: &CommandSpec, app: Vec<u16>, mut line: Vec<u16>) -> Result<Launch> {
    line.push(0);
    if line.len() > MAX_LINE {
        return Err(Error::invalid_input(
            &spec.program,
            format!(
                "the command line is {} characters long; Windows accepts at most {}",
                line.len() - 1,
                MAX_LINE - 1
            ),
        ));
    }
    Ok(Launch { app, line })
}

/// The command line with the caller's raw arguments in their places among
/// the quoted ones (each after a single space, exactly as given).
fn with_raw_args(spec: &CommandSpec) -> Result<Vec<u16>> {
    // Validates every quoted argument, naming the bad one by its index.
    winargs::build_command_line(&spec.program, &spec.args).map_err(|e| line_error(spec, e))?;
    let mut line = winargs::build_command_line(&spec.program, std::iter::empty::<&OsStr>())
        .map_err(|e| line_error(spec, e))?;
    let raw = &spec.windows.raw_args;
    let mut raw_iter = raw.iter().peekable();
    for i in 0..=spec.args.len() {
        while let Some((_, r)) = raw_iter.next_if(|(pos, _)| *pos == i) {
            refuse_nul(spec, r, || {
                format!("raw argument {:?}", r.to_string_lossy())
            })?;
            line.push(u16::from(b' '));
            line.extend(r.encode_wide());
        }
        if let Some(arg) = spec.args.get(i) {
            line.push(u16::from(b' '));
            line.extend(winargs::quote_arg(arg).map_err(|e| line_error(spec, e))?);
        }
    }
    Ok(line)
}

/// The full path of the system's cmd.exe (`GetSystemDirectoryW` + `\cmd.exe`),
/// so that no `cmd.exe` in the current directory or PATH is picked up.
fn system_cmd() -> io::Result<PathBuf> {
    let mut buf = vec![0u16; 260];
    loop {
        let cap = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        // SAFETY: the buffer is valid for `cap` UTF-16 units.
        let n = unsafe { GetSystemDirectoryW(buf.as_mut_ptr(), cap) } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            buf.truncate(n);
            let dir = PathBuf::from(OsString::from_wide(&buf));
            return Ok(dir.join("cmd.exe"));
        }
        // Too small: `n` is the size needed, with the NUL.
        buf.resize(n, 0);
    }
}
