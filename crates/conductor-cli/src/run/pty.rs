//! `conductor run --pty`: the child runs on its own pseudo-terminal and the
//! caller's terminal is relayed to it: keystrokes in (the caller's terminal
//! in raw mode, so Ctrl-C and the like reach the child's terminal as
//! bytes), output out, window size followed (SIGWINCH). Raw mode is undone
//! whichever way `run` ends: the [`Relay`] holds it, and dropping the relay
//! restores it. When stdin is not a terminal its end is passed on as the
//! terminal's end-of-file character.

use conductor::pty::{terminal_size, Pty, PtySize, RawMode};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{signal, SignalKind};

/// How long output may keep coming after the child exits (descendants still
/// holding its terminal) before the relay stops reading it.
const DRAIN: Duration = Duration::from_secs(2);

/// The size the child's terminal starts with: the caller's, or 24x80.
pub fn initial_size() -> PtySize {
    terminal_size(std::io::stdin())
        .or_else(|| terminal_size(std::io::stdout()))
        .unwrap_or_default()
}

/// The relay between the caller's terminal and the child's; raw mode lasts
/// as long as it does.
pub struct Relay {
    task: tokio::task::JoinHandle<()>,
    raw: Option<RawMode>,
}

impl Relay {
    /// Starts relaying `pty`; puts the caller's terminal (if stdin is one)
    /// in raw mode.
    pub fn start(pty: Pty) -> Relay {
        let stdin_tty = terminal_size(std::io::stdin()).is_some();
        let raw = if stdin_tty {
            match RawMode::enable(std::io::stdin()) {
                Ok(r) => Some(r),
                Err(e) => {
                    eprintln!("conductor: cannot put the terminal in raw mode: {e}");
                    None
                }
            }
        } else {
            None
        };
        Relay {
            task: tokio::spawn(relay(pty, stdin_tty)),
            raw,
        }
    }

    /// Once the child has exited: lets the rest of its output through (up to
    /// [`DRAIN`] for descendants still holding the terminal), then restores
    /// the caller's terminal.
    pub async fn finish(mut self) {
        if tokio::time::timeout(DRAIN, &mut self.task).await.is_err() {
            self.task.abort();
        }
        drop(self.raw.take());
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(mut pty: Pty, stdin_tty: bool) {
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let mut winch = signal(SignalKind::window_change()).ok();
    let mut input = vec![0u8; 4096];
    let mut output = vec![0u8; 64 * 1024];
    let mut stdin_open = true;
    loop {
        let resized = async {
            match winch.as_mut() {
                Some(w) => w.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = pty.read(&mut output) => match r {
                Ok(n) if n > 0 => {
                    if stdout.write_all(&output[..n]).await.is_err() || stdout.flush().await.is_err() {
                        return;
                    }
                }
                // End of stream: nothing holds the child's terminal any more.
                _ => return,
            },
            r = stdin.read(&mut input), if stdin_open => match r {
                Ok(n) if n > 0 => {
                    let _ = pty.write_all(&input[..n]).await;
                }
                _ => {
                    stdin_open = false;
                    if !stdin_tty {
                        // The terminal's end-of-file (VEOF, Ctrl-D) at the start of a line.
                        let _ = pty.write_all(b"\x04").await;
                    }
                }
            },
            _ = resized => {
                if let Some(size) = terminal_size(std::io::stdin()).or_else(|| terminal_size(std::io::stdout())) {
                    let _ = pty.resize(size);
                }
            }
        }
    }
}
