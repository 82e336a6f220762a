//! The graceful stop on Windows: CTRL_BREAK_EVENT to a child leading its
//! own process group, before the Job is killed. `GenerateConsoleCtrlEvent`
//! reaches only processes sharing our console, so this test binary makes
//! sure it has one (`AllocConsole`); alone in its binary because a console
//! is process-wide (it changes how other tests' children start).
//!
//! Under Wine 8 `GenerateConsoleCtrlEvent` fails (with or without a
//! console), so there the test checks the fallback instead: a request that
//! cannot be delivered kills the Job at once rather than waiting the grace.
//!
//! On other operating systems this file compiles to nothing.
#![cfg(windows)]

use conductor::Containment;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The exit code of a process ended by CTRL+C or CTRL+BREAK's default handler.
const STATUS_CONTROL_C_EXIT: i32 = 0xC000013Au32 as i32;

fn helper() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(std::path::Path::parent)
        .map(|d| d.join("examples").join("child_helper.exe"))
        .expect("examples dir")
}

fn ensure_console() -> bool {
    use windows_sys::Win32::System::Console::{AllocConsole, GetConsoleCP};
    // SAFETY: no preconditions.
    unsafe { GetConsoleCP() != 0 || AllocConsole() != 0 }
}

fn under_wine() -> bool {
    std::env::var_os("CONDUCTOR_UNDER_WINE").is_some()
}

#[test]
fn terminate_sends_ctrl_break_before_killing() {
    let console = ensure_console();
    let mut child = conductor::blocking::Command::new(helper())
        .args(["sleep", "60000"])
        .containment(Containment::ProcessGroup)
        .spawn()
        .expect("spawn");
    // Let the child start its console handling.
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    let status = child.terminate(Duration::from_secs(20)).expect("terminate");
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the grace ran out: {took:?}"
    );
    if under_wine() && status.code() != Some(STATUS_CONTROL_C_EXIT) {
        eprintln!(
            "note: Wine did not deliver CTRL_BREAK_EVENT (console: {console}); \
             the Job was killed at once: {status:?} after {took:?}"
        );
        assert_eq!(status.code(), Some(1), "killed by TerminateJobObject");
        return;
    }
    assert!(console, "no console for CTRL_BREAK_EVENT");
    assert_eq!(
        status.code(),
        Some(STATUS_CONTROL_C_EXIT),
        "ended by CTRL_BREAK's default handler"
    );
}
