//! Spawning: exit statuses, builder options, exec errors and bad input.
#![cfg(unix)]

mod common;
use common::*;
use conductor::blocking::Command;
use conductor::unix::CommandExt;
use conductor::Operation;
#[cfg(target_os = "linux")]
use conductor::Stdio;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[test]
fn exit_codes_and_signals_are_reported_like_std() {
    let s = Command::new("sh").args(["-c", "exit 42"]).status().unwrap();
    assert_eq!((s.code(), s.signal(), s.success()), (Some(42), None, false));
    assert_eq!(s.to_string(), "exit status: 42");
    let s = Command::new("sh")
        .args(["-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!((s.code(), s.signal()), (None, Some(15)));
    assert_eq!(s.to_string(), "signal: 15 (SIGTERM)");
    let std_status = std::process::Command::new("sh")
        .args(["-c", "exit 42"])
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    let ours = Command::new("sh").args(["-c", "exit 42"]).status().unwrap();
    assert_eq!(ours.into_raw(), std_status.into_raw());
}

#[test]
fn core_dump_is_reported() {
    // Only when the kernel writes cores for us; otherwise the signal alone is checked.
    let s = Command::new("sh")
        .args(["-c", "ulimit -c unlimited 2>/dev/null; kill -SEGV $$"])
        .current_dir(std::env::temp_dir())
        .status()
        .unwrap();
    assert_eq!(s.signal(), Some(libc::SIGSEGV));
    if s.core_dumped() {
        assert!(s.to_string().ends_with("(core dumped)"));
    }
}

#[test]
fn program_not_found_is_a_spawn_error_naming_it() {
    let e = Command::new("no-such-program-xyz").spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.operation(), Operation::Exec);
    assert!(e.to_string().contains("no-such-program-xyz"), "{e}");
    let e = Command::new("/nonexistent/dir/prog").spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn permission_denied_and_bad_format_are_distinct_errors() {
    let dir = tempdir();
    let noexec = dir.join("noexec");
    std::fs::write(&noexec, "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(&noexec, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Command::new(&noexec).spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");

    let garbage = dir.join("garbage");
    std::fs::write(&garbage, [0u8, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    std::fs::set_permissions(&garbage, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = Command::new(&garbage).spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOEXEC), "{e}");
    assert!(e.to_string().contains("not an executable format"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn exec_failure_leaves_no_zombie() {
    for _ in 0..20 {
        assert!(Command::new("no-such-program-xyz").spawn().is_err());
    }
    // Reaping happens inside spawn(), synchronously.
    assert!(
        zombie_children().is_empty()
            || eventually(Duration::from_secs(5), || zombie_children().is_empty())
    );
}

#[test]
fn text_file_busy_is_retried_then_reported() {
    let dir = tempdir();
    let exe = dir.join("busy");
    // Held open for writing: exec must fail with ETXTBSY even after the retries.
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o755)
        .open(&exe)
        .unwrap();
    let t = std::time::Instant::now();
    let e = Command::new(&exe).spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ETXTBSY), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5));
    // Once the writer is gone the same program runs.
    drop(f);
    std::fs::write(&exe, "#!/bin/sh\nexit 5\n").unwrap();
    assert_eq!(Command::new(&exe).status().unwrap().code(), Some(5));
    std::fs::remove_dir_all(dir).unwrap();
}

use std::os::unix::fs::OpenOptionsExt;

#[test]
fn nul_bytes_are_invalid_input_naming_the_item() {
    let cases: Vec<(Command, &str)> = vec![
        (Command::new("ec\0ho"), "program"),
        (
            {
                let mut c = Command::new("echo");
                c.arg("ok").arg("b\0ad");
                c
            },
            "argument 2",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.env("KEY", "va\0lue");
                c
            },
            "environment variable KEY",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.env("K\0EY", "v");
                c
            },
            "environment variable",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.current_dir("/tm\0p");
                c
            },
            "working directory",
        ),
        (
            {
                let mut c = Command::new("echo");
                c.arg0("a\0b");
                c
            },
            "arg0",
        ),
    ];
    for (mut cmd, what) in cases {
        let e = cmd.spawn().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
    let e = Command::new("echo").env("A=B", "v").spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // An empty program is not found, as with std (issue 15).
    let e = Command::new("").spawn().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[test]
fn oversized_arguments_are_a_clear_error() {
    let big = "x".repeat(100_000);
    let mut cmd = Command::new("true");
    for _ in 0..400 {
        cmd.arg(&big);
    }
    let e = cmd.spawn().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::E2BIG), "{e}");
    assert!(e.to_string().contains("too large"), "{e}");
}

#[test]
fn missing_current_dir_is_an_error_naming_it() {
    let e = Command::new("true")
        .current_dir("/no/such/dir")
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.operation(), Operation::ChangeDirectory);
    assert!(e.to_string().contains("/no/such/dir"), "{e}");
}

#[test]
fn env_options_apply() {
    let out = Command::new("sh")
        .args(["-c", "echo \"$A|$B|${HOME-unset}\""])
        .env("A", "1")
        .envs([("B", "2")])
        .env_remove("HOME")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"1|2|unset\n");
    let out = Command::new("/usr/bin/env")
        .env_clear()
        .env("ONLY", "me")
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"ONLY=me\n");
    // PATH lookup uses the child's PATH.
    let out = Command::new("env")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("X", "y")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("X=y"));
}

#[test]
fn accessors_mirror_std() {
    let mut c = Command::new("prog");
    c.args(["a", "b"])
        .env("K", "V")
        .env_remove("R")
        .current_dir("/tmp");
    assert_eq!(c.get_program(), "prog");
    assert_eq!(c.get_args().collect::<Vec<_>>(), ["a", "b"]);
    let envs: Vec<_> = c.get_envs().collect();
    assert!(envs.contains(&("K".as_ref(), Some("V".as_ref()))));
    assert!(envs.contains(&("R".as_ref(), None)));
    assert_eq!(c.get_current_dir(), Some(std::path::Path::new("/tmp")));
}

#[test]
fn unix_options_apply() {
    let out = Command::new("sh")
        .args([
            "-c",
            "echo $0; umask; pwd; ps -o pgid= -p $$ 2>/dev/null || cut -d' ' -f5 /proc/$$/stat",
        ])
        .arg0("myname")
        .umask(0o027)
        .current_dir("/")
        .process_group(0)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(&lines[..3], ["myname", "0027", "/"]);
    let _pgid: u32 = lines[3].trim().parse().unwrap();
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn setsid_makes_a_new_session() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .setsid(true)
        .spawn()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // fields: state ppid pgrp session
    assert_eq!(
        fields[3],
        child.id().to_string(),
        "session id is the child's pid"
    );
    assert_eq!(fields[2], child.id().to_string(), "so is its process group");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn uid_and_gid_are_set_without_fork() {
    if rustix::process::geteuid().as_raw() != 0 {
        common::skipped("needs root to change uid");
        return;
    }
    let out = Command::new("id")
        .args(["-u"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"65534\n");
    let out = Command::new("id")
        .args(["-G"])
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"65534\n", "supplementary groups are dropped");
    let out = Command::new("id")
        .args(["-G"])
        .gid(100)
        .groups(&[100, 200])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "100 200");
}

/// Spawns `cat` and round-trips a line through it, which proves it is past
/// exec (the parent can resume before exec closes the close-on-exec descriptors).
#[cfg(target_os = "linux")]
fn running_cat(cmd: &mut Command) -> conductor::blocking::Child {
    use std::io::{Read, Write};
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.as_mut().unwrap().write_all(b"x").unwrap();
    let mut b = [0u8; 1];
    child.stdout.as_mut().unwrap().read_exact(&mut b).unwrap();
    child
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn child_gets_exactly_stdio_plus_requested_fds() {
    // A descriptor the parent opened WITHOUT close-on-exec, as careless code does.
    let leaky = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
    assert!(leaky > 2);
    let mut child = running_cat(&mut Command::new("cat"));
    assert_eq!(open_fds(child.id()), [0, 1, 2]);
    drop(child.stdin.take());
    child.wait().unwrap();

    let (rd, _wr) = rustix::pipe::pipe().unwrap();
    let mut child = running_cat(Command::new("cat").inherit_fd(7, rd));
    assert_eq!(open_fds(child.id()), [0, 1, 2, 7]);
    drop(child.stdin.take());
    child.wait().unwrap();
    unsafe { libc::close(leaky) };
}

#[test]
#[cfg(target_os = "linux")] // reads /proc
fn child_starts_with_default_signals_and_empty_mask() {
    // Block a signal in this thread and catch another: with `empty_signal_mask`
    // the child sees neither; by default it inherits the mask (as with std).
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    extern "C" fn handler(_: libc::c_int) {}
    unsafe { libc::signal(libc::SIGUSR2, handler as *const () as libc::sighandler_t) };
    let mut inherits = running_cat(&mut Command::new("cat"));
    let blk = status_field(inherits.id(), "SigBlk").unwrap();
    assert_eq!(
        u64::from_str_radix(&blk, 16).unwrap() & (1 << (libc::SIGUSR1 - 1)),
        1 << (libc::SIGUSR1 - 1),
        "{blk}"
    );
    drop(inherits.stdin.take());
    inherits.wait().unwrap();
    let mut child = running_cat(Command::new("cat").empty_signal_mask(true));
    let pid = child.id();
    assert_eq!(status_field(pid, "SigBlk").unwrap(), "0000000000000000");
    assert_eq!(status_field(pid, "SigCgt").unwrap(), "0000000000000000");
    let ign = u64::from_str_radix(&status_field(pid, "SigIgn").unwrap(), 16).unwrap();
    assert_eq!(
        ign & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is back to default"
    );
    drop(child.stdin.take());
    child.wait().unwrap();
}

#[test]
fn resource_usage_is_reported_after_exit() {
    let mut child = Command::new("sh")
        .args(["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
        .spawn()
        .unwrap();
    assert!(child.resource_usage().is_none());
    child.wait().unwrap();
    let ru = child.resource_usage().unwrap();
    assert!(
        ru.user_time + ru.system_time > Duration::from_millis(10),
        "{ru:?}"
    );
    assert!(ru.max_rss_bytes > 100 * 1024, "{ru:?}");
}

#[test]
fn kill_and_try_wait() {
    let mut child = Command::new("sleep").arg("300").spawn().unwrap();
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    let s = child.wait().unwrap();
    assert_eq!(s.signal(), Some(libc::SIGKILL));
    assert_eq!(child.try_wait().unwrap(), Some(s));
    // Signalling a reaped child is not an error and reaches nobody.
    child.kill().unwrap();
    child.signal(libc::SIGTERM).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn pidfd_is_as_fd_and_names_the_child() {
    use rustix::process::{pidfd_send_signal, Signal};
    use std::os::fd::AsFd;
    // Blocking: a signal sent through the borrowed pidfd reaches the child.
    let mut child = Command::new("sleep").arg("300").spawn().unwrap();
    pidfd_send_signal(child.pidfd().unwrap(), Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGTERM));
    // The pidfd outlives the reaping, like std's.
    assert!(child.pidfd().is_ok());
    // Async: the pidfd is still there once the wait registered it with the
    // reactor, and a duplicate of it works on its own.
    run_async(30, async {
        let mut child = conductor::Command::new("sleep").arg("300").spawn().unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(20), child.wait())
                .await
                .is_err()
        );
        let dup = child.pidfd().unwrap().as_fd().try_clone_to_owned().unwrap();
        pidfd_send_signal(&dup, Signal::KILL).unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn wait_timeout_does_not_kill() {
    let mut child = Command::new("sleep").arg("300").spawn().unwrap();
    let t = std::time::Instant::now();
    assert_eq!(child.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill().unwrap();
    assert!(child
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .is_some());
}

#[test]
fn async_api_mirrors_blocking() {
    run_async(30, async {
        let out = conductor::Command::new("sh")
            .args(["-c", "echo a; echo b >&2; exit 3"])
            .output()
            .await
            .unwrap();
        assert_eq!(
            (
                out.stdout.as_slice(),
                out.stderr.as_slice(),
                out.status.code()
            ),
            (&b"a\n"[..], &b"b\n"[..], Some(3))
        );
        let e = conductor::Command::new("no-such-program-xyz")
            .spawn()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let mut child = conductor::Command::new("sleep").arg("300").spawn().unwrap();
        // Cancel-safe wait: a timed-out wait loses nothing.
        assert!(
            tokio::time::timeout(Duration::from_millis(20), child.wait())
                .await
                .is_err()
        );
        child.start_kill().unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(9));
        assert!(child.resource_usage().is_some());
    });
}

#[test]
fn async_spawn_outside_a_runtime_is_a_clear_error() {
    let e = conductor::Command::new("true").spawn().unwrap_err();
    assert!(e.to_string().contains("no tokio runtime"), "{e}");
}

#[test]
fn async_works_on_multi_thread_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                tokio::spawn(async move {
                    conductor::Command::new("sh")
                        .arg("-c")
                        .arg(format!("exit {i}"))
                        .status()
                        .await
                        .unwrap()
                        .code()
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            let code = tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(code, Some(i as i32));
        }
    });
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "conductor-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}
