//! Children on pseudo-terminals (`Command::pty`): the terminal is the
//! child's controlling terminal, programs that check for one behave as on a
//! terminal, resizes reach the child, output written just before exit is
//! not lost, and prompts that read the terminal can be driven.
#![cfg(unix)]

mod common;

use conductor::pty::{Pty, PtySize};
use conductor::{blocking, Command};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

/// Bound for anything that should take milliseconds (catches hangs only).
const HANG: Duration = Duration::from_secs(30);

fn have_python() -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg("")
        .status()
        .is_ok_and(|s| s.success())
}

/// Spawns `program ARGS` (async) on a new terminal of `size`; the child and
/// the terminal.
fn on_terminal(program: &str, args: &[&str], size: PtySize) -> (conductor::Child, Pty) {
    let mut child = Command::new(program).args(args).pty(size).spawn().unwrap();
    let pty = child.take_pty().unwrap();
    (child, pty)
}

/// Waits for `child` to exit; the test fails after [`HANG`].
async fn wait_bounded(child: &mut conductor::Child) -> conductor::ExitStatus {
    timeout(HANG, child.wait()).await.unwrap().unwrap()
}

/// Reads from the pty until `needle` has been seen; returns everything read.
async fn read_until(pty: &mut Pty, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    timeout(HANG, async {
        while !String::from_utf8_lossy(&seen).contains(needle) {
            let n = pty.read(&mut buf).await.expect("read the pty");
            assert!(
                n > 0,
                "end of stream before {needle:?}; got {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no {needle:?} within {HANG:?}; got {:?}",
            String::from_utf8_lossy(&seen)
        )
    });
    String::from_utf8_lossy(&seen).into_owned()
}

async fn read_to_end(pty: &mut Pty) -> String {
    let mut all = Vec::new();
    timeout(HANG, pty.read_to_end(&mut all))
        .await
        .expect("the pty reaches end of stream")
        .expect("read the pty");
    String::from_utf8_lossy(&all).into_owned()
}

#[test]
fn tty_names_a_pseudo_terminal() {
    let out = blocking::Command::new("tty")
        .pty(PtySize::default())
        .timeout(HANG)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let name = String::from_utf8(out.stdout).unwrap();
    #[cfg(target_os = "linux")]
    assert!(name.starts_with("/dev/pts/"), "{name:?}");
    assert!(name.starts_with("/dev/"), "{name:?}");
    assert!(name.ends_with("\r\n"), "{name:?}");
}

#[test]
fn every_stream_is_a_terminal_and_the_controlling_one() {
    // `test -t` for the three streams; opening /dev/tty works only with a
    // controlling terminal.
    let out = blocking::Command::new("sh")
        .args([
            "-c",
            "test -t 0 && test -t 1 && test -t 2 && echo all-tty; : </dev/tty && echo ctty",
        ])
        .pty(PtySize::default())
        .timeout(HANG)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "all-tty\r\nctty\r\n",
        "{out:?}"
    );
    // Without a pty, the same child has none of it.
    let out = blocking::Command::new("sh")
        .args(["-c", "test -t 1 || echo no-tty"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"no-tty\n");
}

#[test]
fn isatty_is_true_in_python_and_the_size_is_the_initial_one() {
    if !have_python() {
        return common::skipped("no python3");
    }
    let out = blocking::Command::new("python3")
        .args([
            "-c",
            "import os,sys; print(sys.stdin.isatty(), sys.stdout.isatty(), os.get_terminal_size())",
        ])
        .pty(PtySize::new(31, 97))
        .timeout(HANG)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "True True os.terminal_size(columns=97, lines=31)\r\n"
    );
}

#[test]
fn colours_appear_from_a_program_that_checks() {
    let dir = std::env::temp_dir().join(format!("conductor-pty-colour-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("subdir")).unwrap();
    let ls = |pty: bool| {
        let mut cmd = blocking::Command::new("ls");
        cmd.args(["--color=auto", "-1"])
            .current_dir(&dir)
            .env("TERM", "xterm")
            .env_remove("LS_COLORS")
            .timeout(HANG);
        if pty {
            cmd.pty(PtySize::default());
        }
        cmd.output().unwrap()
    };
    let (plain, coloured) = (ls(false), ls(true));
    let _ = std::fs::remove_dir_all(&dir);
    if !plain.status.success() || !coloured.status.success() {
        return common::skipped("this ls has no --color (not GNU ls)");
    }
    assert_eq!(plain.stdout, b"subdir\n");
    let text = String::from_utf8_lossy(&coloured.stdout);
    assert!(text.contains("\x1b["), "no escape sequence in {text:?}");
    assert!(text.contains("subdir"), "{text:?}");
}

#[tokio::test]
async fn a_resize_reaches_the_child() {
    if !have_python() {
        return common::skipped("no python3");
    }
    // SIGWINCH is blocked before "ready", so one sent before sigwait stays pending.
    let script = "import os,signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGWINCH}); \
                  print('ready', flush=True); signal.sigwait({signal.SIGWINCH}); \
                  os.execvp('stty', ['stty', 'size'])";
    let (mut child, mut pty) = on_terminal("python3", &["-c", script], PtySize::new(24, 80));
    read_until(&mut pty, "ready").await;
    pty.resize(PtySize::new(40, 100)).unwrap();
    assert_eq!(pty.size().unwrap(), PtySize::new(40, 100));
    let rest = read_to_end(&mut pty).await;
    assert_eq!(rest.trim(), "40 100");
    let status = wait_bounded(&mut child).await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn output_written_just_before_exit_is_read_after_the_child_is_reaped() {
    let (mut child, mut pty) = on_terminal(
        "sh",
        &[
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done; printf END",
        ],
        PtySize::default(),
    );
    // The child has exited and been reaped before the first read.
    let status = wait_bounded(&mut child).await;
    assert!(status.success());
    let all = read_to_end(&mut pty).await;
    assert!(all.starts_with("line-0\r\n"), "{all:?}");
    assert!(all.contains("line-199\r\n"), "{all:?}");
    assert!(all.ends_with("END"), "{all:?}");
    assert_eq!(all.matches("\r\n").count(), 200);
    // End of stream stays end of stream.
    let mut buf = [0u8; 16];
    assert_eq!(pty.read(&mut buf).await.unwrap(), 0);
}

#[test]
fn blocking_pty_reads_to_end_after_exit() {
    use std::io::Read;
    let mut child = blocking::Command::new("sh")
        .args(["-c", "echo first; echo last"])
        .pty(PtySize::default())
        .spawn()
        .unwrap();
    let mut pty = child.take_pty().unwrap();
    assert!(child.wait().unwrap().success());
    let mut all = String::new();
    pty.read_to_string(&mut all).unwrap();
    assert_eq!(all, "first\r\nlast\r\n");
}

#[tokio::test]
async fn a_password_prompt_is_driven_through_the_terminal() {
    if !have_python() {
        return common::skipped("no python3");
    }
    // getpass reads /dev/tty with echo off: only a controlling terminal works.
    let (mut child, mut pty) = on_terminal(
        "python3",
        &[
            "-c",
            "import getpass; p = getpass.getpass('Password: '); print('got', p[::-1])",
        ],
        PtySize::default(),
    );
    read_until(&mut pty, "Password: ").await;
    pty.write_all(b"s3cret\n").await.unwrap();
    let rest = read_to_end(&mut pty).await;
    assert!(rest.contains("got terc3s"), "{rest:?}");
    assert!(
        !rest.contains("s3cret"),
        "the password was echoed: {rest:?}"
    );
    assert!(wait_bounded(&mut child).await.success());
}

#[tokio::test]
async fn line_discipline_turns_typed_lines_into_input() {
    let (mut child, mut pty) = on_terminal(
        "sh",
        &["-c", "read -r a; read -r b; echo \"[$b|$a]\""],
        PtySize::default(),
    );
    pty.write_all(b"one\ntwo\n").await.unwrap();
    let all = read_to_end(&mut pty).await;
    assert!(all.ends_with("[two|one]\r\n"), "{all:?}");
    assert!(wait_bounded(&mut child).await.success());
}

#[test]
fn a_timeout_stops_the_whole_tree_on_the_terminal() {
    let started = std::time::Instant::now();
    let err = blocking::Command::new("sh")
        .args(["-c", "sleep 300 & sleep 300; wait"])
        .pty(PtySize::default())
        .timeout(Duration::from_millis(300))
        .grace(Duration::from_millis(100))
        .output()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    // The background sleep held the terminal: had it survived, reading to
    // end of stream would have waited for it.
    assert!(started.elapsed() < HANG, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn terminate_stops_a_child_on_a_terminal() {
    let (mut child, mut pty) = on_terminal(
        "sh",
        &["-c", "sleep 300 & echo started; wait"],
        PtySize::default(),
    );
    read_until(&mut pty, "started").await;
    let status = timeout(HANG, child.terminate(Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
    // Every holder of the terminal is gone: end of stream.
    read_to_end(&mut pty).await;
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn no_descriptor_of_the_terminal_leaks_into_other_children() {
    let mut on_pty = Command::new("sh")
        .args(["-c", "echo up; read -r x"])
        .pty(PtySize::default())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut pty = on_pty.take_pty().unwrap();
    read_until(&mut pty, "up").await;
    // Another child spawned while the terminal is open sees none of it.
    let out = Command::new("ls")
        .args(["-l", "/proc/self/fd/"])
        .output()
        .await
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(!listing.contains("ptmx"), "{listing}");
    assert!(!listing.contains("/dev/pts"), "{listing}");
    // And the parent holds only the master: its copies of the child's side
    // are closed (otherwise end of stream would never come).
    pty.write_all(b"\n").await.unwrap();
    read_to_end(&mut pty).await;
    assert!(wait_bounded(&mut on_pty).await.success());
}

#[test]
fn explicit_streams_stay_as_set() {
    // stdout to a pipe, stdin and stderr on the terminal.
    let out = blocking::Command::new("sh")
        .args(["-c", "test -t 0 && test -t 2 && test ! -t 1 && echo mixed"])
        .pty(PtySize::default())
        .stdout(conductor::Stdio::piped())
        .timeout(HANG)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"mixed\n");
}

#[test]
fn every_stream_set_explicitly_is_refused() {
    use conductor::Stdio;
    let err = blocking::Command::new("true")
        .pty(PtySize::default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn status_drains_the_terminal_so_a_chatty_child_finishes() {
    // 1 MiB to the terminal: far more than it buffers.
    let status = blocking::Command::new("sh")
        .args(["-c", "head -c 1048576 /dev/zero | tr '\\0' x; exit 4"])
        .pty(PtySize::default())
        .timeout(HANG)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(4));
}

#[test]
fn every_containment_works_on_a_terminal() {
    use conductor::Containment;
    for c in [
        Containment::None,
        Containment::ProcessGroup,
        Containment::Session,
        Containment::BestAvailable,
    ] {
        let out = blocking::Command::new("sh")
            .args(["-c", "test -t 1 && : </dev/tty && echo ok"])
            .pty(PtySize::default())
            .containment(c)
            .timeout(HANG)
            .output()
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert_eq!(out.stdout, b"ok\r\n", "{c:?}");
    }
    // Joining another process group is impossible for a session leader.
    use conductor::unix::CommandExt;
    let err = blocking::Command::new("true")
        .pty(PtySize::default())
        .process_group(1)
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
}
