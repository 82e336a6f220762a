//! The trailing program of every subcommand that runs one (`run`, `pool`, ...):
//! one clap definition, so they all parse it the same way.
//!
//! Options come first and must be conductor's: `-j4`, `-j 4`, `--timeout=2s`
//! and `--timeout 2s` all parse, and an unknown option is a usage error. The
//! first argument that is not an option (or everything after `--`) starts the
//! program, and every argument from there on is the program's, even those that
//! look like conductor's options: `conductor run sh -c 'exit 3'`,
//! `conductor run -- ls -la`, `conductor pool -j 2 sed -u p`.

use clap::Args;
use std::ffi::{OsStr, OsString};
use std::ops::Deref;

/// The program and its arguments, flattened into a subcommand's options with
/// `#[command(flatten)]`.
#[derive(Args, Debug, Clone)]
pub struct Program {
    /// The program and its arguments. Every argument from the first that is
    /// not one of conductor's options belongs to the program (`--` before it
    /// is optional).
    // `trailing_var_arg` without `allow_hyphen_values`: an argument starting
    // with `-` before the program is parsed as an option (and rejected when
    // unknown); once the program has started, everything is its argument.
    #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
    argv: Vec<OsString>,
}

impl Program {
    /// The program name and its arguments.
    pub fn split(&self) -> (&OsStr, &[OsString]) {
        let (program, rest) = self.argv.split_first().expect("clap requires PROGRAM");
        (program, rest)
    }
}

/// The program followed by its arguments, as a slice (never empty).
impl Deref for Program {
    type Target = [OsString];

    fn deref(&self) -> &[OsString] {
        &self.argv
    }
}
