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

/// What conductor listens for: the forwarded ones, and SIGCHLD (to follow
/// the child's stops when it holds the terminal).
pub const LISTENED: [i32; 9] = {
    let mut all = [libc::SIGCHLD; 9];
    let mut i = 0;
    while i < FORWARDED.len() {
        all[i] = FORWARDED[i];
        i += 1;
    }
    all
};

/// A job-control event for a child that holds the terminal.
#[derive(Debug, PartialEq, Eq)]
pub enum Job {
    /// The direct child was stopped by this signal.
    Stopped(i32),
    /// conductor itself was continued.
    Continued,
}

/// The job-control event `sig` means, if any, for direct child `child`.
pub fn job_control(sig: &ReceivedSignal, child: u32) -> Option<Job> {
    match sig.origin {
        SignalOrigin::Child { pid, code, status }
            if pid == child as i32 && code == libc::CLD_STOPPED =>
        {
            Some(Job::Stopped(status))
        }
        _ if sig.signal == libc::SIGCONT => Some(Job::Continued),
        _ => None,
    }
}

/// True if a child stopped by `sig` while its group holds the terminal must
/// have been stopped before it was given the terminal: it read from (SIGTTIN)
/// or wrote to (SIGTTOU) the terminal as a background process, and is to be
/// resumed rather than treated as a stopped job.
pub fn stopped_before_given(sig: i32) -> bool {
    sig == libc::SIGTTIN || sig == libc::SIGTTOU
}

/// Signals a terminal sends to its whole foreground process group: Ctrl-C,
/// Ctrl-\ and a window resize.
const FROM_TERMINAL: [i32; 3] = [libc::SIGINT, libc::SIGQUIT, libc::SIGWINCH];

/// Whether to pass `sig` on to the child's tree. A signal the kernel sent
/// (the terminal's Ctrl-C, Ctrl-\ or resize) while the child is in conductor's
/// own process group has already reached the child, which must get it once.
pub fn should_forward(sig: &ReceivedSignal, child_in_our_group: bool) -> bool {
    FORWARDED.contains(&sig.signal)
        && !(child_in_our_group
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
        assert!(!should_forward(&got(libc::SIGCHLD, kill), false));
    }

    #[test]
    fn the_child_stopping_and_conductor_continuing_are_job_control() {
        let stopped = SignalOrigin::Child {
            pid: 42,
            code: libc::CLD_STOPPED,
            status: libc::SIGTSTP,
        };
        let exited = SignalOrigin::Child {
            pid: 42,
            code: libc::CLD_EXITED,
            status: 0,
        };
        let kill = SignalOrigin::Process { pid: 1, uid: 0 };
        assert_eq!(
            job_control(&got(libc::SIGCHLD, stopped), 42),
            Some(Job::Stopped(libc::SIGTSTP))
        );
        assert_eq!(job_control(&got(libc::SIGCHLD, stopped), 43), None);
        assert_eq!(job_control(&got(libc::SIGCHLD, exited), 42), None);
        assert_eq!(
            job_control(&got(libc::SIGCONT, kill), 42),
            Some(Job::Continued)
        );
    }
}
