//! The process-thread attribute list of a spawn: `PROC_THREAD_ATTRIBUTE_HANDLE_LIST`,
//! the exact set of handles the child inherits (its stdio plus those asked
//! for), so that no other inheritable handle of this process leaks into it.

use super::handle::cvt;
use std::io;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::Threading::{
    DeleteProcThreadAttributeList, InitializeProcThreadAttributeList, UpdateProcThreadAttribute,
    LPPROC_THREAD_ATTRIBUTE_LIST, PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
};

/// An initialised attribute list holding one handle list; deleted on drop.
pub(crate) struct HandleList {
    /// The list's storage (`usize` elements for pointer alignment); never moves.
    buf: Box<[usize]>,
    /// The handles the list points to; they must outlive the list.
    handles: Box<[HANDLE]>,
    /// Set once `InitializeProcThreadAttributeList` succeeded.
    init: bool,
}

impl HandleList {
    /// A list naming `handles`, which must be inheritable, distinct, and open
    /// until `CreateProcessW` returns.
    pub fn new(handles: Vec<HANDLE>) -> io::Result<HandleList> {
        let mut size = 0usize;
        // SAFETY: a size query: NULL list, one attribute. It fails with
        // ERROR_INSUFFICIENT_BUFFER and sets `size`.
        unsafe { InitializeProcThreadAttributeList(std::ptr::null_mut(), 1, 0, &mut size) };
        if size == 0 {
            return Err(io::Error::last_os_error());
        }
        let words = size.div_ceil(std::mem::size_of::<usize>());
        let mut list = HandleList {
            buf: vec![0usize; words].into_boxed_slice(),
            handles: handles.into_boxed_slice(),
            init: false,
        };
        // SAFETY: `buf` has at least `size` writable, aligned bytes.
        cvt(unsafe { InitializeProcThreadAttributeList(list.ptr(), 1, 0, &mut size) })?;
        list.init = true;
        let bytes = std::mem::size_of_val(&*list.handles);
        // SAFETY: the list is initialised; the handle array lives in `list`
        // (boxed, so it does not move) as long as the list does.
        let res = cvt(unsafe {
            UpdateProcThreadAttribute(
                list.ptr(),
                0,
                PROC_THREAD_ATTRIBUTE_HANDLE_LIST as usize,
                list.handles.as_ptr().cast(),
                bytes,
                std::ptr::null_mut(),
                std::ptr::null(),
            )
        });
        res.map(|()| list)
    }

    pub fn ptr(&mut self) -> LPPROC_THREAD_ATTRIBUTE_LIST {
        self.buf.as_mut_ptr().cast()
    }
}

impl Drop for HandleList {
    fn drop(&mut self) {
        if self.init {
            // SAFETY: initialised in `new`, deleted once.
            unsafe { DeleteProcThreadAttributeList(self.ptr()) };
        }
    }
}
