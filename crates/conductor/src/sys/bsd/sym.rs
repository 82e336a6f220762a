//! What this system's `posix_spawn` can do, found out once at run time.
//!
//! The `posix_spawn` extensions conductor wants are newer than the oldest
//! systems Rust supports (macOS 10.12, FreeBSD 12), and the libc crate does
//! not declare them for every target, so they are looked up with `dlsym`
//! instead of being linked: a binary built here still starts on an older
//! system, and simply takes the fork path (or documents the gap) there.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// `posix_spawn_file_actions_addchdir_np(actions, path)`.
pub(crate) type AddChdir =
    unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, *const c_char) -> c_int;

/// `posix_spawn_file_actions_addclosefrom_np(actions, lowfd)`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) type AddClosefrom =
    unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, c_int) -> c_int;

/// The optional `posix_spawn` features of this system.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    /// The spawn flag that makes the child a session leader, when supported.
    pub setsid_flag: Option<libc::c_short>,
    /// A chdir file action (macOS 10.15+, FreeBSD 13.1+, NetBSD 10+).
    pub addchdir: Option<AddChdir>,
    /// A closefrom file action (FreeBSD 13.1+; macOS needs none).
    #[cfg(not(target_vendor = "apple"))]
    pub addclosefrom: Option<AddClosefrom>,
}

pub(crate) fn caps() -> &'static Caps {
    static CAPS: OnceLock<Caps> = OnceLock::new();
    CAPS.get_or_init(|| Caps {
        setsid_flag: setsid_flag(),
        // SAFETY: both names, where present, have exactly the `AddChdir` signature
        // (the `_np` spelling and POSIX 2024's standard one).
        addchdir: unsafe {
            lookup::<AddChdir>(c"posix_spawn_file_actions_addchdir_np")
                .or_else(|| lookup::<AddChdir>(c"posix_spawn_file_actions_addchdir"))
        },
        // SAFETY: where present, the symbol has the `AddClosefrom` signature.
        #[cfg(not(target_vendor = "apple"))]
        addclosefrom: unsafe {
            lookup::<AddClosefrom>(c"posix_spawn_file_actions_addclosefrom_np")
        },
    })
}

/// Looks `name` up in the already loaded libraries.
///
/// # Safety
/// `F` is a function pointer type matching the symbol's C signature.
unsafe fn lookup<F: Copy>(name: &CStr) -> Option<F> {
    const { assert!(std::mem::size_of::<F>() == std::mem::size_of::<*mut c_void>()) };
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only searches.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: `F` is a function pointer of the same size as `p`, and the caller
    // guarantees the signature matches the symbol's.
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) })
}

/// macOS has `POSIX_SPAWN_SETSID` since 10.15 (Darwin 19). The libc crate
/// does not export it; the value is the SDK's (`<spawn.h>`: 0x0400). Older
/// kernels are not known to reject an unknown flag, so it is only used where
/// the kernel is new enough.
#[cfg(target_os = "macos")]
fn setsid_flag() -> Option<libc::c_short> {
    const POSIX_SPAWN_SETSID: libc::c_short = 0x0400;
    let uname = rustix::system::uname();
    let release = uname.release().to_bytes();
    let major: u32 = std::str::from_utf8(release)
        .ok()?
        .split('.')
        .next()?
        .parse()
        .ok()?;
    (major >= 19).then_some(POSIX_SPAWN_SETSID)
}

/// FreeBSD, NetBSD, OpenBSD and DragonFly have no `POSIX_SPAWN_SETSID` that
/// the libc crate exposes or that could be confirmed, so `setsid` takes the
/// fork path there.
#[cfg(not(target_os = "macos"))]
fn setsid_flag() -> Option<libc::c_short> {
    None
}
