//! Shell quoting for display (`--dry-run`, job logs): the words a POSIX shell
//! (bash for `$'...'`) would read back as the same argv.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Appends `arg` quoted for a shell: as is when it has only safe characters,
/// in single quotes otherwise, as `$'...'` when it holds control characters
/// (so a quoted word never contains a tab or newline).
///
/// ```
/// use conductor::jobs::shell_quote;
/// let mut out = Vec::new();
/// shell_quote(&mut out, "it's".as_ref());
/// assert_eq!(out, b"'it'\\''s'");
/// ```
pub fn shell_quote(out: &mut Vec<u8>, arg: &OsStr) {
    let b = arg.as_bytes();
    let safe = |c: u8| c.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&c);
    if !b.is_empty() && b.iter().all(|&c| safe(c)) {
        out.extend_from_slice(b);
    } else if b.iter().any(|&c| c < 0x20 || c == 0x7f) {
        out.extend_from_slice(b"$'");
        for &c in b {
            match c {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                c if c < 0x20 || c == 0x7f => {
                    out.extend_from_slice(format!("\\x{c:02x}").as_bytes())
                }
                c => out.push(c),
            }
        }
        out.push(b'\'');
    } else {
        out.push(b'\'');
        for &c in b {
            if c == b'\'' {
                out.extend_from_slice(b"'\\''");
            } else {
                out.push(c);
            }
        }
        out.push(b'\'');
    }
}

/// A whole argv as one shell command line.
///
/// ```
/// use conductor::jobs::shell_line;
/// assert_eq!(shell_line(&["echo".into(), "a b".into()]), b"echo 'a b'");
/// ```
pub fn shell_line(argv: &[std::ffi::OsString]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        shell_quote(&mut out, a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        shell_quote(&mut out, OsStr::from_bytes(s));
        out
    }

    #[test]
    fn quotes_what_a_shell_would_split_or_expand() {
        assert_eq!(q(b"plain/path-1.txt"), b"plain/path-1.txt");
        assert_eq!(q(b""), b"''");
        assert_eq!(q(b"a b"), b"'a b'");
        assert_eq!(q(b"$HOME"), b"'$HOME'");
        assert_eq!(q(b"it's"), b"'it'\\''s'");
        assert_eq!(q(b"a\tb\n"), b"$'a\\tb\\n'");
        assert_eq!(q(b"\xff"), b"'\xff'");
    }
}
