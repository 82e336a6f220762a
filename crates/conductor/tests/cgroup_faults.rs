//! cgroup containment under descriptor exhaustion (Linux, root): a lookup of
//! the cgroup mount that failed for a passing reason is tried again; an
//! error at clone is labelled by its cause; a failed spawn leaves no cgroup
//! directory behind; a contained child holds one descriptor (its pidfd).
//!
//! One test, in its own binary: it starves this process of descriptors, and
//! the first cgroup lookup of the process must be the starved one.
#![cfg(target_os = "linux")]

mod common;

use conductor::blocking::Command;
use conductor::{Containment, Operation};
use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use std::fs::File;
use std::path::PathBuf;

/// Opens /dev/null until EMFILE, then closes `free` of them again.
fn starve(free: usize) -> Vec<File> {
    let mut held = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
            Err(e) => panic!("open /dev/null: {e}"),
        }
    }
    for _ in 0..free {
        held.pop();
    }
    held
}

/// The cgroup2 mount's directory for this process, if cgroup2 is mounted.
fn own_v2_dir() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        post.starts_with("cgroup2 ")
            .then(|| pre.split(' ').nth(4).map(str::to_string))?
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(PathBuf::from(format!("{mount}{rel}")))
}

/// This process's conductor cgroups (v2 and the v1 memory hierarchy) still on disk.
fn leftovers() -> Vec<String> {
    let prefix = format!("conductor-{}-", std::process::id());
    let mut dirs = vec![own_v2_dir().unwrap()];
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    if let Some(mem) = own.lines().find_map(|l| l.split_once(":memory:")) {
        dirs.push(PathBuf::from(format!("/sys/fs/cgroup/memory{}", mem.1)));
    }
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn cgroup_containment_survives_descriptor_exhaustion() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || own_v2_dir().is_none() {
        common::skipped("cgroup faults: needs root and a cgroup2 mount");
        return;
    }
    let (soft, hard) = {
        let r = getrlimit(Resource::Nofile);
        (r.current, r.maximum)
    };
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(256),
            maximum: hard,
        },
    )
    .unwrap();

    // 1. The first lookup of the cgroup mount meets EMFILE.
    let held = starve(0);
    let err = Command::new("true")
        .containment(Containment::Cgroup)
        .status()
        .unwrap_err();
    drop(held);
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
    assert_eq!(err.operation(), Operation::Spawn, "{err}");
    assert!(!err.to_string().contains("cannot contain"), "{err}");
    // ...which is not remembered: with descriptors free again, containment works.
    let mut child = match Command::new("true")
        .containment(Containment::Cgroup)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !e.to_string().contains("Too many open files"),
                "a passing EMFILE disabled containment for good: {e}"
            );
            common::skipped(format!(
                "cgroup faults: cgroup containment unavailable: {e}"
            ));
            return;
        }
    };
    assert!(child.cgroup_path().is_some());
    child.wait().unwrap();
    drop(child);
    let mut best = Command::new("true")
        .containment(Containment::BestAvailable)
        .spawn()
        .unwrap();
    assert!(
        best.cgroup_path().is_some(),
        "BestAvailable uses a cgroup again"
    );
    best.wait().unwrap();
    drop(best);

    // 2. EMFILE at any step of a contained spawn is labelled by its cause.
    for free in 0..8 {
        let held = starve(free);
        let res = Command::new("true")
            .containment(Containment::Cgroup)
            .spawn()
            .and_then(|mut c| c.wait());
        drop(held);
        if let Err(e) = res {
            if e.raw_os_error() == Some(libc::EMFILE) {
                assert_ne!(
                    e.operation(),
                    Operation::Containment,
                    "{free} free: EMFILE is not a containment failure: {e}"
                );
                assert!(!e.to_string().contains("cannot contain"), "{e}");
            }
        }
    }

    // 3. Failed spawns (exec failure, and the EMFILE ones above) leave no cgroup behind.
    for _ in 0..3 {
        let err = Command::new("/no/such/program")
            .containment(Containment::Cgroup)
            .spawn()
            .unwrap_err();
        assert_eq!(err.operation(), Operation::Exec, "{err}");
    }
    assert!(
        common::eventually(std::time::Duration::from_secs(10), || leftovers()
            .is_empty()),
        "cgroups left behind: {:?}",
        leftovers()
    );

    // 4. A contained running child holds one descriptor: its pidfd.
    let before = open_fds();
    let mut child = Command::new("sleep")
        .arg("300")
        .containment(Containment::Cgroup)
        .spawn()
        .unwrap();
    let during = open_fds();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(during - before, 1, "descriptors held by a contained child");

    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: soft,
            maximum: hard,
        },
    )
    .unwrap();
}
