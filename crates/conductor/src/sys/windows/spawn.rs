//! Spawning on Windows: resolve the program and build the command line
//! ([`super::cmdline`]), the environment block ([`super::env`]), the child's
//! three stdio handles (pipes, the null device, inherited or given handles),
//! then `CreateProcessW` with `EXTENDED_STARTUPINFO_PRESENT` and a
//! `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` naming exactly the handles the child
//! inherits. A contained child is created suspended, put in its Job, and only
//! then resumed, so it runs no instruction outside the job.
//!
//! Every handle the child inherits is a private copy made by this spawn:
//! inheritable only during `CreateProcessW` and closed right after, so other
//! code that spawns with `bInheritHandles = TRUE` at the same moment can at
//! worst see those copies for that instant (the same window std has).

use super::attr::HandleList;
use super::cmdline::{prepare, Launch};
use super::env::ChildEnv;
use super::handle::{cvt, open_null, set_inheritable, std_handle};
use super::job::Job;
use super::pipe::pipe;
use super::process::Process;
use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::stdio::StdioKind;
use crate::sys::stream::{stream_choice, StreamChoice};
use crate::sys::{SpawnOptions, Spawned, StdioDefault};
use crate::tree::Containment;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::PathBuf;
use windows_sys::Win32::Foundation::{
    ERROR_ACCESS_DENIED, ERROR_BAD_EXE_FORMAT, ERROR_DIRECTORY, ERROR_EXE_MACHINE_TYPE_MISMATCH,
    ERROR_FILENAME_EXCED_RANGE, ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND, HANDLE,
};
use windows_sys::Win32::System::Console::GetConsoleCP;
use windows_sys::Win32::System::Threading::{
    CreateProcessW, ResumeThread, TerminateProcess, CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW,
    CREATE_SUSPENDED, CREATE_UNICODE_ENVIRONMENT, DETACHED_PROCESS, EXTENDED_STARTUPINFO_PRESENT,
    PROCESS_INFORMATION, STARTF_USESTDHANDLES, STARTUPINFOEXW, STARTUPINFOW,
};

/// The child's end of one standard stream and the parent's end of a pipe.
struct Stream {
    child: Option<OwnedHandle>,
    parent: Option<OwnedHandle>,
}

fn plan_stream(
    cfg: Option<&StdioKind>,
    default: StdioDefault,
    index: usize,
    opts: &SpawnOptions,
) -> io::Result<Stream> {
    let only_child = |h: Option<OwnedHandle>| Stream {
        child: h,
        parent: None,
    };
    match stream_choice(cfg, default)? {
        StreamChoice::Owned(h) => Ok(only_child(Some(h.try_clone()?))),
        // Resolved by the caller (stderr) or refused there (stdin, stdout).
        StreamChoice::MergeStdout => Ok(only_child(None)),
        StreamChoice::Inherit => Ok(only_child(std_handle(index)?)),
        StreamChoice::Null => Ok(only_child(Some(open_null()?))),
        StreamChoice::Piped => {
            let size = if opts.grow_pipes && index != 0 {
                1 << 20
            } else {
                64 * 1024
            };
            let p = pipe(index != 0, opts.nonblocking, size)?;
            Ok(Stream {
                child: Some(p.child),
                parent: Some(p.parent),
            })
        }
    }
}

/// Makes the handles inheritable for the duration of a spawn, and not
/// inheritable again when dropped.
struct Inheriting<'a>(Vec<&'a OwnedHandle>);

impl<'a> Inheriting<'a> {
    fn new(handles: Vec<&'a OwnedHandle>) -> io::Result<Inheriting<'a>> {
        // Filled as it goes, so a failure resets the flags already set.
        let mut guard = Inheriting(Vec::with_capacity(handles.len()));
        for h in handles {
            set_inheritable(h.as_handle(), true)?;
            guard.0.push(h);
        }
        Ok(guard)
    }
}

impl Drop for Inheriting<'_> {
    fn drop(&mut self) {
        for h in &self.0 {
            let _ = set_inheritable(h.as_handle(), false);
        }
    }
}

/// True when this process has no console (a GUI program or a service): a
/// console child would then open a window of its own.
fn no_console() -> bool {
    // SAFETY: no preconditions.
    unsafe { GetConsoleCP() == 0 }
}

/// Spawns the command.
pub(crate) fn spawn(spec: &CommandSpec, opts: &SpawnOptions) -> Result<Spawned> {
    let prog = &spec.program;
    if spec.containment == Containment::Cgroup {
        return Err(Error::new(
            Operation::Containment,
            io::Error::new(io::ErrorKind::Unsupported, "unsupported on this platform"),
        )
        .with_program(prog)
        .with_reason(crate::Reason::CgroupUnavailable)
        .with_detail(
            "cgroup containment is Linux-only; on Windows use ProcessGroup, Session or \
             BestAvailable, which put the tree in a Job Object",
        ));
    }
    let env = ChildEnv::new(spec)?;
    let Launch { app, mut line } = prepare(spec, &env)?;
    let block = env.block();
    let cwd = working_dir(spec)?;

    let w = &spec.windows;
    let contained = spec.containment != Containment::None;
    let group = contained || w.new_process_group;
    let job = if contained {
        Some(Job::new().map_err(|e| {
            Error::new(Operation::Containment, e)
                .with_program(prog)
                .with_detail("cannot create a Job Object for the child's tree")
        })?)
    } else {
        None
    };

    let cfgs = [&spec.stdin, &spec.stdout, &spec.stderr];
    let mut streams: Vec<Stream> = Vec::with_capacity(3);
    for (i, cfg) in cfgs.iter().enumerate() {
        if cfg.as_ref().is_some_and(|c| c.is_merge()) {
            if i != 2 {
                return Err(Error::invalid_input(
                    prog,
                    "Stdio::merged_with_stdout() is for stderr only",
                ));
            }
            // 2>&1: a second handle to whatever the child's stdout is.
            let child = match &streams[1].child {
                Some(h) => Some(
                    h.try_clone()
                        .map_err(|e| Error::new(Operation::Stdio, e).with_program(prog))?,
                ),
                None => None,
            };
            streams.push(Stream {
                child,
                parent: None,
            });
            continue;
        }
        let s = plan_stream(cfg.as_ref().map(|s| &s.0), opts.defaults[i], i, opts)
            .map_err(|e| Error::new(Operation::Stdio, e).with_program(prog))?;
        streams.push(s);
    }
    let std_handles: Vec<HANDLE> = streams
        .iter()
        .map(|s| {
            s.child
                .as_ref()
                .map_or(std::ptr::null_mut(), |h| h.as_raw_handle())
        })
        .collect();
    // Console pseudo-handles (Windows 7: low two bits set) can be neither
    // listed nor made inheritable; they reach the child through STARTUPINFO.
    let inherited: Vec<&OwnedHandle> = streams
        .iter()
        .filter_map(|s| s.child.as_ref())
        .chain(&w.handles)
        .filter(|h| h.as_raw_handle() as usize & 3 != 3)
        .collect();
    let list_handles: Vec<HANDLE> = inherited.iter().map(|h| h.as_raw_handle()).collect();

    let mut flags = CREATE_UNICODE_ENVIRONMENT | (w.creation_flags & !CREATE_SUSPENDED);
    if group {
        flags |= CREATE_NEW_PROCESS_GROUP;
    }
    if job.is_some() {
        flags |= CREATE_SUSPENDED;
    }
    if w.detached {
        flags |= DETACHED_PROCESS;
    } else if w.no_window.unwrap_or_else(no_console) {
        flags |= CREATE_NO_WINDOW;
    }

    // SAFETY: zero is a valid value for these plain-data structs.
    let mut si: STARTUPINFOEXW = unsafe { std::mem::zeroed() };
    si.StartupInfo.cb = std::mem::size_of::<STARTUPINFOW>() as u32;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = std_handles[0];
    si.StartupInfo.hStdOutput = std_handles[1];
    si.StartupInfo.hStdError = std_handles[2];
    let fd_err = |e: io::Error| Error::new(Operation::FileDescriptors, e).with_program(prog);
    let mut list = None;
    if !list_handles.is_empty() {
        let l = list.insert(HandleList::new(list_handles).map_err(fd_err)?);
        si.lpAttributeList = l.ptr();
        si.StartupInfo.cb = std::mem::size_of::<STARTUPINFOEXW>() as u32;
        flags |= EXTENDED_STARTUPINFO_PRESENT;
    }
    let inheriting = Inheriting::new(inherited).map_err(fd_err)?;

    // SAFETY: zero is a valid value for this plain-data struct.
    let mut pi: PROCESS_INFORMATION = unsafe { std::mem::zeroed() };
    let cwd_wide = cwd.as_ref().map(|d| super::handle::wide_nul(d.as_os_str()));
    // SAFETY: `app`, `line` (writable), the environment block and the
    // directory are NUL-terminated UTF-16 buffers alive for the call; the
    // startup info and its attribute list (and the handles it names) are
    // initialised and alive; `pi` is a valid out-pointer.
    let ok = unsafe {
        CreateProcessW(
            app.as_ptr(),
            line.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            i32::from(list.is_some()),
            flags,
            block
                .as_ref()
                .map_or(std::ptr::null(), |b| b.as_ptr().cast()),
            cwd_wide.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            (&si as *const STARTUPINFOEXW).cast(),
            &mut pi,
        )
    };
    let created = cvt(ok);
    drop(inheriting);
    drop(list);
    if let Err(e) = created {
        return Err(create_error(spec, e, cwd.as_deref(), line.len()));
    }
    // SAFETY: CreateProcessW succeeded: both handles are new and ours.
    let (process, thread) = unsafe {
        (
            OwnedHandle::from_raw_handle(pi.hProcess),
            OwnedHandle::from_raw_handle(pi.hThread),
        )
    };
    let job = match job {
        Some(job) => contain(spec, job, &process, &thread)?,
        None => None,
    };
    drop(thread);
    let [stdin, stdout, stderr] = [0, 1, 2].map(|i| streams[i].parent.take());
    Ok(Spawned {
        process: Process::new(process, pi.dwProcessId, job, group),
        stdin,
        stdout,
        stderr,
    })
}

/// Puts the suspended child in its job and lets it run. A child that cannot
/// be contained is killed (it has run nothing yet), except under
/// `BestAvailable`, which then goes on with the process group alone.
fn contain(
    spec: &CommandSpec,
    job: Job,
    process: &OwnedHandle,
    thread: &OwnedHandle,
) -> Result<Option<Job>> {
    let kill = || {
        // SAFETY: an open process handle.
        unsafe { TerminateProcess(process.as_raw_handle(), 1) };
    };
    let job = match job.assign(process.as_handle()) {
        Ok(()) => Some(job),
        Err(_) if spec.containment == Containment::BestAvailable => None,
        Err(e) => {
            kill();
            return Err(Error::new(Operation::Containment, e)
                .with_program(&spec.program)
                .with_detail("cannot put the child in its Job Object"));
        }
    };
    // SAFETY: the primary thread of the suspended child.
    if unsafe { ResumeThread(thread.as_raw_handle()) } == u32::MAX {
        let e = io::Error::last_os_error();
        kill();
        return Err(Error::new(Operation::Spawn, e)
            .with_program(&spec.program)
            .with_detail("cannot resume the child after putting it in its job"));
    }
    Ok(job)
}

/// The working directory as an absolute path, checked: a missing one is an
/// error naming it, as on Unix.
fn working_dir(spec: &CommandSpec) -> Result<Option<PathBuf>> {
    let Some(dir) = spec.cwd() else {
        return Ok(None);
    };
    let err = |e: io::Error| {
        Error::new(Operation::ChangeDirectory, e)
            .with_program(&spec.program)
            .with_detail(format!("working directory {}", dir.display()))
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(err(io::Error::from_raw_os_error(ERROR_DIRECTORY as i32))),
        Err(e) => return Err(err(e)),
    }
    Ok(Some(std::path::absolute(dir).map_err(err)?))
}

/// The error for a failed `CreateProcessW`.
fn create_error(
    spec: &CommandSpec,
    e: io::Error,
    cwd: Option<&std::path::Path>,
    line_len: usize,
) -> Error {
    let code = e.raw_os_error().map_or(0, |c| c as u32);
    let (op, detail) = match code {
        ERROR_DIRECTORY => (
            Operation::ChangeDirectory,
            cwd.map(|d| format!("working directory {}", d.display())),
        ),
        ERROR_FILE_NOT_FOUND | ERROR_PATH_NOT_FOUND => {
            (Operation::Exec, Some("program not found".to_string()))
        }
        ERROR_ACCESS_DENIED => (Operation::Exec, Some("permission denied".to_string())),
        ERROR_BAD_EXE_FORMAT | ERROR_EXE_MACHINE_TYPE_MISMATCH => (
            Operation::Exec,
            Some("not an executable format".to_string()),
        ),
        ERROR_FILENAME_EXCED_RANGE => (
            Operation::Exec,
            Some(format!(
                "the command line ({line_len} characters) is too long"
            )),
        ),
        _ => (Operation::Spawn, None),
    };
    let mut err = Error::new(op, e).with_program(&spec.program);
    if let Some(d) = detail {
        err = err.with_detail(d);
    }
    err
}
