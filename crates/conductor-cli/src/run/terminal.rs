//! Sharing conductor's terminal with the child: when conductor runs in the
//! terminal's foreground and the child leads a process group of its own
//! (`--containment group`, or `best` without a cgroup), that group becomes the
//! terminal's foreground for the run, so the child may read the terminal
//! (no SIGTTIN) and gets Ctrl-C straight from it; conductor takes the terminal
//! back before it exits.
//!
//! Job control still works then: when Ctrl-Z (or a read from the background)
//! stops the child, conductor takes the terminal back and stops itself, so
//! the shell sees the job stopped; when continued in the foreground (`fg`),
//! it gives the terminal back to the child's group before passing SIGCONT on.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;

/// conductor's controlling terminal, while conductor's group is its foreground.
pub struct Terminal {
    tty: File,
    ours: i32,
    given: bool,
}

impl Terminal {
    /// The controlling terminal, if conductor's process group is in its foreground.
    pub fn if_foreground() -> Option<Terminal> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/tty")
            .ok()?;
        let ours = rustix::process::getpgrp();
        let fg = rustix::termios::tcgetpgrp(&tty).ok()?;
        (fg == ours).then(|| Terminal {
            tty,
            ours: ours.as_raw_nonzero().get(),
            given: false,
        })
    }

    /// Makes process group `pgid` the terminal's foreground.
    pub fn give(&mut self, pgid: i32) -> std::io::Result<()> {
        conductor::unix::set_terminal_foreground(&self.tty, pgid)?;
        self.given = true;
        Ok(())
    }

    /// The child's group (`pgid`) was stopped: takes the
    /// terminal back if that group holds it, then stops conductor (with
    /// SIGSTOP, which the kernel never discards) so that the shell sees the
    /// job stopped. Returns once conductor is continued.
    pub fn child_stopped(&mut self, pgid: i32) {
        if self.foreground() == Some(pgid)
            && conductor::unix::set_terminal_foreground(&self.tty, self.ours).is_ok()
        {
            self.given = false;
        }
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    }

    /// conductor was continued: if it holds the terminal's foreground (it was
    /// continued with `fg`), gives it back to the child's group.
    pub fn continued(&mut self, pgid: i32) {
        if !self.given && self.foreground() == Some(self.ours) {
            let _ = self.give(pgid);
        }
    }

    /// True if process group `pgid` is the terminal's foreground.
    pub fn held_by(&self, pgid: i32) -> bool {
        self.foreground() == Some(pgid)
    }

    fn foreground(&self) -> Option<i32> {
        rustix::termios::tcgetpgrp(&self.tty)
            .ok()
            .map(|p| p.as_raw_nonzero().get())
    }
}

impl Drop for Terminal {
    /// Takes the terminal back for conductor's group, if it was given away.
    fn drop(&mut self) {
        if self.given {
            let _ = conductor::unix::set_terminal_foreground(&self.tty, self.ours);
        }
    }
}
