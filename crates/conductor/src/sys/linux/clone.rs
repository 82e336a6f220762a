//! The vfork-class primitive: `clone3(CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
//! CLONE_CLEAR_SIGHAND)` through a few lines of inline assembly, with glibc's
//! `clone()` as the fallback for kernels or architectures without `clone3`.
//!
//! The parent thread is suspended until the child calls `execve` or exits, so
//! the child may use memory the parent prepared; the child runs on its own small
//! stack (one per thread, with a guard page, reused across spawns).

use std::cell::Cell;
use std::ffi::c_void;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The layout of `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const STACK_SIZE: usize = 64 * 1024;

/// What the spawn asks of the clone.
pub(crate) struct CloneRequest {
    /// Ask for a pidfd (`CLONE_PIDFD`).
    pub pidfd: bool,
    /// Spawn straight into this cgroup directory (`CLONE_INTO_CGROUP`).
    pub cgroup: Option<RawFd>,
    /// Use glibc's `clone()` even when `clone3` is available (exercises the fallback).
    pub legacy: bool,
}

/// The child entry point: never returns (execs or exits).
pub(crate) type ChildMain = unsafe extern "C" fn(*mut c_void) -> !;

thread_local! {
    static STACK: Cell<usize> = const { Cell::new(0) };
}

/// Returns the top of this thread's child stack, mapping it on first use.
fn stack_top() -> io::Result<usize> {
    STACK.with(|s| {
        if s.get() == 0 {
            // SAFETY: an anonymous private mapping of a fixed size; the result is checked.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    STACK_SIZE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: the first page of the mapping we own becomes a guard page.
            unsafe { libc::mprotect(base, 4096, libc::PROT_NONE) };
            s.set(base as usize);
        }
        // The stack is reused for every spawn from this thread; it is left mapped
        // when the thread exits (64 KiB per spawning thread).
        Ok(s.get() + STACK_SIZE)
    })
}

/// Creates the child with `clone3`, or with glibc's `clone()` when `req.legacy`
/// (the caller must then block signals: that child resets handlers itself).
/// Returns its pid and, when asked for, its pidfd. By the time this returns the child has exec'd or exited.
///
/// # Safety
/// `entry` must never return and must only make async-signal-safe calls: it
/// shares the caller's memory. `arg` must stay valid until this returns.
pub(crate) unsafe fn clone_vfork(
    req: &CloneRequest,
    entry: ChildMain,
    arg: *mut c_void,
) -> io::Result<(libc::pid_t, Option<OwnedFd>)> {
    let top = stack_top()?;
    if !req.legacy {
        let mut pidfd: libc::c_int = -1;
        let mut flags = libc::CLONE_VM as u64 | libc::CLONE_VFORK as u64 | CLONE_CLEAR_SIGHAND;
        if req.pidfd {
            flags |= CLONE_PIDFD;
        }
        if req.cgroup.is_some() {
            flags |= CLONE_INTO_CGROUP;
        }
        let args = CloneArgs {
            flags,
            pidfd: if req.pidfd {
                &mut pidfd as *mut libc::c_int as u64
            } else {
                0
            },
            // The kernel resets the exit signal to SIGCHLD at exec anyway.
            exit_signal: libc::SIGCHLD as u64,
            stack: (top - STACK_SIZE + 4096) as u64,
            stack_size: (STACK_SIZE - 4096) as u64,
            cgroup: req.cgroup.map_or(0, |fd| fd as u64),
            ..Default::default()
        };
        // SAFETY: args is a valid clone_args; the child runs `entry` on its own
        // stack and never returns into this frame; the caller upholds `entry`'s contract.
        let ret = unsafe { raw_clone3(&args, entry, arg) };
        if ret >= 0 {
            // SAFETY: the kernel stored a fresh pidfd that we now own.
            let fd = req.pidfd.then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
            return Ok((ret as libc::pid_t, fd));
        }
        return Err(io::Error::from_raw_os_error((-ret) as i32));
    }
    // SAFETY: forwarded from our caller.
    unsafe { legacy_clone(req, top, entry, arg) }
}

/// glibc's `clone()`: no CLONE_CLEAR_SIGHAND, so the caller blocks signals and
/// the child resets handlers itself.
unsafe fn legacy_clone(
    req: &CloneRequest,
    top: usize,
    entry: ChildMain,
    arg: *mut c_void,
) -> io::Result<(libc::pid_t, Option<OwnedFd>)> {
    if req.cgroup.is_some() {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    let mut legacy_arg = LegacyArg { entry, arg };
    let mut pidfd: libc::c_int = -1;
    let mut flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    if req.pidfd {
        flags |= libc::CLONE_PIDFD;
    }
    // SAFETY: the stack top is 16-byte aligned inside our mapping; the child
    // runs `legacy_entry`, which never returns; `arg` outlives the call.
    let ret = unsafe {
        libc::clone(
            legacy_entry,
            top as *mut c_void,
            flags,
            &mut legacy_arg as *mut LegacyArg as *mut c_void,
            &mut pidfd as *mut libc::c_int,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: with CLONE_PIDFD the kernel stored a pidfd we now own.
    let fd = req.pidfd.then(|| unsafe { OwnedFd::from_raw_fd(pidfd) });
    Ok((ret, fd))
}

struct LegacyArg {
    entry: ChildMain,
    arg: *mut c_void,
}

extern "C" fn legacy_entry(arg: *mut c_void) -> libc::c_int {
    // SAFETY: `arg` is the LegacyArg on the suspended parent's stack, shared with
    // the child; its fields come from clone_vfork's caller, who upholds their contract.
    unsafe {
        let la = &*(arg as *const LegacyArg);
        (la.entry)(la.arg)
    }
}

/// `clone3` returning in the child on a new stack: the child calls `entry(arg)`,
/// which never returns. Returns the pid or `-errno` in the parent.
#[cfg(target_arch = "x86_64")]
unsafe fn raw_clone3(args: &CloneArgs, entry: ChildMain, arg: *mut c_void) -> isize {
    let ret: isize;
    // SAFETY: the caller guarantees `entry` never returns. In the child, rsp is the
    // new stack's top (16-byte aligned), r12/r13 survive the syscall, and the `call`
    // leaves the stack aligned as the ABI wants at function entry.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone3 as isize => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") entry,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
unsafe fn raw_clone3(args: &CloneArgs, entry: ChildMain, arg: *mut c_void) -> isize {
    let ret: isize;
    // SAFETY: as on x86_64: in the child sp is the new stack's top, x9/x10 survive
    // the syscall, and `entry` never returns.
    unsafe {
        std::arch::asm!(
            "svc 0",
            "cbnz x0, 2f",
            "mov x29, xzr",
            "mov x0, x10",
            "blr x9",
            "brk #0",
            "2:",
            inlateout("x0") args as *const CloneArgs as isize => ret,
            in("x1") std::mem::size_of::<CloneArgs>(),
            in("x8") libc::SYS_clone3,
            in("x9") entry,
            in("x10") arg,
            options(nostack),
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn raw_clone3(_: &CloneArgs, _: ChildMain, _: *mut c_void) -> isize {
    -(libc::ENOSYS as isize)
}
