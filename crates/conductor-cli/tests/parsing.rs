//! How every subcommand splits its command line: conductor's options first
//! (attached values, `--opt=value`, unknown options as one-line usage errors
//! with exit 125), then the program, which owns everything from there on,
//! with or without `--`.
#![cfg(target_os = "linux")]

mod cli_support;

use cli_support::{run_with_input, text};
use std::time::Duration;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn conductor(args: &[&str], input: &str) -> Out {
    let out = run_with_input(args, input.as_bytes(), Duration::from_secs(60));
    Out {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
    }
}

/// A usage error: exit 125 and exactly one line on stderr that names `culprit`.
fn assert_usage_error(args: &[&str], culprit: &str) {
    let out = conductor(args, "");
    assert_eq!(out.code, Some(125), "{args:?}: {}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    assert!(
        out.stderr.starts_with("conductor: ") && out.stderr.contains(culprit),
        "{args:?}: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
}

#[test]
fn attached_short_values_and_equals_forms_are_options() {
    let out = conductor(&["pool", "-j4", "--", "cat"], "a\nb\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "a\nb\n");
    let out = conductor(&["pool", "-j1", "--retries=0", "cat"], "c\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "c\n");
    let out = conductor(&["run", "--timeout=30s", "--containment=group", "true"], "");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
}

#[test]
fn unknown_options_before_the_program_are_one_line_usage_errors() {
    assert_usage_error(&["pool", "--bogus", "--", "cat"], "'--bogus'");
    assert_usage_error(&["run", "-v", "--", "true"], "'-v'");
    assert_usage_error(&["run", "--bogus=1", "true"], "--bogus");
    assert_usage_error(&["run", "--containment", "bad", "--", "true"], "bad");
    assert_usage_error(&["run", "--timeout", "soon", "--", "true"], "soon");
    assert_usage_error(&["run"], "PROGRAM");
    assert_usage_error(&["run", "--timeout", "1s"], "PROGRAM");
    assert_usage_error(&["frob"], "frob");
}

#[test]
fn everything_from_the_program_on_belongs_to_it() {
    // Without `--`: options after the program are the program's.
    let out = conductor(&["run", "sh", "-c", "exit 3"], "");
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    let out = conductor(
        &[
            "run",
            "sh",
            "-c",
            "echo \"$@\"",
            "sh",
            "-v",
            "--timeout",
            "1s",
        ],
        "",
    );
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "-v --timeout 1s\n");
    // With `--`, even a program named like an option.
    let out = conductor(&["run", "--", "sh", "-c", "echo \"$@\"", "sh", "-la"], "");
    assert_eq!(out.stdout, "-la\n", "{}", out.stderr);
    let out = conductor(&["run", "--", "-v"], "");
    assert_eq!(out.code, Some(127), "{}", out.stderr);
    assert!(out.stderr.contains("-v"), "{}", out.stderr);
    // pool: the worker's own options.
    let out = conductor(&["pool", "-j", "2", "sed", "-u", "s/$/!/"], "1\n2\n3\n");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "1!\n2!\n3!\n");
}

#[test]
fn help_and_version_still_print_on_stdout() {
    for args in [&["run", "--help"][..], &["pool", "-h"], &["--version"]] {
        let out = conductor(args, "");
        assert_eq!(out.code, Some(0), "{args:?}: {}", out.stderr);
        assert!(out.stdout.contains("conductor"), "{args:?}: {}", out.stdout);
    }
}
