//! Memory cgroups (Linux): `CommandExt::memory_limit` is enforced by the
//! kernel and an OOM kill is reported; a contained child's peak memory and
//! CPU are its own tree's, read from its cgroup. These need root (or a
//! delegated cgroup) and a memory controller; where there is none they print
//! a `SKIPPED:` line.
#![cfg(target_os = "linux")]

mod common;

use conductor::blocking::Command;
use conductor::unix::CommandExt;
use conductor::{Containment, Operation, UsageSource};
use std::path::PathBuf;
use std::time::Duration;

/// `dd` reading MIB MiB from /dev/zero in one block: it allocates and
/// touches that much memory.
fn alloc(mib: u32) -> Command {
    let mut cmd = Command::new("dd");
    cmd.args([
        "if=/dev/zero".to_string(),
        "of=/dev/null".to_string(),
        format!("bs={mib}M"),
        "count=1".to_string(),
    ])
    .stderr(conductor::Stdio::null());
    cmd
}

/// Spawns `cmd`, or returns None (printing why) when the machine has no
/// usable memory controller.
fn spawn_or_skip(cmd: &mut Command, test: &str) -> Option<conductor::blocking::Child> {
    match cmd.spawn() {
        Ok(c) => Some(c),
        Err(e)
            if e.operation() == Operation::MemoryLimit
                && e.kind() == std::io::ErrorKind::Unsupported =>
        {
            common::skipped(format!("{test}: {e}"));
            None
        }
        Err(e) => panic!("spawn: {e}"),
    }
}

/// Spawns `cmd` (which asks for a cgroup), or skips the calling test
/// `test` on any error (no usable cgroup here).
fn spawn_in_cgroup_or_skip(cmd: &mut Command, test: &str) -> Option<conductor::blocking::Child> {
    match cmd.spawn() {
        Ok(c) => Some(c),
        Err(e) => {
            common::skipped(format!("{test}: {e}"));
            None
        }
    }
}

/// Where the cgroup filesystem whose super options include `opt` (or the
/// cgroup2 one, for `None`) is mounted.
fn mount_point(opt: Option<&str>) -> String {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let f: Vec<&str> = post.split(' ').collect();
            let hit = match opt {
                None => f[0] == "cgroup2",
                Some(o) => f[0] == "cgroup" && f[2].split(',').any(|x| x == o),
            };
            hit.then(|| pre.split(' ').nth(4).unwrap().to_string())
        })
        .unwrap()
}

/// The child's memory cgroup directory, from /proc/PID/cgroup: the v1 memory
/// hierarchy's when it is in a conductor cgroup there, else v2's.
fn memory_cgroup_dir(pid: u32) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        if ctrls.split(',').any(|c| c == "memory") && path.contains("conductor-") {
            return PathBuf::from(format!("{}{path}", mount_point(Some("memory"))));
        }
    }
    let v2 = text.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
    PathBuf::from(format!("{}{v2}", mount_point(None)))
}

#[test]
fn a_child_past_its_memory_limit_is_oom_killed_and_reported() {
    let mut cmd = alloc(512);
    cmd.memory_limit(64 << 20);
    let Some(mut child) = spawn_or_skip(&mut cmd, "memory limit") else {
        return;
    };
    let status = child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .expect("the child ends within 60 s");
    let ru = child.resource_usage().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status} {ru:?}");
    assert!(ru.oom_killed, "reported as an OOM kill: {ru:?}");
    assert_eq!(ru.memory_source, UsageSource::Cgroup, "{ru:?}");
    assert!(
        ru.max_rss_bytes <= 64 << 20,
        "peak within the limit: {ru:?}"
    );
}

#[test]
fn a_child_under_its_memory_limit_runs_and_its_cgroup_is_removed() {
    let mut cmd = alloc(32);
    cmd.stdout(conductor::Stdio::piped())
        .memory_limit(512 << 20);
    let Some(child) = spawn_or_skip(&mut cmd, "memory limit") else {
        return;
    };
    let dir = memory_cgroup_dir(child.id());
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("conductor-"),
        "the child runs in its own memory cgroup, not {}",
        dir.display()
    );
    let limit = ["memory.max", "memory.limit_in_bytes"]
        .iter()
        .find_map(|f| std::fs::read_to_string(dir.join(f)).ok())
        .expect("a memory limit file");
    assert_eq!(limit.trim(), (512u64 << 20).to_string());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!dir.exists(), "{} is removed once reaped", dir.display());
}

#[test]
fn usage_of_a_limited_child_is_its_own() {
    let mut cmd = alloc(48);
    cmd.memory_limit(1 << 30);
    let Some(mut child) = spawn_or_skip(&mut cmd, "memory limit") else {
        return;
    };
    assert!(child.wait().unwrap().success());
    let ru = child.resource_usage().unwrap();
    assert!(!ru.oom_killed, "{ru:?}");
    assert_eq!(ru.memory_source, UsageSource::Cgroup, "{ru:?}");
    assert!(
        ru.max_rss_bytes >= 48 << 20 && ru.max_rss_bytes < 256 << 20,
        "{ru:?}"
    );
}

#[test]
fn a_zero_memory_limit_is_refused() {
    let err = Command::new("true").memory_limit(0).spawn().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{err}");
}

/// A 1 GiB parent spawning /bin/true: the kernel folds the parent's address
/// space into the child's ru_maxrss at exec; the cgroup's peak is the child's.
#[test]
fn peak_memory_of_a_small_child_of_a_big_parent_is_its_own() {
    // A memory limit works exactly where a contained child gets a memory cgroup.
    let Some(mut probe) = spawn_or_skip(
        Command::new("true").memory_limit(1 << 30),
        "peak memory from a cgroup",
    ) else {
        return;
    };
    probe.wait().unwrap();
    let ballast = vec![7u8; 1 << 30];
    let Some(mut child) = spawn_in_cgroup_or_skip(
        Command::new("/bin/true").containment(Containment::Cgroup),
        "peak memory from a cgroup",
    ) else {
        return;
    };
    assert!(child.wait().unwrap().success());
    let usage = child.resource_usage().unwrap();
    assert_eq!(ballast.iter().step_by(1 << 20).count(), 1024);
    assert_eq!(usage.memory_source, UsageSource::Cgroup, "{usage:?}");
    assert!(
        usage.max_rss_bytes < 64 << 20,
        "/bin/true's own peak, not the parent's 1 GiB: {usage:?}"
    );

    // Without a cgroup the figure is rusage's upper bound, and says so.
    let mut plain = Command::new("/bin/true").spawn().unwrap();
    plain.wait().unwrap();
    let ru = plain.resource_usage().unwrap();
    assert_eq!(ru.memory_source, UsageSource::Process, "{ru:?}");
    drop(ballast);
}

/// A tree stopped after a timeout: its CPU counts every process of the
/// cgroup, not only the ones the child waited for.
#[test]
fn cpu_of_a_stopped_tree_counts_its_descendants() {
    let spin = "while :; do :; done";
    let Some(mut child) = spawn_in_cgroup_or_skip(
        Command::new("sh")
            .args([
                "-c",
                &format!("sh -c '{spin}' & sh -c '{spin}' & echo started; wait"),
            ])
            .stdout(conductor::Stdio::piped())
            .containment(Containment::Cgroup),
        "tree CPU from a cgroup",
    ) else {
        return;
    };
    let mut line = [0u8; 8];
    let mut out = child.stdout.take().unwrap();
    std::io::Read::read_exact(&mut out, &mut line).unwrap();
    // Let the spinners use CPU until they have used a measurable amount.
    let path = child.cgroup_path().unwrap().join("cpu.stat");
    assert!(
        common::eventually(Duration::from_secs(60), || {
            std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec "))
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|us| us >= 300_000)
        }),
        "the spinners ran"
    );
    // sh dies of SIGTERM at once and never waits for the spinners.
    child.terminate(Duration::from_secs(5)).unwrap();
    let ru = child.resource_usage().unwrap();
    assert_eq!(ru.cpu_source, UsageSource::Cgroup, "{ru:?}");
    assert!(
        ru.user_time + ru.system_time >= Duration::from_millis(300),
        "the spinners' CPU is counted: {ru:?}"
    );
}
