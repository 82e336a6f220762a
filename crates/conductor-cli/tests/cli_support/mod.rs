//! Helpers shared by the CLI integration tests (each test file is its own
//! crate and includes this with `mod cli_support;`): the built binary,
//! running it with input, scratch directories, bounded waits, process checks
//! and a pseudo-terminal.
#![allow(dead_code)] // every test binary uses only some of these

use conductor::blocking::Command;
use conductor::Stdio;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The built `conductor` binary.
pub fn conductor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_conductor"))
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One line `PREFIX{i}` for each `i` (task input).
pub fn numbered_lines<I: std::fmt::Display>(
    prefix: &str,
    ids: impl IntoIterator<Item = I>,
) -> String {
    ids.into_iter().map(|i| format!("{prefix}{i}\n")).collect()
}

/// Asserts that `out` is a success, showing its stderr otherwise.
#[track_caller]
pub fn assert_succeeded(out: &conductor::Output) {
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Runs `cmd` with `input` on stdin and its output captured; at most `limit`.
pub fn communicate(cmd: &mut Command, input: &[u8], limit: Duration) -> conductor::Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .timeout(limit)
        .spawn()
        .unwrap()
        .communicate(input)
        .unwrap()
}

/// Runs `conductor ARGS` with `input` on stdin; at most `limit`.
pub fn run_with_input(args: &[&str], input: &[u8], limit: Duration) -> conductor::Output {
    communicate(conductor().args(args), input, limit)
}

/// A fresh, empty scratch directory named after `name` and this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("conductor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `cond` every 10 ms until it holds; panics after `limit` (a hang catcher).
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out ({limit:?}) waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Reads lines on a thread; the returned closure waits at most `limit` for the next one.
pub fn line_reader(
    r: impl std::io::Read + Send + 'static,
    limit: Duration,
) -> impl FnMut() -> String {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(r).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    move || {
        rx.recv_timeout(limit)
            .unwrap_or_else(|e| panic!("a line within {limit:?}: {e}"))
    }
}

/// The number of lines in `path` (0 if it cannot be read).
pub fn lines_in(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// The pids written one a line to `file` (none if it cannot be read).
pub fn pids_in(file: &Path) -> Vec<u32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Whether `pid` is gone (or a zombie nobody has reaped yet).
pub fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Processes (not zombies) whose process group is `pgid`.
pub fn live_members(pgid: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) {
            let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
            if f[2] == pgid && f[0] != "Z" {
                found.push(e.path().display().to_string());
            }
        }
    }
    found
}

/// Whether `python3` runs here.
pub fn python3() -> bool {
    std::process::Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success())
}

/// A new pseudo-terminal: (controller, terminal), both close-on-exec.
pub fn openpty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use rustix::fs::{Mode, OFlags};
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let m = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("posix_openpt");
    grantpt(&m).expect("grantpt");
    unlockpt(&m).expect("unlockpt");
    let name = ptsname(&m, Vec::new()).expect("ptsname");
    let s = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("open the terminal");
    (m, s)
}

/// Runs `conductor ARGS` with `lines` numbered lines (0, 1, …) on stdin from
/// a file in `dir` (so a progress bar has a total), stdout discarded and
/// stderr on a new pseudo-terminal. Waits (at most 60 s) for it to exit;
/// returns its exit code and everything it wrote to the terminal.
pub fn on_terminal(args: &[&str], dir: &Path, lines: usize) -> (Option<i32>, String) {
    let (master, slave) = openpty();
    let input = dir.join("tasks.txt");
    std::fs::write(
        &input,
        (0..lines).map(|i| format!("{i}\n")).collect::<String>(),
    )
    .unwrap();
    let mut child = conductor()
        .args(args)
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(Stdio::null())
        .stderr(slave)
        .spawn()
        .unwrap();
    let (screen_tx, screen_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::Read;
        let mut f = std::fs::File::from(master);
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the last terminal descriptor closes: the end of the output.
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        let _ = screen_tx.send(String::from_utf8_lossy(&all).into_owned());
    });
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("conductor exits");
    let screen = screen_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the terminal closes when conductor exits");
    (status.code(), screen)
}

/// Runs `conductor pool -j 2 -- sh -c WORKER` [`on_terminal`] with `lines`
/// tasks, in a fresh scratch directory `name` (removed after); asserts that
/// it exits 0 and returns what it wrote to the terminal.
pub fn pool_on_terminal(name: &str, worker: &str, lines: usize) -> String {
    let dir = scratch(name);
    let (code, screen) = on_terminal(&["pool", "-j", "2", "--", "sh", "-c", worker], &dir, lines);
    assert_eq!(code, Some(0));
    let _ = std::fs::remove_dir_all(dir);
    screen
}

/// Starts `conductor pool -j 2` with workers that each write their pid to a
/// file `dir/w-PID` and then hang on their first task, and gives it two
/// tasks (stdin stays open: returned). Stdout is discarded, stderr piped.
pub fn pool_of_hanging_workers(
    dir: &Path,
) -> (conductor::blocking::Child, conductor::blocking::ChildStdin) {
    use std::io::Write;
    // A worker writes its pid once it has read its task's line: both tasks
    // are then on a worker (a line not yet read would resolve as not run at
    // a first signal, ending the job before a second one).
    let script = format!(
        "while read l; do echo $$ > {}/w-$$; sleep 300; done",
        dir.display()
    );
    let mut child = spawn(
        &["pool", "-j", "2", "--", "sh", "-c", &script],
        Stdio::null(),
        Stdio::piped(),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a\nb\n").unwrap();
    (child, stdin)
}

/// The pids in the files of `dir` (one each, as `pool_of_hanging_workers`'
/// workers write them).
pub fn pids_in_files(dir: &Path) -> Vec<i32> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok()?.trim().parse().ok())
        .collect()
}

/// Asserts that no process of `pids` is alive (zombies count as gone),
/// killing any survivor first so that a failure leaves nothing behind.
pub fn assert_all_gone(pids: &[i32], after: &str) {
    for &pid in pids {
        let alive =
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
        if alive {
            kill(pid, rustix::process::Signal::KILL);
        }
        assert!(!alive, "worker {pid} survived {after}");
    }
}

/// Starts `conductor ARGS` with stdin, stdout and stderr piped.
pub fn spawn_piped(args: &[&str]) -> conductor::blocking::Child {
    spawn(args, Stdio::piped(), Stdio::piped())
}

/// Starts `conductor ARGS` with stdin piped and the given stdout and stderr.
pub fn spawn(args: &[&str], stdout: Stdio, stderr: Stdio) -> conductor::blocking::Child {
    conductor()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Sends `signal` to process `pid` (a process this test started); a process
/// already gone is fine.
pub fn kill(pid: i32, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}
