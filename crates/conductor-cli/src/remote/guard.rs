//! The remote guard: a small plain POSIX `sh` script (`guard.sh`, sent with
//! every remote command; nothing is installed on the remote host) that
//! makes a remote task's whole process tree stop when its ssh channel
//! closes.
//!
//! Without it, stopping the local `ssh` client (a task timeout, a cancel,
//! conductor exiting or being SIGKILLed) leaves the remote command running:
//! sshd sends no signal when a channel closes, it only closes the pipes. The
//! guard runs the command in its own process group and reads the channel's
//! stdin itself (passing it on through a FIFO when the command wants it);
//! EOF there means the local side is gone, and the group gets SIGTERM, then
//! SIGKILL after a grace period. Under a ControlMaster the channel's sshd
//! process outlives the channel, so watching the parent process would not
//! do; the channel's stdin is the one signal that always arrives.
//!
//! The local side must therefore keep the ssh client's stdin open for as
//! long as the task runs: a pipe (pool workers read their tasks from it;
//! for one-off commands it is simply never written).

use std::time::Duration;

use super::quote;

/// The guard script.
pub const SCRIPT: &str = include_str!("guard.sh");

/// What the remote command reads on its stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The channel's stdin, passed through (pool workers). After EOF the
    /// command has the grace period to exit on its own.
    PassThrough,
    /// `/dev/null` (one-off tasks); EOF on the channel stops the command at once.
    Null,
}

/// The remote command line (for the remote login shell) that runs `argv`
/// under the guard: `exec sh -c '<guard>' conductor-guard MODE GRACE 'arg'...`.
///
/// ```ignore
/// let line = command_line(&[b"echo".to_vec(), b"$(x)".to_vec()], Input::Null, Duration::from_secs(2));
/// assert!(line.ends_with(b" 'n' '2' 'echo' '$(x)'"));
/// ```
pub fn command_line(argv: &[Vec<u8>], input: Input, grace: Duration) -> Vec<u8> {
    let mode: &[u8] = match input {
        Input::PassThrough => b"i",
        Input::Null => b"n",
    };
    // `sleep` takes fractions on Linux and the BSDs; whole seconds keep it portable.
    let grace = grace.as_secs().max(1).to_string();
    let mut line = b"exec sh -c ".to_vec();
    let mut words: Vec<&[u8]> = vec![
        SCRIPT.as_bytes(),
        b"conductor-guard",
        mode,
        grace.as_bytes(),
    ];
    words.extend(argv.iter().map(Vec::as_slice));
    line.extend(quote::join(words));
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    fn sh(line: &[u8]) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(std::ffi::OsStr::from_bytes(line));
        c
    }

    fn argv(a: &[&str]) -> Vec<Vec<u8>> {
        a.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn passes_input_output_and_status() {
        let line = command_line(
            &argv(&["sh", "-c", "while read l; do echo \"got $l\"; done; exit 3"]),
            Input::PassThrough,
            Duration::from_secs(5),
        );
        let mut child = sh(&line)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"a\n$(x)\n").unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.stdout, b"got a\ngot $(x)\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn channel_eof_stops_the_group() {
        // The command and a grandchild ignore nothing; the channel closes at once.
        let dir = std::env::temp_dir().join(format!("conductor-guard-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mark = dir.join("pid");
        let script = format!("sleep 300 & echo $! > {}; wait", mark.display());
        let line = command_line(
            &argv(&["sh", "-c", &script]),
            Input::Null,
            Duration::from_secs(1),
        );
        let started = Instant::now();
        let mut child = sh(&line).stdin(Stdio::piped()).spawn().unwrap();
        // Wait (bounded) for the grandchild to exist, then close the "channel".
        while !mark.exists() || std::fs::read_to_string(&mark).unwrap().trim().is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "grandchild never started"
            );
            std::thread::yield_now();
        }
        let pid: i32 = std::fs::read_to_string(&mark)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        drop(child.stdin.take());
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(started.elapsed() < Duration::from_secs(60));
        // Gone, or a zombie nobody reaped yet.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let alive = stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'));
        assert!(!alive, "grandchild {pid} survived the channel closing");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
