//! Async exit notification: a wait on the process handle registered with
//! the system thread pool (`RegisterWaitForSingleObject`, run once), whose
//! callback wakes the task that polls. No thread is parked per child; the
//! pool's wait threads each watch many handles.

use super::handle::cvt;
use std::cell::Cell;
use std::ffi::c_void;
use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Threading::{
    RegisterWaitForSingleObject, UnregisterWaitEx, INFINITE, WT_EXECUTEINWAITTHREAD,
    WT_EXECUTEONLYONCE,
};

thread_local! {
    /// Set while this thread runs an exit callback (see `Drop for ExitWatch`).
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// What the callback and the polling task share.
#[derive(Debug, Default)]
struct Shared {
    fired: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

/// The thread-pool wait handle (usable from any thread).
#[derive(Debug)]
struct WaitHandle(HANDLE);
// SAFETY: a registered-wait handle is not tied to the thread that made it;
// UnregisterWaitEx may be called from any thread.
unsafe impl Send for WaitHandle {}
// SAFETY: as above; `&WaitHandle` allows nothing but reading the value.
unsafe impl Sync for WaitHandle {}

/// A registered wait for one process's exit.
#[derive(Debug)]
pub(crate) struct ExitWatch {
    wait: WaitHandle,
    shared: Arc<Shared>,
}

/// The callback: runs once, on a thread-pool wait thread, when the process
/// handle is signalled.
unsafe extern "system" fn on_exit(ctx: *mut c_void, _timed_out: bool) {
    IN_CALLBACK.with(|c| c.set(true));
    // SAFETY: `ctx` is the `Shared` of an `ExitWatch`, which keeps it alive
    // until the wait is unregistered and any callback has returned.
    let shared = unsafe { &*(ctx as *const Shared) };
    shared.fired.store(true, Ordering::SeqCst);
    let waker = shared
        .waker
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    if let Some(w) = waker {
        w.wake();
    }
    IN_CALLBACK.with(|c| c.set(false));
}

impl ExitWatch {
    /// Registers a one-shot wait on `process` (which must stay open as long
    /// as the watch exists).
    pub fn register(process: BorrowedHandle<'_>) -> io::Result<ExitWatch> {
        let shared = Arc::new(Shared::default());
        let mut wait: HANDLE = std::ptr::null_mut();
        // SAFETY: `shared` outlives the registration (see `Drop`); the
        // callback only reads it. The process handle is open.
        cvt(unsafe {
            RegisterWaitForSingleObject(
                &mut wait,
                process.as_raw_handle(),
                Some(on_exit),
                Arc::as_ptr(&shared).cast(),
                INFINITE,
                WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD,
            )
        })?;
        Ok(ExitWatch {
            wait: WaitHandle(wait),
            shared,
        })
    }

    /// Ready once the process handle was signalled; otherwise the task is
    /// woken when it is.
    pub fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *self.shared.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        // The callback may have run between the check and storing the waker.
        if self.shared.fired.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for ExitWatch {
    fn drop(&mut self) {
        if IN_CALLBACK.with(Cell::get) {
            // Dropped from inside a callback (a woken task dropped its child
            // on this very thread): waiting for callbacks to finish would
            // wait for ourselves. Unregister without waiting and keep the
            // shared state alive for a callback that may still run.
            // SAFETY: a registered wait handle, unregistered once.
            unsafe { UnregisterWaitEx(self.wait.0, std::ptr::null_mut()) };
            std::mem::forget(Arc::clone(&self.shared));
            return;
        }
        // SAFETY: a registered wait handle, unregistered once;
        // INVALID_HANDLE_VALUE waits until a running callback has returned,
        // so `shared` is not freed under it.
        unsafe { UnregisterWaitEx(self.wait.0, INVALID_HANDLE_VALUE) };
    }
}
