//! A thread that lives as long as the process, for the clones of children
//! that asked for a parent-death signal.
//!
//! The kernel ties `PR_SET_PDEATHSIG` to the *thread* that cloned the child,
//! not to the process: the signal fires when that thread exits. Threads come
//! and go (tokio's blocking pool retires idle threads, a runtime's workers end
//! with it), so a child cloned from one of them could be killed while its
//! parent process is alive and well. Cloning such children from this one
//! thread, which is never asked to exit, makes the signal mean what callers
//! want: "my parent process died". It still fires on any death of the
//! process, SIGKILL included, since every thread dies with it.
//!
//! The caller blocks until its job has run, so the job may borrow from the
//! caller's stack (as `std::thread::scope` allows), and the cost is one
//! hand-over to a parked thread and back per spawn.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Sender};
use std::sync::{Mutex, OnceLock};

/// A job for the spawner thread, its borrows erased (see [`run`]).
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The queue of the spawner thread; `None` if the thread could not be started.
static SPAWNER: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();

fn spawner() -> Option<&'static Mutex<Sender<Job>>> {
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            std::thread::Builder::new()
                .name("conductor-spawner".into())
                .spawn(move || {
                    // Ends only when the process does: the sender lives in a static.
                    for job in rx {
                        job();
                    }
                })
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
}

/// Runs `f` on the spawner thread and returns its result (a panic in `f` is
/// resumed here). Falls back to the calling thread if the spawner thread
/// cannot be started.
pub(crate) fn run<'a, F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send + 'a,
    R: Send + 'a,
{
    let (done_tx, done_rx) = sync_channel::<Result<R, Box<dyn Any + Send>>>(1);
    let job = move || {
        let result = catch_unwind(AssertUnwindSafe(f));
        // After this send the job touches nothing it borrowed.
        let _ = done_tx.send(result);
    };
    let job: Box<dyn FnOnce() + Send + 'a> = Box::new(job);
    // SAFETY: only the lifetime is changed. The job's borrows ('a) stay valid
    // until this function returns, and it returns only once `done_rx` yields:
    // after the job sent its result (it then touches none of its borrows), or
    // after `done_tx` was dropped, i.e. the job was run or dropped. A job that
    // cannot be queued comes back in the error and is run right here.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Job>(job) };
    let rejected = match spawner() {
        Some(queue) => {
            let queue = queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.send(job).err().map(|e| e.0)
        }
        None => Some(job),
    };
    if let Some(job) = rejected {
        job();
    }
    match done_rx.recv() {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => resume_unwind(panic),
        // Unreachable: the spawner thread catches panics and never exits.
        Err(_) => panic!("conductor's spawner thread dropped a spawn"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_one_long_lived_thread_and_borrows() {
        let name = String::from("borrowed");
        let a = run(|| (std::thread::current().id(), name.len()));
        let b = run(|| std::thread::current().id());
        assert_eq!(a.0, b);
        assert_ne!(a.0, std::thread::current().id());
        assert_eq!(a.1, 8);
        let caught = std::panic::catch_unwind(|| run(|| panic!("boom")));
        assert!(caught.is_err());
        assert_eq!(run(|| 7), 7, "the thread survives a panicking job");
    }
}
