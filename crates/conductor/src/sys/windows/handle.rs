//! Handle plumbing for the Windows backend: checking Win32 results, taking
//! ownership of new handles, the inherit flag, the null device and the
//! parent's standard handles, and UTF-16 strings for the API.

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{
    AsRawHandle, BorrowedHandle, HandleOrInvalid, HandleOrNull, OwnedHandle,
};
use windows_sys::Win32::Foundation::{
    SetHandleInformation, GENERIC_READ, GENERIC_WRITE, HANDLE, HANDLE_FLAG_INHERIT,
    INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
};
use windows_sys::Win32::System::Console::{
    GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
};

/// A Win32 `BOOL` result: nonzero is success, zero means see `GetLastError`.
pub(crate) fn cvt(ok: windows_sys::core::BOOL) -> io::Result<()> {
    if ok != 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Takes ownership of a handle from a function that returns
/// `INVALID_HANDLE_VALUE` on failure (`CreateFileW`, `CreateNamedPipeW`).
///
/// # Safety
/// `h` was just returned by such a function and is owned by nobody else.
pub(crate) unsafe fn owned_or_invalid(h: HANDLE) -> io::Result<OwnedHandle> {
    // SAFETY: per the caller, `h` is a fresh handle or INVALID_HANDLE_VALUE.
    let h = unsafe { HandleOrInvalid::from_raw_handle(h) };
    OwnedHandle::try_from(h).map_err(|_| io::Error::last_os_error())
}

/// Takes ownership of a handle from a function that returns NULL on failure
/// (`CreateJobObjectW`, `CreateIoCompletionPort`, `OpenProcess`).
///
/// # Safety
/// `h` was just returned by such a function and is owned by nobody else.
pub(crate) unsafe fn owned_or_null(h: HANDLE) -> io::Result<OwnedHandle> {
    // SAFETY: per the caller, `h` is a fresh handle or NULL.
    let h = unsafe { HandleOrNull::from_raw_handle(h) };
    OwnedHandle::try_from(h).map_err(|_| io::Error::last_os_error())
}

/// Sets or clears the handle's inherit flag.
pub(crate) fn set_inheritable(h: BorrowedHandle<'_>, on: bool) -> io::Result<()> {
    let flags = if on { HANDLE_FLAG_INHERIT } else { 0 };
    // SAFETY: changes a flag of a live handle we borrow.
    cvt(unsafe { SetHandleInformation(h.as_raw_handle(), HANDLE_FLAG_INHERIT, flags) })
}

/// UTF-16 with a terminating NUL, for `PCWSTR` parameters.
pub(crate) fn wide_nul(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(Some(0)).collect()
}

/// Opens the null device (`NUL`) for reading and writing (not inheritable).
pub(crate) fn open_null() -> io::Result<OwnedHandle> {
    let name = wide_nul(OsStr::new("NUL"));
    // SAFETY: a NUL-terminated name; no security attributes, no template.
    unsafe {
        owned_or_invalid(CreateFileW(
            name.as_ptr(),
            GENERIC_READ | GENERIC_WRITE,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        ))
    }
}

/// A copy (not inheritable) of this process's standard handle 0, 1 or 2;
/// `None` when the process has none.
pub(crate) fn std_handle(index: usize) -> io::Result<Option<OwnedHandle>> {
    let which = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE][index];
    // SAFETY: no preconditions.
    let h = unsafe { GetStdHandle(which) };
    if h.is_null() || h == INVALID_HANDLE_VALUE {
        return Ok(None);
    }
    // SAFETY: the process's standard handle stays open at least for the
    // duration of this duplication.
    let borrowed = unsafe { BorrowedHandle::borrow_raw(h) };
    borrowed.try_clone_to_owned().map(Some)
}
