//! Process trees: containment, graceful stop, tree kill, timeouts, bounded
//! output, capped capture, rlimits and the parent-death signal.
#![cfg(target_os = "linux")]

mod common;
use common::*;
use conductor::blocking::Command;
use conductor::unix::{CommandExt, Resource};
use conductor::{Containment, Stdio};
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

/// Live (non-zombie) processes whose process group is `pgid`.
fn live_in_group(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        if f[0] != "Z" && f[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    matches!(proc_state(pid), Some((s, _)) if s != 'Z')
}

fn kill(pid: u32) {
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
}

fn cgroup_usable() -> bool {
    match Command::new("true")
        .containment(Containment::Cgroup)
        .status()
    {
        Ok(_) => true,
        Err(e) => {
            common::skipped(format_args!("cgroup containment unavailable here: {e}"));
            false
        }
    }
}

/// Reads the first line the child prints (a pid, or "ready").
fn first_line(child: &mut conductor::blocking::Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim().to_string()
}

/// A shell leading its own process group that runs `trap <action> TERM` and
/// loops, once it has said it is ready (so the trap is in place).
fn group_trapping_term(action: &str) -> conductor::blocking::Child {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap {action} TERM; echo ready; while :; do sleep 0.05; done"
        ))
        .stdout(Stdio::piped())
        .containment(Containment::ProcessGroup)
        .spawn()
        .unwrap();
    assert_eq!(first_line(&mut child), "ready");
    child
}

const TWO_SLEEPS: &str = "sleep 300 & sleep 300 & wait";

#[test]
fn timeout_stops_the_whole_tree_blocking() {
    for containment in [Containment::ProcessGroup, Containment::BestAvailable] {
        let t = Instant::now();
        let err = Command::new("sh")
            .args(["-c", TWO_SLEEPS])
            .containment(containment)
            .timeout(Duration::from_secs(1))
            .grace(Duration::from_secs(1))
            .status()
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "took {:?}",
            t.elapsed()
        );
    }
    // Prove no member survives: spawn, then stop through a timed-out output().
    let err = Command::new("sh")
        .args(["-c", "echo $$; sleep 300 & sleep 300 & wait"])
        .containment(Containment::ProcessGroup)
        .timeout(Duration::from_secs(1))
        .grace(Duration::from_millis(500))
        .output()
        .unwrap_err();
    let partial = err.partial_output().expect("partial output");
    let pgid: u32 = String::from_utf8_lossy(&partial.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(
        live_in_group(pgid).is_empty(),
        "survivors: {:?}",
        live_in_group(pgid)
    );
}

#[test]
fn timeout_stops_the_whole_tree_async() {
    run_async(30, async {
        let t = Instant::now();
        let err = conductor::Command::new("sh")
            .args(["-c", "echo $$; sleep 300 & sleep 300 & wait"])
            .containment(Containment::ProcessGroup)
            .timeout(Duration::from_secs(1))
            .grace(Duration::from_secs(1))
            .output()
            .await
            .unwrap_err();
        assert!(
            t.elapsed() < Duration::from_secs(4),
            "took {:?}",
            t.elapsed()
        );
        assert!(err.is_timeout());
        let partial = err.partial_output().unwrap();
        let pgid: u32 = String::from_utf8_lossy(&partial.stdout)
            .trim()
            .parse()
            .unwrap();
        assert!(live_in_group(pgid).is_empty());
        let err = conductor::Command::new("sleep")
            .arg("300")
            .timeout(Duration::ZERO)
            .status()
            .await
            .unwrap_err();
        assert!(err.is_timeout());
    });
}

const ESCAPE: &str = "(setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!); sleep 300";

/// `sh -c ESCAPE` under `containment`, stdout piped (it prints the pid of
/// the grandchild that escapes into its own session).
fn spawn_escape(containment: Containment) -> conductor::blocking::Child {
    Command::new("sh")
        .args(["-c", ESCAPE])
        .stdout(Stdio::piped())
        .containment(containment)
        .spawn()
        .unwrap()
}

#[test]
fn setsid_double_fork_escapes_a_process_group() {
    let mut child = spawn_escape(Containment::ProcessGroup);
    let escaped: u32 = first_line(&mut child).parse().unwrap();
    // `$!` is printed before the background process has run setsid(1): wait
    // until it leads its own session, or the SIGTERM could catch it still in the group.
    let own_session = || {
        std::fs::read_to_string(format!("/proc/{escaped}/stat")).is_ok_and(|s| {
            let f: Vec<&str> = s[s.rfind(')').unwrap() + 2..].split(' ').collect();
            f[3] == escaped.to_string()
        })
    };
    assert!(eventually(Duration::from_secs(10), own_session));
    child.terminate(Duration::from_millis(500)).unwrap();
    let survived = alive(escaped);
    kill(escaped);
    assert!(
        survived,
        "a setsid'd double-forked grandchild escapes a process group"
    );
}

#[test]
fn setsid_double_fork_does_not_escape_a_cgroup() {
    if !cgroup_usable() {
        return;
    }
    let mut child = spawn_escape(Containment::Cgroup);
    let cg = child.cgroup_path().unwrap().to_owned();
    let escaped: u32 = first_line(&mut child).parse().unwrap();
    let procs = std::fs::read_to_string(cg.join("cgroup.procs")).unwrap();
    assert!(
        procs.lines().any(|l| l == escaped.to_string()),
        "grandchild is in the cgroup"
    );
    child.terminate(Duration::from_millis(500)).unwrap();
    let survived = alive(escaped);
    if survived {
        kill(escaped);
    }
    assert!(!survived, "the cgroup held the escaped grandchild");
    drop(child);
    assert!(
        eventually(Duration::from_secs(10), || !cg.exists()),
        "the cgroup is removed"
    );
}

#[test]
fn sigterm_trapped_and_handled_is_not_killed() {
    let mut child = group_trapping_term("'exit 7'");
    let status = child.terminate(Duration::from_secs(10)).unwrap();
    assert_eq!(status.code(), Some(7), "{status}");
}

#[test]
fn sigterm_ignored_is_killed_after_the_grace() {
    let mut child = group_trapping_term("''");
    let t = Instant::now();
    let status = child.terminate(Duration::from_millis(300)).unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(t.elapsed() >= Duration::from_millis(300));
    let pgid = child.id();
    assert!(live_in_group(pgid).is_empty());
}

#[test]
fn zero_grace_kills_at_once() {
    let mut child = group_trapping_term("'exit 7'");
    assert_eq!(
        child.terminate(Duration::ZERO).unwrap().signal(),
        Some(libc::SIGKILL)
    );
}

#[test]
fn leader_exits_first_while_its_tree_runs_on() {
    let mut child = Command::new("sh")
        .args(["-c", "sleep 300 & exit 3"])
        .containment(Containment::ProcessGroup)
        .spawn()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(3));
    let pgid = child.id();
    assert!(!live_in_group(pgid).is_empty(), "the sleep lives on");
    // The tree can still be stopped through the group after the leader is reaped.
    assert_eq!(
        child.terminate(Duration::from_millis(500)).unwrap().code(),
        Some(3)
    );
    assert!(live_in_group(pgid).is_empty());
}

#[test]
fn wait_tree_waits_for_every_member() {
    let t = Instant::now();
    let mut child = Command::new("sh")
        .args(["-c", "sleep 0.3 & exit 0"])
        .containment(Containment::ProcessGroup)
        .spawn()
        .unwrap();
    assert!(child.wait_tree().unwrap().success());
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(live_in_group(child.id()).is_empty());
}

#[test]
fn output_is_bounded_by_exit_with_io_grace() {
    let t = Instant::now();
    let out = Command::new("sh")
        .args(["-c", "sleep 300 & echo $!"])
        .io_grace(Duration::from_millis(200))
        .capture()
        .unwrap();
    let elapsed = t.elapsed();
    let pid: u32 = String::from_utf8_lossy(&out.output.stdout)
        .trim()
        .parse()
        .unwrap();
    kill(pid);
    assert!(out.output.status.success());
    assert!(out.stdout_truncated, "the pipe was still held open");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    run_async(30, async {
        let t = Instant::now();
        let out = conductor::Command::new("sh")
            .args(["-c", "sleep 300 & echo $!"])
            .io_grace(Duration::from_millis(200))
            .output()
            .await
            .unwrap();
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        kill(pid);
        assert!(t.elapsed() < Duration::from_secs(3));
        assert!(out.status.success());
    });
}

#[test]
fn capped_capture_of_a_gigabyte() {
    let out = Command::new("head")
        .args(["-c", "1G", "/dev/zero"])
        .capture_limit(1 << 20)
        .capture()
        .unwrap();
    assert_eq!(out.output.stdout.len(), 1 << 20);
    assert!(out.stdout_truncated);
    assert!(
        out.output.status.success(),
        "the child was never blocked: {}",
        out.output.status
    );
    run_async(60, async {
        let out = conductor::Command::new("head")
            .args(["-c", "1G", "/dev/zero"])
            .capture_limit(1 << 20)
            .capture()
            .await
            .unwrap();
        assert_eq!(out.output.stdout.len(), 1 << 20);
        assert!(out.stdout_truncated && out.output.status.success());
    });
}

#[test]
fn rlimits_take_effect_in_the_child() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .rlimit(Resource::OpenFiles, 100, 200)
        .rlimit(Resource::CoreSize, 0, 0)
        .rlimit(Resource::CpuSeconds, 50, 60)
        .rlimit(Resource::AddressSpace, 1 << 33, 1 << 34)
        .rlimit(Resource::Processes, 1000, 2000)
        .spawn()
        .unwrap();
    use std::io::{Read, Write};
    child.stdin.as_mut().unwrap().write_all(b"x").unwrap();
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut [0u8; 1])
        .unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let row = |name: &str| -> Vec<String> {
        let line = limits.lines().find(|l| l.starts_with(name)).unwrap();
        line[name.len()..]
            .split_whitespace()
            .take(2)
            .map(String::from)
            .collect()
    };
    assert_eq!(row("Max open files"), ["100", "200"]);
    assert_eq!(row("Max core file size"), ["0", "0"]);
    assert_eq!(row("Max cpu time"), ["50", "60"]);
    assert_eq!(
        row("Max address space"),
        [(1u64 << 33).to_string(), (1u64 << 34).to_string()]
    );
    assert_eq!(row("Max processes"), ["1000", "2000"]);
    drop(child.stdin.take());
    child.wait().unwrap();
}

#[test]
fn rlimit_soft_above_hard_is_a_clear_error() {
    let e = Command::new("true")
        .rlimit(Resource::OpenFiles, 500, 100)
        .spawn()
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("RLIMIT_NOFILE"), "{e}");
    if rustix::process::geteuid().as_raw() != 0 {
        // Without privilege, raising the hard limit is refused by the kernel.
        let e = Command::new("true")
            .rlimit(Resource::OpenFiles, 10, u64::MAX - 1)
            .spawn()
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
    }
}

#[test]
fn parent_death_signal_survives_the_spawning_thread() {
    // The kernel ties PR_SET_PDEATHSIG to the cloning thread; conductor clones
    // from a thread that lives as long as the process, so a child spawned
    // from a short-lived thread is not killed when that thread exits.
    let mut child = std::thread::spawn(|| {
        Command::new("sleep")
            .arg("300")
            .parent_death_signal(libc::SIGKILL)
            .spawn()
            .unwrap()
    })
    .join()
    .unwrap();
    // A negative check: the signal would come right after the thread's exit.
    let early = child.wait_timeout(Duration::from_millis(500)).unwrap();
    assert_eq!(early, None, "killed when the spawning thread exited");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn async_tree_operations() {
    run_async(30, async {
        let mut child = conductor::Command::new("sh")
            .args(["-c", TWO_SLEEPS])
            .containment(Containment::ProcessGroup)
            .spawn()
            .unwrap();
        let pgid = child.id();
        assert_eq!(
            child.wait_timeout(Duration::from_millis(50)).await.unwrap(),
            None
        );
        let s = child.terminate(Duration::from_secs(2)).await.unwrap();
        assert_eq!(s.signal(), Some(libc::SIGTERM));
        assert!(live_in_group(pgid).is_empty());
    });
}
