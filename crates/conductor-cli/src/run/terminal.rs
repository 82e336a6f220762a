//! Sharing conductor's terminal with the child: when conductor runs in the
//! terminal's foreground and the child leads a process group of its own
//! (`--containment group`, or `best` without a cgroup), that group becomes the
//! terminal's foreground for the run, so the child may read the terminal
//! (no SIGTTIN) and gets Ctrl-C straight from it; conductor takes the terminal
//! back before it exits.

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
}

impl Drop for Terminal {
    /// Takes the terminal back for conductor's group, if it was given away.
    fn drop(&mut self) {
        if self.given {
            let _ = conductor::unix::set_terminal_foreground(&self.tty, self.ours);
        }
    }
}

/// True if process `pid` is stopped (it read the terminal before it was
/// given it, say).
pub fn is_stopped(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('T'))
        })
        .unwrap_or(false)
}
