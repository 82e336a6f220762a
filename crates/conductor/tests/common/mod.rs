//! Helpers shared by the integration tests: bounded waits and process
//! inspection (/proc on Linux, `ps` elsewhere); `episode`: a worker start-up
//! episode for the pool tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

pub mod episode;
mod skip;
#[allow(unused_imports)] // not every test binary skips anything
pub use skip::skipped;

/// Asserts that `pid` is gone (exited and reaped, not a zombie) within 10 s.
pub fn assert_reaped(pid: u32) {
    assert!(
        eventually(Duration::from_secs(10), || gone(pid)),
        "child {pid} was not reaped: {:?}",
        proc_state(pid)
    );
}

/// Spawns `sh -c 'read x'` and drops its handle while it still runs. Returns
/// its pid and its stdin: dropping the stdin lets it exit.
pub fn dropped_running_child() -> (u32, conductor::blocking::ChildStdin) {
    let mut gate = conductor::blocking::Command::new("sh")
        .args(["-c", "read x"])
        .stdin(conductor::Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let stdin = gate.stdin.take().expect("piped stdin");
    (gate.id(), stdin)
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
/// Used only where the thing awaited happens in another process or thread we
/// cannot be notified by (e.g. the background reaper); every poll is bounded.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// (state, ppid) of a process, from /proc/<pid>/stat; None once it is gone.
#[cfg(target_os = "linux")]
pub fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// (state, ppid) of a process, from `ps` (no /proc here); None once it is gone.
#[cfg(not(target_os = "linux"))]
pub fn proc_state(pid: u32) -> Option<(char, u32)> {
    let out = std::process::Command::new("ps")
        .args(["-o", "stat=", "-o", "ppid=", "-p", &pid.to_string()])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

/// True once `pid` no longer exists as our child (neither running nor a zombie).
pub fn gone(pid: u32) -> bool {
    match proc_state(pid) {
        None => true,
        Some((_, ppid)) => ppid != std::process::id(),
    }
}

/// Zombie children of this process, right now.
#[cfg(target_os = "linux")]
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                if let Some(('Z', ppid)) = proc_state(pid) {
                    if ppid == me {
                        out.push(pid);
                    }
                }
            }
        }
    }
    out
}

/// Zombie children of this process, right now (from `ps`: no /proc here).
#[cfg(not(target_os = "linux"))]
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(out) = std::process::Command::new("ps")
        .args(["-A", "-o", "pid=", "-o", "ppid=", "-o", "stat="])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[1] == me && f[2].starts_with('Z')).then(|| f[0].parse().ok())?
        })
        .collect()
}

/// Descriptor numbers open in process `pid` (Linux: /proc).
pub fn open_fds(pid: u32) -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// A field of /proc/<pid>/status, e.g. "SigBlk" (Linux).
pub fn status_field(pid: u32, name: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        l.strip_prefix(&format!("{name}:"))
            .map(|v| v.trim().to_string())
    })
}

/// Runs `fut` on a fresh current-thread runtime, failing the test after `secs`.
pub fn run_async<F: std::future::Future>(secs: u64, fut: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(secs), fut)
            .await
            .expect("test timed out")
    })
}
