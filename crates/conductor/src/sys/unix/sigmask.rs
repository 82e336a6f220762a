//! The signal mask a child starts with, prepared in the parent before the
//! clone or fork (the child only installs it).

/// The spawning thread's current mask (std's and tokio's behaviour), or an
/// empty one when `empty` is set (`CommandExt::empty_signal_mask`).
pub(crate) fn child_sigmask(empty: bool) -> libc::sigset_t {
    // SAFETY: sigset operations on a local set; pthread_sigmask with a null
    // new set only reads the calling thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        if !empty {
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
        }
        set
    }
}
