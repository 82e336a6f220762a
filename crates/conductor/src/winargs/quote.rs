//! Building a command line that the C runtime and `CommandLineToArgvW` split
//! back into exactly the original argument list.

use std::ffi::OsStr;

use super::error::{preview, CommandLineError, Item};
use super::wide::{to_wide_args, to_wide_item, w};

const QUOTE: u16 = w('"');
const BACKSLASH: u16 = w('\\');
const SPACE: u16 = w(' ');

/// True for code units that make an argument need surrounding quotes.
///
/// Both parsers split only on space and tab; the other ASCII whitespace is
/// quoted too, which costs nothing and protects callees with looser splitters.
fn needs_quotes(unit: u16) -> bool {
    matches!(unit, 0x20 | 0x09 | 0x0a | 0x0b | 0x0c | 0x0d)
}

fn check_nul(units: &[u16], item: Item) -> Result<(), CommandLineError> {
    if units.contains(&0) {
        return Err(CommandLineError::Nul {
            item,
            preview: preview(units),
        });
    }
    Ok(())
}

/// Appends `arg`, quoted and escaped, to `out`.
pub(crate) fn append_arg(
    out: &mut Vec<u16>,
    arg: &[u16],
    item: Item,
) -> Result<(), CommandLineError> {
    check_nul(arg, item)?;
    let quote = arg.is_empty() || arg.iter().copied().any(needs_quotes);
    if quote {
        out.push(QUOTE);
    }
    let mut backslashes = 0usize;
    for &unit in arg {
        match unit {
            BACKSLASH => backslashes += 1,
            QUOTE => {
                // n backslashes before a literal quote become 2n+1: the parser
                // halves them and the odd one escapes the quote.
                out.extend(std::iter::repeat_n(BACKSLASH, backslashes + 1));
                backslashes = 0;
            }
            _ => backslashes = 0,
        }
        out.push(unit);
    }
    if quote {
        // Trailing backslashes precede our closing quote: double them so the
        // parser halves them back instead of escaping the quote.
        out.extend(std::iter::repeat_n(BACKSLASH, backslashes));
        out.push(QUOTE);
    }
    Ok(())
}

/// Appends the program (argv\[0\]) to `out`.
///
/// argv\[0\] has no escapes in either parser: the C runtime toggles quoting on
/// every `"`, `CommandLineToArgvW` ends a quoted name at the next `"`. Both
/// agree on a name without `"`, wrapped whole in quotes when it holds
/// whitespace or is empty.
pub(crate) fn append_program(out: &mut Vec<u16>, program: &[u16]) -> Result<(), CommandLineError> {
    check_nul(program, Item::Program)?;
    if program.contains(&QUOTE) {
        return Err(CommandLineError::QuoteInProgram {
            preview: preview(program),
        });
    }
    let quote = program.is_empty() || program.iter().copied().any(needs_quotes);
    if quote {
        out.push(QUOTE);
    }
    out.extend_from_slice(program);
    if quote {
        out.push(QUOTE);
    }
    Ok(())
}

/// Quotes one argument (UTF-16 in, UTF-16 out) for a Windows command line.
///
/// The result is left unchanged when it holds no whitespace and no `"`
/// (non-ASCII included); otherwise it is wrapped in quotes as needed, every
/// `"` becomes `\"` with the backslashes before it doubled, and backslashes
/// before the closing quote are doubled. The empty argument becomes `""`.
///
/// # Errors
///
/// [`CommandLineError::Nul`] (reported as `args[0]`) if `arg` contains NUL.
///
/// ```
/// use conductor::winargs::quote_arg_wide;
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// assert_eq!(quote_arg_wide(&wide(r"a b\")).unwrap(), wide(r#""a b\\""#));
/// assert_eq!(quote_arg_wide(&wide("")).unwrap(), wide(r#""""#));
/// ```
pub fn quote_arg_wide(arg: &[u16]) -> Result<Vec<u16>, CommandLineError> {
    let mut out = Vec::with_capacity(arg.len() + 2);
    append_arg(&mut out, arg, Item::Arg(0))?;
    Ok(out)
}

/// Quotes one argument for a Windows command line; see [`quote_arg_wide`].
///
/// Accepts anything `AsRef<OsStr>`, so `&str` works on every host.
///
/// # Errors
///
/// [`CommandLineError::Nul`] for a NUL, [`CommandLineError::NotUnicode`] for a
/// non-Unicode `OsStr` on a non-Windows host (both reported as `args[0]`).
///
/// ```
/// use conductor::winargs::quote_arg;
///
/// let q = |s: &str| String::from_utf16(&quote_arg(s).unwrap()).unwrap();
/// assert_eq!(q("plain"), "plain");
/// assert_eq!(q("two words"), r#""two words""#);
/// assert_eq!(q(r#"say "hi""#), r#""say \"hi\"""#);
/// assert_eq!(q(r#"C:\dir\"#), r#"C:\dir\"#);
/// assert_eq!(q(r#"C:\my dir\"#), r#""C:\my dir\\""#);
/// ```
pub fn quote_arg(arg: impl AsRef<OsStr>) -> Result<Vec<u16>, CommandLineError> {
    quote_arg_wide(&to_wide_item(arg.as_ref(), Item::Arg(0))?)
}

/// Builds a full command line (UTF-16, without a terminating NUL) from a
/// program and its arguments; see [`build_command_line`].
///
/// # Errors
///
/// As [`build_command_line`], except that there is no `NotUnicode` case.
///
/// ```
/// use conductor::winargs::{build_command_line_wide, parse_msvcrt_wide};
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// let args = [wide("a\"b"), wide("")];
/// let line = build_command_line_wide(&wide("app.exe"), &args).unwrap();
/// assert_eq!(line, wide(r#"app.exe a\"b """#));
/// assert_eq!(parse_msvcrt_wide(&line), vec![wide("app.exe"), wide("a\"b"), wide("")]);
/// ```
pub fn build_command_line_wide<I, A>(program: &[u16], args: I) -> Result<Vec<u16>, CommandLineError>
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u16]>,
{
    join(program, args.into_iter().map(Ok))
}

/// Builds the command line for `CreateProcessW` from a program and its
/// arguments, returned as UTF-16 without a terminating NUL.
///
/// Both the Microsoft C runtime (msvcrt/ucrt, 2008 and later rules) and
/// `CommandLineToArgvW` split the result back into exactly
/// `[program, args...]`. The program follows argv\[0\] rules: it is quoted
/// when it is empty or holds whitespace, and may not contain `"`.
///
/// This is **not** the right builder for `.bat`/`.cmd` files, which cmd.exe
/// parses by other rules: use [`build_batch_command_line`](super::build_batch_command_line).
///
/// # Errors
///
/// - [`CommandLineError::Nul`] naming the program or `args[i]` holding NUL;
/// - [`CommandLineError::QuoteInProgram`] if the program contains `"`;
/// - [`CommandLineError::NotUnicode`] (non-Windows hosts only) for an `OsStr`
///   that is not valid Unicode.
///
/// ```
/// use conductor::winargs::{build_command_line, parse_command_line_to_argv_w, parse_msvcrt};
///
/// let args = ["", "a b", r"C:\x\", "say \"hi\"", "100%"];
/// let line = build_command_line(r"C:\Program Files\app.exe", args).unwrap();
/// let line = String::from_utf16(&line).unwrap();
/// assert_eq!(line, r#""C:\Program Files\app.exe" "" "a b" C:\x\ "say \"hi\"" 100%"#);
///
/// let mut expected = vec![r"C:\Program Files\app.exe".to_string()];
/// expected.extend(args.iter().map(|s| s.to_string()));
/// assert_eq!(parse_msvcrt(&line), expected);
/// assert_eq!(parse_command_line_to_argv_w(&line), expected);
/// ```
pub fn build_command_line<P, I, S>(program: P, args: I) -> Result<Vec<u16>, CommandLineError>
where
    P: AsRef<OsStr>,
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = to_wide_item(program.as_ref(), Item::Program)?;
    join(&program, to_wide_args(args))
}

/// The command line of `program` and `args`, each argument taken (and,
/// for the `OsStr` builder, converted) only after the previous one was
/// appended, so the first failing item is the one reported.
fn join<A: AsRef<[u16]>>(
    program: &[u16],
    args: impl Iterator<Item = Result<A, CommandLineError>>,
) -> Result<Vec<u16>, CommandLineError> {
    let mut out = Vec::with_capacity(program.len() + 2);
    append_program(&mut out, program)?;
    for (i, arg) in args.enumerate() {
        let arg = arg?;
        out.push(SPACE);
        append_arg(&mut out, arg.as_ref(), Item::Arg(i))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        String::from_utf16(&quote_arg(s).unwrap()).unwrap()
    }

    #[test]
    fn quoting_table() {
        let cases: &[(&str, &str)] = &[
            ("abc", "abc"),
            ("", r#""""#),
            (" ", r#"" ""#),
            ("\t", "\"\t\""),
            ("a b", r#""a b""#),
            (r#"""#, r#"\""#),
            (r#"a\"b"#, r#"a\\\"b"#),
            (r#"a\\"b"#, r#"a\\\\\"b"#),
            (r"a\b", r"a\b"),
            (r"a\", r"a\"),
            (r"a b\", r#""a b\\""#),
            (r"a b\\", r#""a b\\\\""#),
            (r#"a b\""#, r#""a b\\\"""#),
            ("%PATH% ^&|<>()!", r#""%PATH% ^&|<>()!""#),
            ("héllo wörld ✓", "\"héllo wörld ✓\""),
            ("line\nbreak", "\"line\nbreak\""),
        ];
        for (input, want) in cases {
            assert_eq!(q(input), *want, "input {input:?}");
        }
    }

    #[test]
    fn program_rules() {
        let line =
            |p: &str| String::from_utf16(&build_command_line(p, [] as [&str; 0]).unwrap()).unwrap();
        assert_eq!(line("app.exe"), "app.exe");
        assert_eq!(line(""), r#""""#);
        assert_eq!(line(r"C:\a b\app.exe"), r#""C:\a b\app.exe""#);
        // No escaping in argv[0]: a trailing backslash stays single.
        assert_eq!(line(r"C:\a b\"), r#""C:\a b\""#);
        let err = build_command_line("a\"b", ["x"]).unwrap_err();
        assert!(matches!(err, CommandLineError::QuoteInProgram { .. }));
        assert!(err.to_string().contains("double quote"), "{err}");
    }

    #[test]
    fn nul_is_rejected_and_named() {
        let err = build_command_line("app", ["a", "b", "c\0d"]).unwrap_err();
        assert_eq!(err.item(), Item::Arg(2));
        let msg = err.to_string();
        assert!(
            msg.contains("args[2]") && msg.contains("NUL") && msg.contains("c\\0d"),
            "{msg}"
        );
        let err = build_command_line("ap\0p", ["a"]).unwrap_err();
        assert_eq!(err.item(), Item::Program);
        assert!(
            err.to_string().starts_with("program contains a NUL"),
            "{err}"
        );
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
    }

    #[test]
    fn long_values_are_previewed_short() {
        let long = "x".repeat(500) + "\0";
        let err = quote_arg(&long).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
        assert!(err.to_string().contains('…'));
    }

    #[cfg(unix)]
    #[test]
    fn non_unicode_os_str_is_rejected_on_unix() {
        use std::os::unix::ffi::OsStrExt;
        let bad = OsStr::from_bytes(b"\xff");
        let err = build_command_line("app", [bad]).unwrap_err();
        assert_eq!(err, CommandLineError::NotUnicode { item: Item::Arg(0) });
    }
}
