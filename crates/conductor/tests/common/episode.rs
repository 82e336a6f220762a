//! A worker start-up episode, shared by the pool tests of both crates (the
//! CLI's include this file by path): while a flag file exists, every worker
//! fails its start; removing it ends the episode.

use std::path::{Path, PathBuf};

/// In `dir`: the flag file `broken` (created: the episode is on), the file
/// `starts` (one line per worker start) and the `sh -c` script of a line
/// worker that records its start, exits 1 while the flag exists, and else
/// runs `cat`. Returns `(flag, starts, script)`.
pub fn start_up_episode(dir: &Path) -> (PathBuf, PathBuf, String) {
    let (flag, starts) = (dir.join("broken"), dir.join("starts"));
    std::fs::write(&flag, b"").unwrap();
    let script = format!(
        "echo x >> {}; if [ -e {} ]; then exit 1; fi; exec cat",
        starts.display(),
        flag.display()
    );
    (flag, starts, script)
}
