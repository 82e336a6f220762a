//! 1 GiB through a three-stage pipeline: conductor's `Pipeline` against a
//! shell running the same pipeline, same run, medians and ratio printed.
//!
//! `cargo bench -p conductor --bench pipeline` (`--quick`: 256 MiB, 3 rounds).
//!
//! The pipeline is `head -c N /dev/zero | cat | wc -c`: the bytes cross two
//! pipes, so the time is the pipes' (and the programs') speed; what is
//! measured is whether conductor's wiring adds anything to it (both sides
//! spawn three programs; conductor's `output()` also captures the last
//! stage's few bytes, as the shell's caller does).

use conductor::blocking::{Command, Pipeline};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn stage(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

fn conductor_run(bytes: u64) -> f64 {
    let n = bytes.to_string();
    let started = Instant::now();
    let out = Pipeline::new([
        stage("head", &["-c", &n, "/dev/zero"]),
        stage("cat", &[]),
        stage("wc", &["-c"]),
    ])
    .output()
    .expect("pipeline runs");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), n);
    secs
}

fn shell_run(bytes: u64) -> f64 {
    let script = format!("head -c {bytes} /dev/zero | cat | wc -c");
    let started = Instant::now();
    let out = stage("sh", &["-c", &script]).output().expect("sh runs");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        bytes.to_string()
    );
    secs
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (bytes, rounds) = if quick {
        (256u64 << 20, 3)
    } else {
        (1u64 << 30, 7)
    };
    let (mut ours, mut shell) = (Vec::new(), Vec::new());
    // Interleaved, so load changes hit both sides alike.
    for _ in 0..rounds {
        ours.push(conductor_run(bytes));
        shell.push(shell_run(bytes));
    }
    let (o, s) = (median(ours), median(shell));
    let gib = bytes as f64 / (1u64 << 30) as f64;
    println!(
        "pipeline {} MiB, head | cat | wc -c, median of {rounds}:",
        bytes >> 20
    );
    println!("  conductor Pipeline: {:.3} s ({:.2} GiB/s)", o, gib / o);
    println!("  sh -c 'a | b | c':  {:.3} s ({:.2} GiB/s)", s, gib / s);
    println!("  ratio conductor/sh: {:.3}", o / s);
}
