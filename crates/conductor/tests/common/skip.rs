//! Saying that a test skipped a check it cannot make here (not root, no
//! cgroup, old kernel, no python3), so that a passing run still shows it:
//! libtest hides a passing test's stderr, so besides the `SKIPPED:` line on
//! stderr, one line goes to the file named by `$CONDUCTOR_SKIP_LOG`, which
//! `.ci/run` lists at the end of its run.
//!
//! Shared by both crates' integration tests (the CLI's include it by path).

use std::fmt::Display;
use std::io::Write;

/// Records that the calling test skipped a check, and why.
pub fn skipped(why: impl Display) {
    let binary = std::env::args()
        .next()
        .and_then(|a| {
            let stem = std::path::Path::new(&a)
                .file_stem()?
                .to_string_lossy()
                .into_owned();
            // Test binaries are named `<target>-<hash>`.
            Some(
                stem.rsplit_once('-')
                    .map_or(stem.clone(), |(t, _)| t.to_string()),
            )
        })
        .unwrap_or_default();
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let line = format!("SKIPPED: {binary}::{test}: {why}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("CONDUCTOR_SKIP_LOG") {
        // O_APPEND: one short write per line, so parallel tests don't interleave.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}
