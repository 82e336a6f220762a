//! Issue 15, behaviour: the child's signal mask matches std's (the spawning
//! thread's), with an explicit option for an empty one.
#![cfg(unix)]

mod common;
use conductor::blocking::Command;
use conductor::unix::CommandExt;
use conductor::Stdio;
use std::io::Read;

/// Runs `f` on a fresh thread that has `sig` blocked (the test harness's
/// threads are left alone).
fn with_blocked<T: Send + 'static>(sig: i32, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: sigset operations on a local set; changes only this thread's mask.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        f()
    })
    .join()
    .unwrap()
}

/// Prints the `SigBlk` line of its own /proc status (grep itself, not a
/// shell: shells change their mask).
const SHOW_MASK: [&str; 2] = ["SigBlk", "/proc/self/status"];

fn sigint_bit() -> String {
    format!("{:016x}", 1u64 << (libc::SIGINT - 1))
}

#[test]
fn child_inherits_the_spawning_threads_mask_like_std() {
    if !std::path::Path::new("/proc/self/status").exists() {
        return common::skipped("no /proc");
    }
    let (ours, std) = with_blocked(libc::SIGINT, || {
        let ours = Command::new("grep").args(SHOW_MASK).output().unwrap();
        let std = std::process::Command::new("grep")
            .args(SHOW_MASK)
            .output()
            .unwrap();
        (ours.stdout, std.stdout)
    });
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&std)
    );
    assert!(
        String::from_utf8_lossy(&ours).contains(&sigint_bit()),
        "{ours:?}"
    );
}

#[test]
fn empty_signal_mask_option_clears_it() {
    if !std::path::Path::new("/proc/self/status").exists() {
        return common::skipped("no /proc");
    }
    let out = with_blocked(libc::SIGINT, || {
        Command::new("grep")
            .args(SHOW_MASK)
            .empty_signal_mask(true)
            .output()
            .unwrap()
    });
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "SigBlk:\t0000000000000000"
    );
}

/// The example: `cat` spawned while SIGINT is blocked survives SIGINT.
#[test]
fn cat_spawned_with_sigint_blocked_survives_sigint() {
    let survived = |empty: bool| {
        with_blocked(libc::SIGINT, move || {
            let mut cat = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .empty_signal_mask(empty)
                .spawn()
                .unwrap();
            cat.signal(libc::SIGINT).unwrap();
            // cat is blocked in read(); a pending-but-blocked SIGINT leaves it
            // there, so closing stdin ends it normally.
            drop(cat.stdin.take());
            let mut rest = Vec::new();
            cat.stdout.take().unwrap().read_to_end(&mut rest).unwrap();
            cat.wait().unwrap()
        })
    };
    let inherited = survived(false);
    assert!(inherited.success(), "{inherited}");
    let emptied = survived(true);
    assert_eq!(emptied.signal(), Some(libc::SIGINT), "{emptied}");
    run_async_case();
}

fn run_async_case() {
    let status = with_blocked(libc::SIGINT, || {
        common::run_async(30, async {
            let mut cat = conductor::Command::new("cat")
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            cat.signal(libc::SIGINT).unwrap();
            drop(cat.stdin.take());
            cat.wait().await.unwrap()
        })
    });
    assert!(status.success(), "{status}");
}

/// The `current_dir` doc: a relative program path resolves against the
/// child's directory (as std, CPython and Go do), not the parent's.
#[test]
fn relative_program_resolves_against_the_childs_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("conductor-reldir-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    let script = dir.join("bin/hello.sh");
    std::fs::write(&script, "#!/bin/sh\necho from-child-dir\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ours = Command::new("./bin/hello.sh")
        .current_dir(&dir)
        .output()
        .unwrap();
    let std = std::process::Command::new("./bin/hello.sh")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(ours.stdout, b"from-child-dir\n");
    assert_eq!(ours.stdout, std.stdout);
    std::fs::remove_dir_all(&dir).unwrap();
}
