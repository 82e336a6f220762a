//! Which signals `conductor run` forwards to the child's tree, and which of
//! those the child already got from the terminal.

use conductor::unix::{ReceivedSignal, SignalOrigin};

/// Every signal a supervisor passes on (conductor dies of none of them).
pub const FORWARDED: [i32; 8] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCONT,
];

/// Signals a terminal sends to its whole foreground process group: Ctrl-C,
/// Ctrl-\ and a window resize.
const FROM_TERMINAL: [i32; 3] = [libc::SIGINT, libc::SIGQUIT, libc::SIGWINCH];

/// Whether to pass `sig` on to the child's tree. A signal the kernel sent
/// (the terminal's Ctrl-C, Ctrl-\ or resize) while the child is in conductor's
/// own process group has already reached the child, which must get it once.
pub fn should_forward(sig: &ReceivedSignal, child_in_our_group: bool) -> bool {
    !(child_in_our_group
        && sig.origin == SignalOrigin::Kernel
        && FROM_TERMINAL.contains(&sig.signal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(signal: i32, origin: SignalOrigin) -> ReceivedSignal {
        ReceivedSignal { signal, origin }
    }

    #[test]
    fn terminal_signals_to_a_shared_group_are_not_forwarded() {
        let kill = SignalOrigin::Process { pid: 1, uid: 0 };
        for sig in FROM_TERMINAL {
            assert!(!should_forward(&got(sig, SignalOrigin::Kernel), true));
            assert!(should_forward(&got(sig, SignalOrigin::Kernel), false));
            assert!(should_forward(&got(sig, kill), true));
        }
        // A hang-up goes to the session leader, not the group: pass it on.
        assert!(should_forward(
            &got(libc::SIGHUP, SignalOrigin::Kernel),
            true
        ));
        assert!(should_forward(&got(libc::SIGTERM, kill), true));
    }
}
