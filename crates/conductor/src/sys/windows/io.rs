//! Blocking pipe I/O on Windows: reads that see a closed writer as end of
//! file, and the `communicate` that feeds stdin while draining stdout and
//! stderr. Windows has no `poll` for pipes, so each stream gets a thread;
//! the calling thread only coordinates (deadline, `io_grace`) and can give
//! up on the others: their pending reads are cancelled (`CancelSynchronousIo`)
//! and a thread that still does not finish is left to end on its own when
//! its pipe closes.

use crate::sys::Collected;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::windows::io::AsRawHandle;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{ERROR_BROKEN_PIPE, ERROR_OPERATION_ABORTED};
use windows_sys::Win32::System::IO::CancelSynchronousIo;

/// The parent's end of a blocking child's pipe.
pub(crate) type BlockingPipe = File;

/// Wraps the parent's end of a pipe for the blocking API.
pub(crate) fn blocking_pipe(h: std::os::windows::io::OwnedHandle) -> BlockingPipe {
    File::from(h)
}

/// The plain handle of a blocking pipe end (to hand it to another child).
pub(crate) fn blocking_pipe_into_owned(pipe: BlockingPipe) -> std::os::windows::io::OwnedHandle {
    pipe.into()
}

/// Reads from a pipe; a writer that closed its end is end of file (0).
pub(crate) fn pipe_read(pipe: &BlockingPipe, buf: &mut [u8]) -> io::Result<usize> {
    match (&*pipe).read(buf) {
        Err(e) if e.raw_os_error() == Some(ERROR_BROKEN_PIPE as i32) => Ok(0),
        r => r,
    }
}

/// Writes to a pipe; a reader that has gone gives `BrokenPipe`.
pub(crate) fn pipe_write(pipe: &BlockingPipe, buf: &[u8]) -> io::Result<usize> {
    (&*pipe).write(buf)
}

/// Limits for [`communicate`].
pub(crate) struct CollectOpts {
    /// Give up (timed out) at this instant.
    pub deadline: Option<Instant>,
    /// After the child exits, stop reading this long later.
    pub io_grace: Option<Duration>,
    /// Keep at most this many bytes per stream; drain and discard the rest.
    pub cap: Option<usize>,
}

/// The pipes [`communicate`] works on.
pub(crate) type Pipes<'a> = crate::sys::stream::CommunicatePipes<'a, BlockingPipe>;

/// What a reader thread collected so far.
#[derive(Default)]
struct Sink {
    buf: Vec<u8>,
    truncated: bool,
}

/// One worker thread: which stream, and its handle for cancelling its I/O.
struct Worker {
    stream: usize,
    thread: JoinHandle<()>,
    done: bool,
}

/// Reads `pipe` to end of file into `sink`, keeping at most `cap` bytes.
fn drain(pipe: File, sink: &Mutex<Sink>, cap: Option<usize>, stop: &AtomicBool) -> io::Result<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    while !stop.load(Ordering::SeqCst) {
        let n = match pipe_read(&pipe, &mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
        let keep = match cap {
            Some(cap) => n.min(cap.saturating_sub(s.buf.len())),
            None => n,
        };
        s.buf.extend_from_slice(&chunk[..keep]);
        s.truncated |= keep < n;
    }
    Ok(())
}

/// Writes all of `input`, then closes the pipe; a child that stopped
/// reading ends the write quietly.
fn feed(pipe: File, input: &[u8], stop: &AtomicBool) -> io::Result<()> {
    let mut done = 0;
    while done < input.len() && !stop.load(Ordering::SeqCst) {
        let end = input.len().min(done + (1 << 20));
        match pipe_write(&pipe, &input[done..end]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) if e.raw_os_error() == Some(ERROR_OPERATION_ABORTED as i32) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes `input` to `stdin` (then closes it) while reading `stdout` and
/// `stderr` to end of file, on one thread per stream so no pipe can fill up
/// and deadlock. `exited` reports whether the child has exited, for `io_grace`.
pub(crate) fn communicate(
    pipes: Pipes<'_>,
    out: &mut Vec<u8>,
    err: &mut Vec<u8>,
    opts: &CollectOpts,
    exited: &mut dyn FnMut() -> bool,
) -> io::Result<Collected> {
    let (tx, rx) = mpsc::channel::<(usize, io::Result<()>)>();
    let stop = Arc::new(AtomicBool::new(false));
    let sinks = [
        Arc::new(Mutex::new(Sink::default())),
        Arc::new(Mutex::new(Sink::default())),
    ];
    let mut workers: Vec<Worker> = Vec::new();
    let spawn = |name: &str, work: Box<dyn FnOnce() -> io::Result<()> + Send>, stream: usize| {
        let tx = tx.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = tx.send((stream, work()));
            })
            .map(|thread| Worker {
                stream,
                thread,
                done: false,
            })
    };
    if let (Some(stdin), false) = (pipes.stdin, pipes.input.is_empty()) {
        let input = pipes.input.to_vec();
        let stop = Arc::clone(&stop);
        workers.push(spawn(
            "conductor-stdin",
            Box::new(move || feed(stdin, &input, &stop)),
            2,
        )?);
    }
    for (i, pipe) in [pipes.stdout, pipes.stderr].into_iter().enumerate() {
        let Some(pipe) = pipe else { continue };
        // The thread owns a copy of the handle, so it can outlive this call.
        let pipe = pipe.try_clone()?;
        let (sink, stop, cap) = (Arc::clone(&sinks[i]), Arc::clone(&stop), opts.cap);
        workers.push(spawn(
            "conductor-drain",
            Box::new(move || drain(pipe, &sink, cap, &stop)),
            i,
        )?);
    }
    drop(tx);

    let mut res = Collected::default();
    let mut first_err = None;
    let mut watch_exit = opts.io_grace.is_some();
    let mut io_deadline: Option<Instant> = None;
    let mut open = workers.len();
    while open > 0 {
        let now = Instant::now();
        if opts.deadline.is_some_and(|d| now >= d) {
            res.timed_out = true;
            break;
        }
        if io_deadline.is_some_and(|d| now >= d) {
            for w in workers.iter().filter(|w| !w.done) {
                match w.stream {
                    0 => res.out_truncated = true,
                    1 => res.err_truncated = true,
                    _ => {}
                }
            }
            break;
        }
        if watch_exit && exited() {
            watch_exit = false;
            io_deadline = opts.io_grace.map(|g| Instant::now() + g);
            continue;
        }
        let mut wake = [opts.deadline, io_deadline].into_iter().flatten().min();
        if watch_exit {
            // Nothing wakes us when the child exits: look again shortly.
            let soon = now + Duration::from_millis(20);
            wake = Some(wake.map_or(soon, |w| w.min(soon)));
        }
        let msg = match wake {
            Some(w) => rx.recv_timeout(w.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok((stream, r)) => {
                open -= 1;
                if let Some(w) = workers.iter_mut().find(|w| w.stream == stream) {
                    w.done = true;
                }
                if let Err(e) = r {
                    first_err.get_or_insert(e);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if open > 0 {
        give_up(&workers, &rx, &stop, open);
    }
    for (i, dst) in [out, err].into_iter().enumerate() {
        let mut s = sinks[i].lock().unwrap_or_else(|e| e.into_inner());
        *dst = std::mem::take(&mut s.buf);
        if s.truncated {
            if i == 0 {
                res.out_truncated = true;
            } else {
                res.err_truncated = true;
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(res),
    }
}

/// Stops the workers still running: asks them to stop, cancels their
/// blocking I/O for a little while, then leaves the rest to finish alone
/// (they own their handles and end when the pipes close). Returns how many
/// were left running.
fn give_up(
    workers: &[Worker],
    rx: &mpsc::Receiver<(usize, io::Result<()>)>,
    stop: &AtomicBool,
    mut open: usize,
) -> usize {
    stop.store(true, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_millis(200);
    while open > 0 && Instant::now() < until {
        for w in workers
            .iter()
            .filter(|w| !w.done && !w.thread.is_finished())
        {
            // SAFETY: the thread handle is open (its JoinHandle is alive);
            // cancelling I/O that is not pending is harmless.
            unsafe { CancelSynchronousIo(w.thread.as_raw_handle()) };
        }
        if rx.recv_timeout(Duration::from_millis(10)).is_ok() {
            open -= 1;
        }
    }
    if open > 0 {
        tracing::debug!(open, "conductor: pipe threads left to end with their pipes");
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader blocked on a pipe whose writer never closes (a grandchild
    /// holding it) is cancelled when `communicate` gives up.
    #[test]
    fn give_up_cancels_a_blocked_read() {
        let p = super::super::pipe::pipe(true, false, 4096).expect("pipe");
        let reader = File::from(p.parent);
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let sink = Arc::new(Mutex::new(Sink::default()));
        let (s2, stop2) = (Arc::clone(&sink), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let _ = tx.send((0, drain(reader, &s2, None, &stop2)));
        });
        // Let it block in ReadFile.
        std::thread::sleep(Duration::from_millis(100));
        let workers = [Worker {
            stream: 0,
            thread,
            done: false,
        }];
        assert_eq!(
            give_up(&workers, &rx, &stop, 1),
            0,
            "the blocked read was not cancelled"
        );
        drop(p.child);
    }
}
