//! Issue 15: Unix `CommandExt::pre_exec` (fork+exec path) and `exec()`.
#![cfg(unix)]

mod common;
use conductor::blocking::Command;
use conductor::unix::CommandExt;
use conductor::{Operation, Stdio};
use std::io::ErrorKind;

#[test]
fn pre_exec_runs_in_the_child_before_exec() {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo after"]);
    // SAFETY: write(2) is async-signal-safe; nothing is allocated.
    unsafe {
        cmd.pre_exec(|| {
            let msg = b"before\n";
            libc::write(1, msg.as_ptr().cast(), msg.len());
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.stdout, b"before\nafter\n");
    // Spawned again: the closure runs again.
    assert_eq!(cmd.output().unwrap().stdout, b"before\nafter\n");
}

#[test]
fn pre_exec_error_fails_the_spawn_with_its_os_error() {
    let mut cmd = Command::new("true");
    // SAFETY: builds an OS error only (no allocation).
    unsafe {
        cmd.pre_exec(|| Err(std::io::Error::from_raw_os_error(libc::EPERM)));
    }
    let err = cmd.spawn().unwrap_err();
    assert_eq!(err.operation(), Operation::PreExec);
    assert_eq!(err.raw_os_error(), Some(libc::EPERM));
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn pre_exec_keeps_conductors_setup_and_fd_hygiene() {
    let dir = std::env::temp_dir();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "pwd; ls /proc/self/fd | wc -l"])
        .current_dir(&dir)
        .stdin(Stdio::null());
    // SAFETY: does nothing.
    unsafe {
        cmd.pre_exec(|| Ok(()));
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        dir.canonicalize().unwrap().to_str().unwrap()
    );
    // 0, 1, 2 and the one `ls` opens for the directory: nothing leaked.
    assert_eq!(lines.next().unwrap().trim(), "4", "{text}");
}

#[test]
fn pre_exec_on_the_async_api() {
    common::run_async(30, async {
        let mut cmd = conductor::Command::new("sh");
        cmd.args(["-c", "echo $0"]).arg0("renamed");
        // SAFETY: does nothing.
        unsafe {
            cmd.pre_exec(|| Ok(()));
        }
        let out = cmd.output().await.unwrap();
        assert_eq!(out.stdout, b"renamed\n");
        let mut child = cmd.spawn().unwrap();
        assert!(child.wait().await.unwrap().success());
    });
}

/// Run as a subprocess of this test binary: calls `exec()`.
#[test]
fn exec_helper() {
    let Some(mode) = std::env::var_os("CONDUCTOR_EXEC_HELPER") else {
        return;
    };
    let err = if mode == "ok" {
        let mut cmd = Command::new("sh");
        // SAFETY: write(2) is async-signal-safe; nothing is allocated.
        unsafe {
            cmd.pre_exec(|| {
                let msg = b"hook ran\n";
                libc::write(1, msg.as_ptr().cast(), msg.len());
                Ok(())
            });
        }
        cmd.args(["-c", "echo replaced $$ >&3"])
            .inherit_fd(
                3,
                std::os::fd::AsFd::as_fd(&std::io::stdout())
                    .try_clone_to_owned()
                    .unwrap(),
            )
            .exec()
    } else {
        Command::new("/no/such/program").exec()
    };
    // Only reached on failure.
    println!("exec failed: {:?} {:?}", err.kind(), err.raw_os_error());
    std::process::exit(3);
}

fn run_helper(mode: &str) -> (u32, String, conductor::ExitStatus) {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new(exe)
        .args(["--exact", "exec_helper", "--nocapture", "--test-threads=1"])
        .env("CONDUCTOR_EXEC_HELPER", mode)
        .stdout(Stdio::piped())
        .timeout(std::time::Duration::from_secs(60))
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    (
        pid,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status,
    )
}

#[test]
fn exec_replaces_this_process() {
    let (pid, stdout, status) = run_helper("ok");
    assert!(status.success(), "{status} {stdout}");
    assert!(
        stdout.contains(&format!("hook ran\nreplaced {pid}\n")),
        "pre_exec ran, same pid, fd 3 passed: {stdout}"
    );
}

#[test]
fn exec_failure_returns_the_os_error() {
    let (_, stdout, status) = run_helper("missing");
    assert_eq!(status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains(&format!("exec failed: NotFound Some({})", libc::ENOENT)),
        "{stdout}"
    );
}
