//! `conductor run --rusage`: what its figures cover is printed beside them,
//! and after a timeout the CPU of the whole stopped tree is counted where a
//! cgroup holds it. Checks that need a cgroup print a `SKIPPED:` line without one.
#![cfg(target_os = "linux")]

use std::process::Command;

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_conductor"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (user + system seconds) from the `--rusage` line.
fn cpu_seconds(err: &str) -> f64 {
    let line = err
        .lines()
        .find(|l| l.contains("max-rss"))
        .unwrap_or_else(|| panic!("no --rusage line in {err}"));
    let field = |name: &str| -> f64 {
        let rest = &line[line.find(name).unwrap() + name.len()..];
        rest.trim_start()
            .split('s')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    field("user ") + field("system ")
}

#[test]
fn rusage_says_when_its_peak_is_an_upper_bound() {
    let (code, err) = run(&["run", "--rusage", "--containment", "none", "--", "true"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("upper bound") && err.contains("rusage"),
        "without a cgroup the peak is labelled an upper bound: {err}"
    );
    let (code, err) = run(&["run", "--rusage", "--containment", "cgroup", "--", "true"]);
    if code == 125 {
        skip::skipped(format!("--rusage from a cgroup: {err}"));
        return;
    }
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("cpu: whole tree (cgroup)"), "{err}");
    if err.contains("the tree's peak (cgroup)") {
        return;
    }
    skip::skipped(format!(
        "--rusage peak from a cgroup: no memory controller ({err})"
    ));
}

#[test]
fn rusage_after_a_timeout_counts_the_stopped_tree() {
    // sh dies of the SIGTERM at once and never waits for its two spinners, so
    // only the cgroup knows what they used.
    let spin = "while :; do :; done";
    let script = format!("sh -c '{spin}' & sh -c '{spin}' & wait");
    let (code, err) = run(&[
        "run",
        "--rusage",
        "--containment",
        "cgroup",
        "--timeout",
        "3s",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    if code == 125 {
        skip::skipped(format!("--rusage after a timeout from a cgroup: {err}"));
        return;
    }
    assert_eq!(code, 124, "{err}");
    assert!(err.contains("cpu: whole tree (cgroup)"), "{err}");
    // Two spinners for 3 s: even on a loaded 2-core machine well above 0.3 s.
    assert!(cpu_seconds(&err) >= 0.3, "{err}");
}
