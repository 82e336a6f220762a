//! Running `.bat`/`.cmd` scripts through cmd.exe without argument injection
//! (CVE-2024-24576, "BatBadBut").
//!
//! See the "Batch files" section of the [module documentation](super) for
//! the rules implemented here.

use std::ffi::OsStr;

use super::error::{preview, CommandLineError, Item};
use super::wide::{to_wide_args, to_wide_item, w};

const QUOTE: u16 = w('"');
const BACKSLASH: u16 = w('\\');
const PERCENT: u16 = w('%');

/// The cmd.exe switches used by [`build_batch_command_line`], in order.
///
/// ```
/// assert_eq!(conductor::winargs::BATCH_CMD_SWITCHES, "/e:ON /v:OFF /d /c");
/// ```
pub const BATCH_CMD_SWITCHES: &str = "/e:ON /v:OFF /d /c";

/// ASCII characters that never need quotes for cmd.exe, besides letters and digits.
const BARE_OK: &str = r"#$*+-./:?@\_";

fn is_bare_ok(unit: u16) -> bool {
    u8::try_from(unit).is_ok_and(|b| b.is_ascii_alphanumeric() || BARE_OK.as_bytes().contains(&b))
}

/// Lower-cases an ASCII code unit, leaving everything else alone.
fn ascii_lower(unit: u16) -> u16 {
    match u8::try_from(unit) {
        Ok(b) => u16::from(b.to_ascii_lowercase()),
        Err(_) => unit,
    }
}

fn ends_with_ignore_ascii_case(units: &[u16], suffix: &str) -> bool {
    let suffix: Vec<u16> = suffix.encode_utf16().collect();
    units.len() >= suffix.len()
        && units[units.len() - suffix.len()..]
            .iter()
            .zip(&suffix)
            .all(|(&a, &b)| ascii_lower(a) == b)
}

/// Whether a resolved program path names a batch script, on UTF-16 input;
/// see [`is_batch_file`].
///
/// ```
/// use conductor::winargs::is_batch_file_wide;
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// assert!(is_batch_file_wide(&wide(r"C:\tools\npm.CMD")));
/// assert!(!is_batch_file_wide(&wide(r"C:\tools\node.exe")));
/// ```
pub fn is_batch_file_wide(path: &[u16]) -> bool {
    let mut path = path;
    loop {
        // Windows drops trailing dots and spaces from file names, so
        // `x.bat.` and `x.bat ` open `x.bat`; `x.bat::$DATA` is its data stream.
        while let Some((&last, rest)) = path.split_last() {
            if last == w('.') || last == w(' ') {
                path = rest;
            } else {
                break;
            }
        }
        if ends_with_ignore_ascii_case(path, "::$data") {
            path = &path[..path.len() - "::$data".len()];
            continue;
        }
        break;
    }
    ends_with_ignore_ascii_case(path, ".bat") || ends_with_ignore_ascii_case(path, ".cmd")
}

/// Whether a resolved program path names a batch script (`.bat` or `.cmd`,
/// any case), which `CreateProcessW` would run through cmd.exe.
///
/// Trailing dots and spaces are ignored, as Windows ignores them when opening
/// the file (`x.bat.` and `x.bat ` run `x.bat`), and so is a `::$DATA` stream
/// suffix. Call it on the path actually being launched, after PATH/PATHEXT
/// resolution ([`resolve_program`](super::resolve_program)): `npm` may resolve
/// to `npm.cmd`.
///
/// ```
/// use conductor::winargs::is_batch_file;
///
/// assert!(is_batch_file(r"C:\tools\build.bat"));
/// assert!(is_batch_file("run.Cmd"));
/// assert!(is_batch_file("x.bat."));
/// assert!(is_batch_file("x.bat  "));
/// assert!(!is_batch_file("x.exe"));
/// assert!(!is_batch_file("bat"));
/// ```
pub fn is_batch_file(path: impl AsRef<OsStr>) -> bool {
    to_wide_item(path.as_ref(), Item::Script).is_ok_and(|p| is_batch_file_wide(&p))
}

fn check_batch_item(units: &[u16], item: Item) -> Result<(), CommandLineError> {
    if units.contains(&0) {
        return Err(CommandLineError::Nul {
            item,
            preview: preview(units),
        });
    }
    if units.iter().any(|&u| u == w('\r') || u == w('\n')) {
        return Err(CommandLineError::BatchLineBreak {
            item,
            preview: preview(units),
        });
    }
    Ok(())
}

/// Pushes one code unit of quoted text, neutralising `%`.
fn push_quoted_unit(out: &mut Vec<u16>, unit: u16) {
    if unit == PERCENT {
        // `%` + `%cd:~,%` (an empty substring) + ... : the lone `%` can never
        // pair with a later `%` into a variable reference.
        out.extend("%%cd:~,".encode_utf16());
    }
    out.push(unit);
}

fn append_batch_arg(out: &mut Vec<u16>, arg: &[u16], item: Item) -> Result<(), CommandLineError> {
    check_batch_item(arg, item)?;
    let bare =
        !arg.is_empty() && arg.last() != Some(&BACKSLASH) && arg.iter().copied().all(is_bare_ok);
    if bare {
        out.extend_from_slice(arg);
        return Ok(());
    }
    out.push(QUOTE);
    let mut backslashes = 0usize;
    for &unit in arg {
        match unit {
            BACKSLASH => backslashes += 1,
            QUOTE => {
                // n backslashes + `"` -> 2n backslashes + `""`.
                out.extend(std::iter::repeat_n(BACKSLASH, backslashes));
                out.push(QUOTE);
                backslashes = 0;
            }
            _ => backslashes = 0,
        }
        push_quoted_unit(out, unit);
    }
    out.extend(std::iter::repeat_n(BACKSLASH, backslashes));
    out.push(QUOTE);
    Ok(())
}

/// Builds the cmd.exe command line for a batch script on UTF-16 input; see
/// [`build_batch_command_line`].
///
/// # Errors
///
/// As [`build_batch_command_line`], except that there is no `NotUnicode` case.
///
/// ```
/// use conductor::winargs::build_batch_command_line_wide;
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// let line = build_batch_command_line_wide(&wide(r"C:\t\a.bat"), [wide("x&y")]).unwrap();
/// assert_eq!(String::from_utf16(&line).unwrap(), r#"cmd.exe /e:ON /v:OFF /d /c ""C:\t\a.bat" "x&y"""#);
/// ```
pub fn build_batch_command_line_wide<I, A>(
    script: &[u16],
    args: I,
) -> Result<Vec<u16>, CommandLineError>
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u16]>,
{
    check_batch_item(script, Item::Script)?;
    if script.contains(&QUOTE) || script.last() == Some(&BACKSLASH) {
        return Err(CommandLineError::BadScriptPath {
            preview: preview(script),
        });
    }
    let mut out: Vec<u16> = "cmd.exe ".encode_utf16().collect();
    out.extend(BATCH_CMD_SWITCHES.encode_utf16());
    // `/c` removes this first quote and the very last one.
    out.extend(" \"\"".encode_utf16());
    for &unit in script {
        push_quoted_unit(&mut out, unit);
    }
    out.push(QUOTE);
    for (i, arg) in args.into_iter().enumerate() {
        out.push(w(' '));
        append_batch_arg(&mut out, arg.as_ref(), Item::Arg(i))?;
    }
    out.push(QUOTE);
    Ok(out)
}

/// Builds the command line that runs batch script `script` with `args`
/// through cmd.exe, safe against command injection and variable expansion.
///
/// The result (UTF-16, no terminating NUL) has the form
/// `cmd.exe /e:ON /v:OFF /d /c ""<script>" <args>"`; see the
/// [module documentation](crate::winargs#batch-files-batbadbut) for the quoting rules and what the script
/// sees. The caller launches it with the full path of the system's cmd.exe
/// (`GetSystemDirectoryW` + `\cmd.exe`) as `lpApplicationName`, so that no
/// `cmd.exe` in the current directory or PATH is picked up. `script` should be
/// the resolved, non-verbatim path (cmd.exe does not accept `\\?\` paths).
///
/// # Errors
///
/// - [`CommandLineError::BatchLineBreak`] naming `args[i]` (or the script)
///   when it contains CR or LF;
/// - [`CommandLineError::Nul`] for a NUL;
/// - [`CommandLineError::BadScriptPath`] when the script path contains `"` or
///   ends with `\`;
/// - [`CommandLineError::NotUnicode`] (non-Windows hosts only).
///
/// ```
/// use conductor::winargs::{build_batch_command_line, CommandLineError, Item};
///
/// let line = build_batch_command_line(r"C:\tools\run.cmd", ["plain", "a b", "%PATH%", "\"&calc"]).unwrap();
/// assert_eq!(
///     String::from_utf16(&line).unwrap(),
///     r#"cmd.exe /e:ON /v:OFF /d /c ""C:\tools\run.cmd" plain "a b" "%%cd:~,%PATH%%cd:~,%" """&calc"""#,
/// );
///
/// let err = build_batch_command_line("run.cmd", ["ok", "two\nlines"]).unwrap_err();
/// assert!(matches!(err, CommandLineError::BatchLineBreak { item: Item::Arg(1), .. }));
/// ```
pub fn build_batch_command_line<S, I, A>(script: S, args: I) -> Result<Vec<u16>, CommandLineError>
where
    S: AsRef<OsStr>,
    I: IntoIterator<Item = A>,
    A: AsRef<OsStr>,
{
    let script = to_wide_item(script.as_ref(), Item::Script)?;
    let args = to_wide_args(args).collect::<Result<Vec<_>, _>>()?;
    build_batch_command_line_wide(&script, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(script: &str, args: &[&str]) -> String {
        String::from_utf16(&build_batch_command_line(script, args).unwrap()).unwrap()
    }

    /// The argument part of a batch command line, after the script.
    fn arg_part(args: &[&str]) -> String {
        let full = line("s.bat", args);
        let prefix = r#"cmd.exe /e:ON /v:OFF /d /c ""s.bat""#;
        full.strip_prefix(prefix)
            .unwrap()
            .strip_suffix('"')
            .unwrap()
            .to_string()
    }

    #[test]
    fn batch_quoting_table() {
        let cases: &[(&str, &str)] = &[
            ("abc", "abc"),
            (r"C:\x\y.txt", r"C:\x\y.txt"),
            ("-v=1", r#""-v=1""#),
            ("", r#""""#),
            (r"dir\", r#""dir\\""#),
            ("a b", r#""a b""#),
            ("a,b;c", r#""a,b;c""#),
            ("&|<>()^!", r#""&|<>()^!""#),
            (r#"say "hi""#, r#""say ""hi""""#),
            (r#"a\"b"#, r#""a\\""b""#),
            ("%", r#""%%cd:~,%""#),
            ("%PATH%", r#""%%cd:~,%PATH%%cd:~,%""#),
            ("é", "\"é\""),
        ];
        for (arg, want) in cases {
            assert_eq!(arg_part(&[arg]), format!(" {want}"), "arg {arg:?}");
        }
    }

    #[test]
    fn script_path_rules() {
        assert_eq!(
            line(r"C:\a b\s.bat", &[]),
            r#"cmd.exe /e:ON /v:OFF /d /c ""C:\a b\s.bat"""#
        );
        assert_eq!(
            line(r"C:\100%\s.bat", &[]),
            r#"cmd.exe /e:ON /v:OFF /d /c ""C:\100%%cd:~,%\s.bat"""#
        );
        for bad in [r#"C:\a"b.bat"#, r"C:\dir\"] {
            let err = build_batch_command_line(bad, ["x"]).unwrap_err();
            assert!(
                matches!(err, CommandLineError::BadScriptPath { .. }),
                "{bad}: {err}"
            );
            assert_eq!(err.item(), Item::Script);
        }
    }

    #[test]
    fn line_breaks_and_nul_are_refused_and_named() {
        for (bad, is_nul) in [("a\rb", false), ("a\nb", false), ("a\0b", true)] {
            let err = build_batch_command_line("s.bat", ["fine", bad]).unwrap_err();
            assert_eq!(err.item(), Item::Arg(1));
            let msg = err.to_string();
            assert!(msg.contains("args[1]"), "{msg}");
            assert_eq!(matches!(err, CommandLineError::Nul { .. }), is_nul, "{msg}");
        }
        let err = build_batch_command_line("s\n.bat", ["x"]).unwrap_err();
        assert_eq!(err.item(), Item::Script);
    }

    #[test]
    fn batch_file_detection() {
        for yes in [
            "a.bat",
            "A.BAT",
            "a.cmd",
            "a.CmD",
            "a.bat.",
            "a.bat...",
            "a.bat  ",
            "a.bat. .",
            "a.bat::$DATA",
            "a.cmd::$data .",
        ] {
            assert!(is_batch_file(yes), "{yes:?}");
        }
        for no in [
            "a.exe",
            "a.bat.exe",
            "a.batx",
            "bat",
            "a.cm",
            "",
            ".",
            "a.bat:x",
        ] {
            assert!(!is_batch_file(no), "{no:?}");
        }
    }
}
