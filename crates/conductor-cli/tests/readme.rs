//! The README's examples run as written. The rule, stated at the top of the
//! README's CLI section: in every fenced ```` ```console ```` block, each line
//! that starts with `$ ` is a command; it is run with `sh -c` from the
//! repository root, with the `conductor` just built first on `PATH` and stdin
//! from /dev/null, and must exit 0 within two minutes. A leading
//! `cargo run --release -p conductor-cli --` is run as `conductor` (a nested
//! cargo would wait for the lock this test's cargo holds). Other lines
//! (output) are not checked.

use conductor::blocking::Command;
use conductor::{Containment, Stdio};
use std::path::Path;
use std::time::Duration;

#[path = "../../conductor/tests/common/skip.rs"]
mod skip;

/// What the README may write instead of `conductor`.
const CARGO_RUN: &str = "cargo run --release -p conductor-cli --";

/// The `$ ` lines of every ```console block, in order.
fn commands(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_console = false;
    for line in readme.lines() {
        let t = line.trim_start();
        if let Some(info) = t.strip_prefix("```") {
            in_console = !in_console && info.trim() == "console";
        } else if in_console {
            if let Some(cmd) = t.strip_prefix("$ ") {
                let cmd = match cmd.strip_prefix(CARGO_RUN) {
                    Some(rest) => format!("conductor{rest}"),
                    None => cmd.to_string(),
                };
                out.push(cmd);
            }
        }
    }
    out
}

#[test]
fn the_extraction_rule_finds_console_commands_only() {
    let text = "```sh\n$ no\n```\n```console\n$ one\noutput\n  $ two\n```\n```\n$ no\n```\n\
                ```console\n$ cargo run --release -p conductor-cli -- pool -j 2 -- cat\n```\n";
    assert_eq!(commands(text), ["one", "two", "conductor pool -j 2 -- cat"]);
}

#[test]
fn every_readme_example_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cmds = commands(&readme);
    assert!(
        cmds.len() >= 3,
        "the README's console examples were not found"
    );
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_conductor")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for cmd in cmds {
        if cmd.contains("python3") && !python {
            skip::skipped(format!("no python3 for: {cmd}"));
            continue;
        }
        let out = Command::new("sh")
            .args(["-c", &cmd])
            .current_dir(&root)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .containment(Containment::ProcessGroup)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap_or_else(|e| panic!("README example `{cmd}`: {e}"));
        assert!(
            out.status.success(),
            "README example `{cmd}` failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
