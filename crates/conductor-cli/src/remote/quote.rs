//! POSIX shell quoting for the remote shell.
//!
//! ssh joins its command arguments with spaces and hands the string to the
//! remote user's login shell, which parses it again. So every argument is
//! quoted here: wrapped in single quotes, with each `'` written as `'\''`.
//! Inside single quotes a POSIX shell interprets nothing (`$`, `` ` ``,
//! `\`, `;`, newlines are literal), so any byte string except NUL arrives
//! as it was. Login shells of the csh family are not supported.

/// Appends `arg`, quoted for a POSIX shell, to `out`.
///
/// ```ignore
/// let mut s = Vec::new();
/// push_quoted(&mut s, b"it's $(x)");
/// assert_eq!(s, b"'it'\\''s $(x)'");
/// ```
pub fn push_quoted(out: &mut Vec<u8>, arg: &[u8]) {
    out.push(b'\'');
    for &b in arg {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}

/// Quotes every argument and joins them with spaces: one shell command line.
///
/// ```ignore
/// assert_eq!(join(["echo", "a b"]), b"'echo' 'a b'");
/// ```
pub fn join<I, A>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = A>,
    A: AsRef<[u8]>,
{
    let mut out = Vec::new();
    for (i, a) in args.into_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        push_quoted(&mut out, a.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    /// What `sh` makes of the quoted line: the arguments it passes on.
    fn through_sh(args: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut line = b"printf '%s\\0' ".to_vec();
        line.extend(join(args));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(std::ffi::OsStr::from_bytes(&line))
            .output()
            .expect("sh runs");
        assert!(out.status.success());
        let mut v: Vec<Vec<u8>> = out.stdout.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        v.pop();
        v
    }

    #[test]
    fn hostile() {
        let args: Vec<Vec<u8>> = [
            "$(touch x)",
            "`id`",
            "a;b",
            "'",
            "\"",
            "a\nb",
            "\\",
            "",
            " ",
            "*",
            "~",
            "!x",
            "#",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        assert_eq!(through_sh(&args), args);
        assert_eq!(join(["it's"]), b"'it'\\''s'");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_bytes_survive(args in proptest::collection::vec(proptest::collection::vec(1u8..=255, 0..12), 1..5)) {
            prop_assert_eq!(through_sh(&args), args);
        }
    }
}
