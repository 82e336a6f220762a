//! The descriptor plan for a child, made in the parent before any process is
//! created: which descriptor becomes the child's 0, 1, 2 and each extra
//! `inherit_fd` target, the parent's ends of the pipes, and which descriptor
//! numbers must not survive into the child.
//!
//! Shared by the Linux (clone3) and the macOS/BSD (posix_spawn, fork) backends.

use crate::error::{Error, Operation, Result};
use crate::spec::CommandSpec;
use crate::stdio::StdioKind;
use crate::sys::stream::{stream_choice, StreamChoice};
use crate::sys::unix::fd::{dev_null, dup_above, grow_pipe, pipe, set_nonblocking};
use crate::sys::{SpawnOptions, StdioDefault};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// The child's side of one standard stream, and the parent's end of a pipe.
struct StreamPlan {
    /// Descriptor to install as 0/1/2 in the child (None: inherit).
    child: Option<RawFd>,
    /// Keeps a pipe's child end open until the spawn is done.
    keep: Option<OwnedFd>,
    parent: Option<OwnedFd>,
}

fn plan_stream(
    cfg: Option<&StdioKind>,
    default: StdioDefault,
    index: usize,
    opts: &SpawnOptions,
) -> io::Result<StreamPlan> {
    let piped = || -> io::Result<StreamPlan> {
        let (rd, wr) = pipe()?;
        let (child, parent) = if index == 0 { (rd, wr) } else { (wr, rd) };
        if opts.nonblocking {
            set_nonblocking(parent.as_fd(), true)?;
        }
        if opts.grow_pipes && index != 0 {
            grow_pipe(parent.as_fd(), 1 << 20);
        }
        Ok(StreamPlan {
            child: Some(child.as_raw_fd()),
            keep: Some(child),
            parent: Some(parent),
        })
    };
    let null = || -> io::Result<StreamPlan> {
        Ok(StreamPlan {
            child: Some(dev_null()?.as_raw_fd()),
            keep: None,
            parent: None,
        })
    };
    let only_child = |child: Option<RawFd>| StreamPlan {
        child,
        keep: None,
        parent: None,
    };
    match stream_choice(cfg, default)? {
        // MergeStdout: resolved by `FdPlan::new` (stderr) or refused there.
        StreamChoice::Inherit | StreamChoice::MergeStdout => Ok(only_child(None)),
        StreamChoice::Null => null(),
        StreamChoice::Piped => piped(),
        StreamChoice::Owned(fd) => Ok(only_child(Some(fd.as_raw_fd()))),
    }
}

/// Every descriptor decision for one spawn.
pub(crate) struct FdPlan {
    /// The parent's ends of piped stdin, stdout, stderr.
    parents: [Option<OwnedFd>; 3],
    /// Which of 0, 1, 2 the child inherits from the parent unchanged (macOS
    /// names them explicitly under POSIX_SPAWN_CLOEXEC_DEFAULT).
    #[cfg_attr(not(target_vendor = "apple"), allow(dead_code))]
    pub inherit: [bool; 3],
    /// (source, target) moves to make with `dup2`, in order. Every source is
    /// above every target, so no move clobbers a source still to be used.
    pub moves: Vec<(RawFd, RawFd)>,
    /// Descriptor ranges between 3 and `close_from` that are not targets: they
    /// must not reach the child.
    pub gaps: Vec<(RawFd, RawFd)>,
    /// Every descriptor from here up must not reach the child.
    pub close_from: RawFd,
    /// Child pipe ends and moved copies, open until the spawn is done.
    _keep: Vec<OwnedFd>,
}

impl FdPlan {
    /// The plan for an in-place `exec`: every stream not configured is
    /// inherited (this process's own 0, 1 and 2).
    pub fn for_exec(spec: &CommandSpec) -> Result<FdPlan> {
        let opts = SpawnOptions {
            defaults: [StdioDefault::Inherit; 3],
            nonblocking: false,
            grow_pipes: false,
        };
        FdPlan::new(spec, &opts)
    }

    pub fn new(spec: &CommandSpec, opts: &SpawnOptions) -> Result<FdPlan> {
        let prog = &spec.program;
        let stdio_err = |e: io::Error| Error::new(Operation::Stdio, e).with_program(prog);
        let mut keep = Vec::new();
        let mut parents: [Option<OwnedFd>; 3] = [None, None, None];
        let mut inherit = [false; 3];
        let mut moves: Vec<(RawFd, RawFd)> = Vec::with_capacity(3 + spec.unix.fds.len());
        let cfgs = [&spec.stdin, &spec.stdout, &spec.stderr];
        for (i, cfg) in cfgs.iter().enumerate() {
            if cfg.as_ref().is_some_and(|c| c.is_merge()) {
                if i != 2 {
                    return Err(Error::invalid_input(
                        prog,
                        "Stdio::merged_with_stdout() is for stderr only",
                    ));
                }
                // 2>&1: whatever the child's stdout is (the parent's own when inherited).
                let src = moves.iter().find(|m| m.1 == 1).map_or(1, |m| m.0);
                moves.push((src, 2));
                continue;
            }
            let p = plan_stream(cfg.as_ref().map(|s| &s.0), opts.defaults[i], i, opts)
                .map_err(stdio_err)?;
            match p.child {
                Some(src) => moves.push((src, i as RawFd)),
                None => inherit[i] = true,
            }
            keep.extend(p.keep);
            parents[i] = p.parent;
        }
        for (target, fd) in &spec.unix.fds {
            if *target < 3 {
                return Err(Error::invalid_input(
                    prog,
                    format!(
                        "inherit_fd target {target} is a standard stream; use stdin/stdout/stderr"
                    ),
                ));
            }
            moves.push((fd.as_raw_fd(), *target));
        }
        let max_target = moves.iter().map(|m| m.1).max().unwrap_or(2).max(2);
        for m in &mut moves {
            if m.0 <= max_target {
                let copy = dup_above(borrow(m.0), max_target + 1)
                    .map_err(|e| Error::new(Operation::FileDescriptors, e).with_program(prog))?;
                m.0 = copy.as_raw_fd();
                keep.push(copy);
            }
        }
        let mut targets: Vec<RawFd> = moves.iter().map(|m| m.1).filter(|&t| t >= 3).collect();
        targets.sort_unstable();
        let mut gaps = Vec::new();
        let mut start = 3;
        for t in targets {
            if t > start {
                gaps.push((start, t - 1));
            }
            start = t + 1;
        }
        Ok(FdPlan {
            parents,
            inherit,
            moves,
            gaps,
            close_from: max_target + 1,
            _keep: keep,
        })
    }

    /// Takes the parent's ends of the pipes (stdin, stdout, stderr) once the
    /// child exists; the child's ends close when the plan is dropped.
    pub fn take_parents(&mut self) -> [Option<OwnedFd>; 3] {
        std::mem::take(&mut self.parents)
    }
}

fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: only called on descriptors owned by the spec, the stream plans or
    // `dev_null`, all of which outlive the `dup` this borrow is used for.
    unsafe { BorrowedFd::borrow_raw(fd) }
}
