//! The signals `conductor pool` stops on: SIGINT (Ctrl-C), SIGTERM and
//! SIGHUP, all handled alike. The first asks for a graceful stop (nothing
//! more is started; tasks already on a worker finish and are reported);
//! the second stops every worker tree at once. Exit status: 128 + the
//! signal's number.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Listeners for the stopping signals.
pub struct Signals {
    listeners: Vec<(i32, Signal)>,
}

impl Signals {
    /// Starts listening (from then on these signals no longer kill conductor).
    pub fn listen() -> std::io::Result<Signals> {
        let kinds = [
            (libc::SIGINT, SignalKind::interrupt()),
            (libc::SIGTERM, SignalKind::terminate()),
            (libc::SIGHUP, SignalKind::hangup()),
        ];
        let mut listeners = Vec::with_capacity(kinds.len());
        for (number, kind) in kinds {
            listeners.push((number, signal(kind)?));
        }
        Ok(Signals { listeners })
    }

    /// Waits for the next stopping signal and returns its number.
    pub async fn recv(&mut self) -> i32 {
        std::future::poll_fn(|cx| {
            for (number, listener) in &mut self.listeners {
                if listener.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*number);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}

/// The signal's name for messages: `SIGTERM`, or its number.
pub fn name(number: i32) -> String {
    match number {
        libc::SIGINT => "Ctrl-C (SIGINT)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}
