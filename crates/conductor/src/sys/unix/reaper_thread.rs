//! Starting the background reaper once per process: its state (each
//! backend's own, in `linux::reaper` and `bsd::reaper`) and the thread that
//! works on it.

use std::sync::OnceLock;

/// The reaper state in `cell`; on first use made by `init`, with the thread
/// `run` started. None, for the life of the process, when either failed.
/// `run` may look the state up through `cell`: it waits until the state is
/// published.
pub(crate) fn start<R>(
    cell: &'static OnceLock<Option<R>>,
    init: impl FnOnce() -> Option<R>,
    run: fn(),
) -> Option<&'static R> {
    cell.get_or_init(|| {
        let state = init()?;
        std::thread::Builder::new()
            .name("conductor-reaper".into())
            .spawn(run)
            .ok()?;
        Some(state)
    })
    .as_ref()
}
