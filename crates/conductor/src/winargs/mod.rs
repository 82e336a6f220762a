//! Windows command lines: quoting, parsing, batch files and program lookup.
//!
//! Windows gives a new process one command-line *string*, not an argument
//! array; every program splits it itself. This module owns turning
//! `program + args` into that string so that the child gets back exactly the
//! list it was given, and the related decisions a Windows spawn backend must
//! make before calling `CreateProcessW`. It is platform-neutral, works on
//! UTF-16 (`&[u16]`, lossless for any Windows `OsStr`), offers `OsStr`/`&str`
//! conveniences, and is compiled and tested on every OS. It does not spawn
//! anything and contains no `unsafe`.
//!
//! | need | function |
//! | --- | --- |
//! | command line for an `.exe` | [`build_command_line`], [`quote_arg`] |
//! | is the resolved program a `.bat`/`.cmd`? | [`is_batch_file`] |
//! | command line for a batch file, through cmd.exe | [`build_batch_command_line`] |
//! | find `npm` → `C:\…\npm.cmd` on the child's PATH/PATHEXT | [`resolve_program`] |
//! | how the child will split a line (tests, diagnostics) | [`parse_msvcrt`], [`parse_command_line_to_argv_w`] |
//!
//! Each `*_wide` function is the UTF-16 core of the function without the
//! suffix.
//!
//! # How a backend uses it
//!
//! 1. Resolve the program with [`resolve_program`] against the child's
//!    environment (not the parent's), or take the caller's explicit path.
//! 2. If [`is_batch_file`] says so, launch the system cmd.exe (full path as
//!    `lpApplicationName`) with [`build_batch_command_line`]; otherwise launch
//!    the resolved path with [`build_command_line`].
//! 3. Map any [`CommandLineError`] to `io::ErrorKind::InvalidInput` (there is
//!    a `From` impl); never launch a partially built line.
//!
//! # Bypassing the quoting (raw arguments)
//!
//! Some programs (cmd.exe itself, `msiexec`, old Cygwin tools) parse their
//! command line by their own rules, so no quoting can be right for them.
//! conductor's Windows backend offers `conductor::windows::CommandExt::raw_arg`
//! for them, an escape hatch like std's
//! `std::os::windows::process::CommandExt::raw_arg`: a raw argument is
//! appended to the line after a single space exactly as given, with no
//! quoting or escaping, in its place among the quoted arguments.
//! This module deliberately has no function for it, because there is
//! nothing to compute: the caller takes full responsibility for the text,
//! and the backend should still refuse NUL. Raw arguments must never be used
//! with batch files, since they reopen the injection that
//! [`build_batch_command_line`] closes.
//!
//! # Batch files (BatBadBut)
//!
//! `CreateProcessW` runs a batch file by handing the command line to cmd.exe,
//! which does not use the C runtime's rules: it expands `%VAR%` everywhere,
//! treats `& | < > ( ) ^` as syntax outside quotes, and toggles its quote state
//! on *every* `"`, backslash or not. So an argument quoted for the C runtime
//! (`\"`) can close cmd's quotes and inject commands.
//! [`build_batch_command_line`]:
//!
//! - runs `cmd.exe /e:ON /v:OFF /d /c ""<script>" <args>"`: `/d` skips AutoRun
//!   commands, `/v:OFF` disables `!VAR!` expansion, `/e:ON` enables the
//!   extensions the `%` defence needs; `/c` strips the outer pair of quotes;
//! - leaves an argument bare only if it is made of ASCII letters, digits and
//!   `#$*+-./:?@\_` (and does not end with `\`), and otherwise wraps it in
//!   quotes, where cmd.exe treats `& | < > ( ) ^ ! , ; =` and whitespace as
//!   plain text;
//! - writes an embedded `"` as `""`, which toggles cmd's quote state twice
//!   (so the rest stays quoted) and which the C runtime reads as one literal
//!   quote; backslashes before a `"` or before the closing quote are doubled,
//!   again as the C runtime expects;
//! - writes `%` as `%%cd:~,%`: percent expansion sees a lone `%` followed by
//!   `%cd:~,%`, an empty substring of the always-defined `CD` variable, so no
//!   `%NAME%` in the argument can ever form a variable reference;
//! - quotes the script path the same way (`%` included), and refuses a path
//!   containing `"` or ending with `\`;
//! - refuses CR and LF (cmd.exe ends the command at a line break) and NUL.
//!
//! The script then sees each argument as `%1`, `%2`, … in the quoted form
//! above: `%~1` is the argument itself unless it contains `"` (shown doubled)
//! or ends with `\` (trailing backslashes doubled). `%*`, or `"%~1"`, passed
//! on to a program that splits its command line with the C runtime's rules
//! gives that program exactly the original arguments (this is how `npm.cmd`
//! style wrappers are used). A program using `CommandLineToArgvW`'s older
//! `""` rule can split an argument holding both `"` and whitespace.
//!
//! This protects the command line up to the script. What the script does with
//! its arguments is its own business: a script that uses `%~1` unquoted,
//! passes arguments through `call` (which parses them again), or enables
//! delayed expansion re-exposes them to cmd.exe's syntax.
//!
//! # Parsing rules in short
//!
//! - Arguments: space/tab separate; `2n` backslashes + `"` → `n` backslashes
//!   and a toggle of quoting; `2n+1` backslashes + `"` → `n` backslashes and
//!   a literal `"`; other backslashes literal. Inside quotes the C runtime
//!   (since 2008) reads `""` as a literal quote; `CommandLineToArgvW` reads it
//!   as a literal quote that also ends quoting. The builder never emits `""`
//!   inside quotes, so both agree on its output.
//! - argv\[0\] has no escapes at all, so a program path may not contain `"`.
//!
//! ```
//! use conductor::winargs::{build_command_line, parse_msvcrt};
//!
//! let args = ["a b", "", r#"\"quoted\"\"#];
//! let line = String::from_utf16(&build_command_line("tool.exe", args).unwrap()).unwrap();
//! assert_eq!(parse_msvcrt(&line)[1..], args);
//! ```

#![forbid(unsafe_code)]

mod batch;
mod error;
mod parse;
mod quote;
mod resolve;
mod wide;

#[cfg(test)]
mod proptests;

pub use batch::{
    build_batch_command_line, build_batch_command_line_wide, is_batch_file, is_batch_file_wide,
    BATCH_CMD_SWITCHES,
};
pub use error::{CommandLineError, Item};
pub use parse::{
    parse_command_line_to_argv_w, parse_command_line_to_argv_w_wide, parse_msvcrt,
    parse_msvcrt_wide,
};
pub use quote::{build_command_line, build_command_line_wide, quote_arg, quote_arg_wide};
pub use resolve::{resolve_program, resolve_program_wide, DEFAULT_PATHEXT};
pub use wide::{from_wide, to_wide};
