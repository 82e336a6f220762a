//! Cross-language check of the frame protocol: drives the stdlib-only Python
//! worker (examples/python/conductor_worker.py) with frames encoded by
//! `conductor::protocol` and decodes its replies.
//!
//! Uses `std::process::Command` directly, not conductor's spawn API. Every
//! wait is bounded: reads and writes happen on helper threads and the test
//! waits on channels with a timeout, and the child is killed on drop, so a
//! protocol bug fails the test quickly instead of hanging it.
//!
//! Skipped (with a message) when `python3` is not installed.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};

#[path = "common/skip.rs"]
mod skip;
use std::thread;
use std::time::{Duration, Instant};

use conductor::protocol::{encode, Decoder, LineDecoder, Message};

const TIMEOUT: Duration = Duration::from_secs(10);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/python/conductor_worker.py")
}

fn python_available() -> bool {
    match Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
    {
        Ok(status) => status.success(),
        Err(err) if err.kind() == ErrorKind::NotFound => {
            skip::skipped("python3 not found");
            false
        }
        Err(err) => panic!("cannot run python3: {err}"),
    }
}

/// What the stdout reader thread reports.
enum Output {
    Frame(Message),
    Line(Vec<u8>),
    Garbage(String),
}

/// A Python worker process with bounded-time I/O. Killed when dropped.
struct Worker {
    child: Child,
    to_stdin: Option<Sender<Vec<u8>>>,
    from_stdout: Receiver<Output>,
}

impl Worker {
    fn start(args: &[&str]) -> Worker {
        let line_mode = args.contains(&"--lines");
        let mut child = Command::new("python3")
            .arg(script())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python3");
        let mut stdin = child.stdin.take().expect("stdin piped");
        let mut stdout = child.stdout.take().expect("stdout piped");

        // Writer thread: a worker that stops reading blocks this thread, not
        // the test. Dropping the sender closes the child's stdin.
        let (to_stdin, writes) = mpsc::channel::<Vec<u8>>();
        thread::spawn(move || {
            for bytes in writes {
                if stdin
                    .write_all(&bytes)
                    .and_then(|()| stdin.flush())
                    .is_err()
                {
                    break; // the worker exited; the test sees it on stdout
                }
            }
        });

        // Reader thread: decodes stdout and forwards what it finds. The
        // channel disconnects at EOF.
        let (tx, from_stdout) = mpsc::channel();
        thread::spawn(move || {
            let mut frames = Decoder::default();
            let mut lines = LineDecoder::default();
            let mut chunk = vec![0; 64 * 1024];
            loop {
                let n = match stdout.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let sent = if line_mode {
                    lines.feed(&chunk[..n]);
                    forward(&tx, || {
                        lines
                            .next_line()
                            .map(|line| line.map(|l| Output::Line(l.to_vec())))
                    })
                } else {
                    frames.feed(&chunk[..n]);
                    forward(&tx, || frames.next_message().map(|m| m.map(Output::Frame)))
                };
                if !sent {
                    return;
                }
            }
            if let Err(err) = frames.finish() {
                let _ = tx.send(Output::Garbage(err.to_string()));
            }
        });

        Worker {
            child,
            to_stdin: Some(to_stdin),
            from_stdout,
        }
    }

    fn send_bytes(&self, bytes: Vec<u8>) {
        let sender = self.to_stdin.as_ref().expect("stdin still open");
        sender.send(bytes).expect("writer thread alive");
    }

    fn send(&self, msgs: &[Message]) {
        let mut bytes = Vec::new();
        for msg in msgs {
            encode(msg, &mut bytes).expect("encode");
        }
        self.send_bytes(bytes);
    }

    fn close_stdin(&mut self) {
        self.to_stdin = None;
    }

    fn recv(&self) -> Output {
        match self.from_stdout.recv_timeout(TIMEOUT) {
            Ok(Output::Garbage(err)) => panic!("worker sent an invalid stream: {err}"),
            Ok(output) => output,
            Err(RecvTimeoutError::Timeout) => panic!("no reply from worker within {TIMEOUT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("worker closed stdout early"),
        }
    }

    fn recv_message(&self) -> Message {
        match self.recv() {
            Output::Frame(msg) => msg,
            _ => panic!("expected a frame"),
        }
    }

    /// Pings with `nonce` and asserts the next message is its pong, with
    /// `status`.
    fn assert_pong(&self, nonce: u64, status: &[u8]) {
        self.send(&[Message::Ping { nonce }]);
        assert_eq!(
            self.recv_message(),
            Message::Pong {
                nonce,
                status: status.to_vec()
            }
        );
    }

    /// Asserts that the next message is the result `body` of task `id`.
    fn assert_result(&self, id: u64, body: &[u8]) {
        assert_eq!(
            self.recv_message(),
            Message::Result {
                id,
                body: body.to_vec()
            }
        );
    }

    fn recv_line(&self) -> Vec<u8> {
        match self.recv() {
            Output::Line(line) => line,
            _ => panic!("expected a line"),
        }
    }

    /// Asserts that stdout reaches EOF with nothing more on it.
    fn expect_stdout_closed(&self) {
        match self.from_stdout.recv_timeout(TIMEOUT) {
            Err(RecvTimeoutError::Disconnected) => {}
            Err(RecvTimeoutError::Timeout) => panic!("worker kept stdout open"),
            Ok(Output::Frame(msg)) => panic!("unexpected message {msg:?}"),
            Ok(Output::Line(line)) => panic!("unexpected line {line:?}"),
            Ok(Output::Garbage(err)) => panic!("worker sent an invalid stream: {err}"),
        }
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "worker did not exit within {TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.to_stdin = None;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Drains a decoder into the channel; false if the stream is bad or the
/// test is gone.
fn forward(
    tx: &Sender<Output>,
    mut next: impl FnMut() -> Result<Option<Output>, conductor::protocol::ProtocolError>,
) -> bool {
    loop {
        match next() {
            Ok(Some(output)) => {
                if tx.send(output).is_err() {
                    return false;
                }
            }
            Ok(None) => return true,
            Err(err) => {
                let _ = tx.send(Output::Garbage(err.to_string()));
                return false;
            }
        }
    }
}

fn task(id: u64, body: &[u8]) -> Message {
    Message::Task {
        id,
        body: body.to_vec(),
    }
}

#[test]
fn ping_is_answered_with_the_same_nonce_and_status() {
    if !python_available() {
        return;
    }
    let worker = Worker::start(&[]);
    worker.assert_pong(0xDEAD_BEEF_0000_0001, b"tasks=0");
}

#[test]
fn pipelined_tasks_are_matched_by_id_in_any_order() {
    if !python_available() {
        return;
    }
    // --reverse makes the worker answer each batch back to front.
    let worker = Worker::start(&["--reverse"]);
    let mut expected = HashMap::new();
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let id = 1_000_000 + i * 7;
        if i % 10 == 3 {
            tasks.push(task(id, format!("fail {i}").as_bytes()));
            expected.insert(id, None);
        } else {
            tasks.push(task(id, format!("task number {i}").as_bytes()));
            expected.insert(id, Some(format!("TASK NUMBER {i}").into_bytes()));
        }
    }
    worker.send(&tasks);

    let mut order = Vec::new();
    while !expected.is_empty() {
        match worker.recv_message() {
            Message::Result { id, body } => {
                let want = expected
                    .remove(&id)
                    .unwrap_or_else(|| panic!("unknown id {id}"));
                assert_eq!(want.as_deref(), Some(&body[..]), "result for task {id}");
                order.push(id);
            }
            Message::TaskError { id, message } => {
                let want = expected
                    .remove(&id)
                    .unwrap_or_else(|| panic!("unknown id {id}"));
                assert_eq!(want, None, "task {id} should have succeeded: {message}");
                assert!(message.contains("task asked to fail"), "{message}");
                order.push(id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(order.len(), 200);

    worker.assert_pong(5, b"tasks=200");
}

#[test]
fn large_task_arriving_in_pieces() {
    if !python_available() {
        return;
    }
    let worker = Worker::start(&[]);
    let body: Vec<u8> = (0..3 << 20).map(|i| b"abcdefghij"[i % 10]).collect();
    let mut frame = Vec::new();
    encode(&task(42, &body), &mut frame).unwrap();
    // Split inside the header and at odd places in the payload.
    for piece in [&frame[..3], &frame[3..100_001], &frame[100_001..]] {
        worker.send_bytes(piece.to_vec());
        thread::sleep(Duration::from_millis(20));
    }
    worker.assert_result(42, &body.to_ascii_uppercase());
}

#[test]
fn shutdown_is_acknowledged_and_the_worker_exits() {
    if !python_available() {
        return;
    }
    let mut worker = Worker::start(&[]);
    worker.send(&[task(1, b"last"), Message::Shutdown, task(2, b"ignored")]);
    worker.assert_result(1, b"LAST");
    assert_eq!(worker.recv_message(), Message::ShutdownAck);
    worker.expect_stdout_closed();
    assert_eq!(worker.wait_exit().code(), Some(0));
}

#[test]
fn eof_on_stdin_is_a_clean_exit() {
    if !python_available() {
        return;
    }
    let mut worker = Worker::start(&[]);
    worker.send(&[task(3, b"x")]);
    worker.assert_result(3, b"X");
    worker.close_stdin();
    worker.expect_stdout_closed();
    assert_eq!(worker.wait_exit().code(), Some(0));
}

#[test]
fn protocol_violations_stop_the_worker() {
    if !python_available() {
        return;
    }
    // Non-zero reserved byte, unknown type, and a frame type only workers send.
    let bad_frames: [&[u8]; 3] = [
        &[0, 0, 0, 0, 6, 0, 1, 0],
        &[0, 0, 0, 0, 9, 0, 0, 0],
        &[0, 0, 0, 0, 7, 0, 0, 0],
    ];
    for bad in bad_frames {
        let mut worker = Worker::start(&[]);
        worker.send_bytes(bad.to_vec());
        worker.expect_stdout_closed();
        assert_eq!(worker.wait_exit().code(), Some(2), "for frame {bad:?}");
    }
}

#[test]
fn line_mode_answers_line_by_line() {
    if !python_available() {
        return;
    }
    let mut worker = Worker::start(&["--lines"]);
    worker.send_bytes(b"hello\nwor".to_vec());
    assert_eq!(worker.recv_line(), b"HELLO");
    worker.send_bytes(b"ld\n\n".to_vec());
    assert_eq!(worker.recv_line(), b"WORLD");
    assert_eq!(worker.recv_line(), b"");
    worker.close_stdin();
    worker.expect_stdout_closed();
    assert_eq!(worker.wait_exit().code(), Some(0));
}
