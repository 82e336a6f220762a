//! Child-subreaper mode (its own test binary: the mode is process-wide).
#![cfg(target_os = "linux")]

mod common;
use common::*;
use conductor::blocking::Command;
use conductor::{Containment, Stdio};
use std::io::{BufRead, BufReader};
use std::time::Duration;

#[test]
fn orphaned_grandchildren_are_reaped() {
    conductor::unix::set_child_subreaper(true).unwrap();
    let mut child = Command::new("sh")
        .args(["-c", "(sleep 0.2 & echo $!)"])
        .stdout(Stdio::piped())
        .containment(Containment::ProcessGroup)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let grandchild: u32 = line.trim().parse().unwrap();
    assert!(child.wait().unwrap().success());
    // The orphaned sleep was re-parented to us ...
    assert!(eventually(
        Duration::from_secs(5),
        || matches!(proc_state(grandchild), Some((_, p)) if p == std::process::id())
            || proc_state(grandchild).is_none()
    ));
    // ... and is reaped by conductor when it exits, leaving no zombie.
    assert!(
        eventually(Duration::from_secs(10), || proc_state(grandchild).is_none()),
        "{:?}",
        proc_state(grandchild)
    );
    assert!(zombie_children().is_empty());
}
