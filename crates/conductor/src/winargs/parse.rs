//! Reference parsers for Windows command lines, used to check the builders.
//!
//! Windows hands a process one string; each program splits it itself. These
//! are Rust models of the two splitters that matter: the Microsoft C runtime's
//! (what `main`'s `argv` and Rust's `std::env::args` see) and shell32's
//! `CommandLineToArgvW`. They differ only on runs of `"` inside quotes, which
//! the builders in this module never emit.

use super::wide::w;

const QUOTE: u16 = w('"');
const BACKSLASH: u16 = w('\\');

fn is_blank(unit: u16) -> bool {
    unit == w(' ') || unit == w('\t')
}

fn count_run(units: &[u16], start: usize, unit: u16) -> usize {
    units[start..].iter().take_while(|&&u| u == unit).count()
}

fn skip_blanks(units: &[u16], mut i: usize) -> usize {
    while i < units.len() && is_blank(units[i]) {
        i += 1;
    }
    i
}

/// Splits a UTF-16 command line the way the Microsoft C runtime does
/// (msvcrt/ucrt, rules in force since Visual C++ 2008).
///
/// - argv\[0\] has no escapes: every `"` toggles quoting, and a space or tab
///   outside quotes ends it.
/// - Afterwards, space and tab outside quotes separate arguments; `2n`
///   backslashes before a `"` give `n` backslashes and the `"` toggles
///   quoting; `2n+1` give `n` backslashes and a literal `"`; backslashes not
///   before a `"` are literal; inside quotes, `""` gives a literal `"` and
///   quoting goes on.
///
/// An empty command line gives one empty argv\[0\] (the real runtime
/// substitutes the module name).
///
/// ```
/// use conductor::winargs::parse_msvcrt_wide;
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// let argv = parse_msvcrt_wide(&wide(r#"prog "a ""b"" c""#));
/// assert_eq!(argv, vec![wide("prog"), wide(r#"a "b" c"#)]);
/// ```
pub fn parse_msvcrt_wide(cmdline: &[u16]) -> Vec<Vec<u16>> {
    let units = cmdline;
    let mut argv = Vec::new();

    // argv[0]
    let mut cur = Vec::new();
    let mut in_quotes = false;
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if u == QUOTE {
            in_quotes = !in_quotes;
        } else if is_blank(u) && !in_quotes {
            break;
        } else {
            cur.push(u);
        }
        i += 1;
    }
    argv.push(cur);
    i = skip_blanks(units, i);

    // The other arguments.
    let mut cur = Vec::new();
    let mut started = false;
    let mut in_quotes = false;
    while i < units.len() {
        let u = units[i];
        if is_blank(u) && !in_quotes {
            argv.push(std::mem::take(&mut cur));
            started = false;
            i = skip_blanks(units, i);
            continue;
        }
        started = true;
        if u == BACKSLASH {
            let n = count_run(units, i, BACKSLASH);
            i += n;
            if units.get(i) == Some(&QUOTE) {
                cur.extend(std::iter::repeat_n(BACKSLASH, n / 2));
                if n % 2 == 1 {
                    cur.push(QUOTE);
                    i += 1;
                }
                // With an even count the quote is handled on the next turn.
            } else {
                cur.extend(std::iter::repeat_n(BACKSLASH, n));
            }
            continue;
        }
        if u == QUOTE {
            if in_quotes && units.get(i + 1) == Some(&QUOTE) {
                cur.push(QUOTE);
                i += 2;
            } else {
                in_quotes = !in_quotes;
                i += 1;
            }
            continue;
        }
        cur.push(u);
        i += 1;
    }
    if started {
        argv.push(cur);
    }
    argv
}

/// Splits a UTF-16 command line the way shell32's `CommandLineToArgvW` does.
///
/// - argv\[0\]: if it starts with `"`, it runs to the next `"` (no escapes);
///   otherwise to the first space or tab.
/// - Afterwards: the same backslash rules as the C runtime, but runs of quotes
///   follow the pre-2008 rule: every third consecutive quote is a literal `"`,
///   so `""` inside quotes gives a literal `"` *and ends* quoting.
///
/// An empty command line gives one empty argv\[0\] (the real function
/// substitutes the module path).
///
/// ```
/// use conductor::winargs::parse_command_line_to_argv_w_wide;
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// let argv = parse_command_line_to_argv_w_wide(&wide(r#""my prog" a\"b "c d""#));
/// assert_eq!(argv, vec![wide("my prog"), wide("a\"b"), wide("c d")]);
/// ```
pub fn parse_command_line_to_argv_w_wide(cmdline: &[u16]) -> Vec<Vec<u16>> {
    let units = cmdline;
    let mut argv = Vec::new();

    // argv[0]
    let mut i = 0;
    let mut cur = Vec::new();
    if units.first() == Some(&QUOTE) {
        i = 1;
        while i < units.len() {
            let u = units[i];
            i += 1;
            if u == QUOTE {
                break;
            }
            cur.push(u);
        }
    } else {
        while i < units.len() && !is_blank(units[i]) {
            cur.push(units[i]);
            i += 1;
        }
    }
    argv.push(cur);
    i = skip_blanks(units, i);
    if i == units.len() {
        return argv;
    }

    // The other arguments: `quotes` is 1 inside quotes, 0 outside; a run of
    // quotes counts up and every third one is a literal quote.
    let mut cur = Vec::new();
    let mut quotes = 0u8;
    let mut backslashes = 0usize;
    while i < units.len() {
        let u = units[i];
        if is_blank(u) && quotes == 0 {
            argv.push(std::mem::take(&mut cur));
            backslashes = 0;
            i = skip_blanks(units, i);
            if i == units.len() {
                return argv;
            }
            continue;
        }
        if u == BACKSLASH {
            cur.push(u);
            backslashes += 1;
            i += 1;
            continue;
        }
        if u == QUOTE {
            // The backslashes before it were copied; keep half of them.
            cur.truncate(cur.len() - backslashes / 2);
            if backslashes.is_multiple_of(2) {
                quotes += 1;
            } else {
                cur.pop();
                cur.push(QUOTE);
            }
            backslashes = 0;
            i += 1;
            while units.get(i) == Some(&QUOTE) {
                quotes += 1;
                if quotes == 3 {
                    cur.push(QUOTE);
                    quotes = 0;
                }
                i += 1;
            }
            if quotes == 2 {
                quotes = 0;
            }
            continue;
        }
        cur.push(u);
        backslashes = 0;
        i += 1;
    }
    argv.push(cur);
    argv
}

fn to_units(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn to_strings(argv: Vec<Vec<u16>>) -> Vec<String> {
    argv.iter().map(|a| String::from_utf16_lossy(a)).collect()
}

/// [`parse_msvcrt_wide`] on a `&str`, for tests and diagnostics.
///
/// ```
/// use conductor::winargs::parse_msvcrt;
///
/// assert_eq!(parse_msvcrt(r#"p a\\\"b "" c\\"#), ["p", r#"a\"b"#, "", r"c\\"]);
/// ```
pub fn parse_msvcrt(cmdline: &str) -> Vec<String> {
    to_strings(parse_msvcrt_wide(&to_units(cmdline)))
}

/// [`parse_command_line_to_argv_w_wide`] on a `&str`, for tests and diagnostics.
///
/// ```
/// use conductor::winargs::{parse_command_line_to_argv_w, parse_msvcrt};
///
/// // The two parsers differ on `""` inside quotes.
/// let line = r#"p "a""b c""#;
/// assert_eq!(parse_msvcrt(line), ["p", r#"a"b c"#]);
/// assert_eq!(parse_command_line_to_argv_w(line), ["p", r#"a"b"#, "c"]);
/// ```
pub fn parse_command_line_to_argv_w(cmdline: &str) -> Vec<String> {
    to_strings(parse_command_line_to_argv_w_wide(&to_units(cmdline)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines both parsers split alike (many from Microsoft's "Parsing C++
    /// command-line arguments" table); each test adds those where they differ.
    const AGREED: &[(&str, &[&str])] = &[
        (r#"p "abc" d e"#, &["p", "abc", "d", "e"]),
        (r#"p a\\b d"e f"g h"#, &["p", r"a\\b", "de fg", "h"]),
        (r#"p a\\\"b c d"#, &["p", r#"a\"b"#, "c", "d"]),
        (r#"p a\\\\"b c" d e"#, &["p", r"a\\b c", "d", "e"]),
        (r#"p """#, &["p", ""]),
        ("p \"\"\"", &["p", "\""]),
        ("p \"\"\"\"", &["p", "\""]),
        ("p \"\"\"\"\"\"", &["p", "\"\""]),
        ("p\t a \t b  ", &["p", "a", "b"]),
        (r#""C:\a\" b"#, &[r"C:\a\", "b"]),
        ("", &[""]),
        (r#"p ""#, &["p", ""]),
    ];

    #[test]
    fn msvcrt_table() {
        // Cases from Microsoft's "Parsing C++ command-line arguments" table
        // and the 2008 `""` rule.
        let cases: &[(&str, &[&str])] = &[
            (r#"p a"b"" c d"#, &["p", r#"ab" c d"#]),
            (r#"p "" """#, &["p", "", ""]),
            (r#""my prog"x a"#, &["my progx", "a"]),
            (r#"C:\a\" b"#, &[r"C:\a\ b"]),
            ("p", &["p"]),
        ];
        for (line, want) in AGREED.iter().chain(cases) {
            assert_eq!(parse_msvcrt(line), *want, "line {line:?}");
        }
    }

    #[test]
    fn command_line_to_argv_w_table() {
        let cases: &[(&str, &[&str])] = &[
            // Pre-2008 rule: `""` inside quotes ends quoting.
            (r#"p a"b"" c d"#, &["p", r#"ab""#, "c", "d"]),
            ("p \"\"\"\"\"", &["p", "\""]),
            // argv[0] ends at the closing quote.
            (r#""my prog"x a"#, &["my prog", "x", "a"]),
        ];
        for (line, want) in AGREED.iter().chain(cases) {
            assert_eq!(parse_command_line_to_argv_w(line), *want, "line {line:?}");
        }
    }
}
