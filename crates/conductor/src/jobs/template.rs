//! Command templates: GNU parallel's replacement strings, parsed once and
//! expanded per input without a shell.
//!
//! `{}` the item, `{.}` the item without its extension, `{/}` its basename,
//! `{//}` its directory (`.` when it has none), `{/.}` the basename without
//! extension, `{#}` the sequence number, `{%}` the slot number. Anything else
//! in braces (`{foo}`) is kept literally, as GNU parallel does. A template
//! with no placeholder gets the item appended as its last argument. Items are
//! bytes: what is not UTF-8 passes through unchanged.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// One replacement string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{}`: the item.
    Item,
    /// `{.}`: the item without its extension.
    NoExtension,
    /// `{/}`: the basename.
    Basename,
    /// `{//}`: the directory.
    Dirname,
    /// `{/.}`: the basename without extension.
    BasenameNoExtension,
    /// `{#}`: the sequence number (1-based).
    Seq,
    /// `{%}`: the slot number (1..=concurrency).
    Slot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    Place(Placeholder),
}

/// A parsed command template: argv elements made of literals and placeholders.
///
/// ```
/// use conductor::jobs::Template;
/// let t = Template::parse(["convert", "{}", "{/.}.png"]);
/// let argv = t.expand("photos/cat.jpg".as_ref(), 1, 1);
/// assert_eq!(argv, ["convert", "photos/cat.jpg", "cat.png"]);
/// // No placeholder: the item is appended.
/// assert_eq!(Template::parse(["echo"]).expand("x".as_ref(), 1, 1), ["echo", "x"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    args: Vec<Vec<Part>>,
    append_item: bool,
}

impl Template {
    /// Parses argv elements (the first is the program). Never fails: unknown
    /// `{...}` forms stay literal.
    pub fn parse<I, S>(argv: I) -> Template
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<Vec<Part>> = argv
            .into_iter()
            .map(|a| parse_arg(a.as_ref().as_bytes()))
            .collect();
        let append_item = !args.iter().flatten().any(|p| matches!(p, Part::Place(_)));
        Template { args, append_item }
    }

    /// True when the template has no placeholder and the item is appended.
    pub fn appends_item(&self) -> bool {
        self.append_item
    }

    /// True when the program itself (the first element) holds a placeholder.
    pub fn program_has_placeholder(&self) -> bool {
        self.args
            .first()
            .is_some_and(|p| p.iter().any(|p| matches!(p, Part::Place(_))))
    }

    /// The argv for one input (never empty if the template was not).
    pub fn expand(&self, item: &OsStr, seq: u64, slot: usize) -> Vec<OsString> {
        let item = item.as_bytes();
        let mut argv: Vec<OsString> = self
            .args
            .iter()
            .map(|parts| {
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        Part::Literal(l) => out.extend_from_slice(l),
                        Part::Place(ph) => replace(&mut out, *ph, item, seq, slot),
                    }
                }
                OsString::from_vec(out)
            })
            .collect();
        if self.append_item {
            argv.push(OsStr::from_bytes(item).to_os_string());
        }
        argv
    }
}

fn parse_arg(arg: &[u8]) -> Vec<Part> {
    const FORMS: [(&[u8], Placeholder); 7] = [
        (b"{}", Placeholder::Item),
        (b"{.}", Placeholder::NoExtension),
        (b"{/}", Placeholder::Basename),
        (b"{//}", Placeholder::Dirname),
        (b"{/.}", Placeholder::BasenameNoExtension),
        (b"{#}", Placeholder::Seq),
        (b"{%}", Placeholder::Slot),
    ];
    let mut parts = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    'outer: while i < arg.len() {
        if arg[i] == b'{' {
            for (form, ph) in FORMS {
                if arg[i..].starts_with(form) {
                    if !lit.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Place(ph));
                    i += form.len();
                    continue 'outer;
                }
            }
        }
        lit.push(arg[i]);
        i += 1;
    }
    if !lit.is_empty() || parts.is_empty() {
        parts.push(Part::Literal(lit));
    }
    parts
}

fn replace(out: &mut Vec<u8>, ph: Placeholder, item: &[u8], seq: u64, slot: usize) {
    match ph {
        Placeholder::Item => out.extend_from_slice(item),
        Placeholder::NoExtension => out.extend_from_slice(strip_extension(item)),
        Placeholder::Basename => out.extend_from_slice(basename(item)),
        Placeholder::Dirname => out.extend_from_slice(dirname(item)),
        Placeholder::BasenameNoExtension => out.extend_from_slice(strip_extension(basename(item))),
        Placeholder::Seq => out.extend_from_slice(seq.to_string().as_bytes()),
        Placeholder::Slot => out.extend_from_slice(slot.to_string().as_bytes()),
    }
}

/// The part after the last `/`.
fn basename(item: &[u8]) -> &[u8] {
    match item.iter().rposition(|&b| b == b'/') {
        Some(i) => &item[i + 1..],
        None => item,
    }
}

/// The part before the last `/` (`/` for a root entry, `.` without one).
fn dirname(item: &[u8]) -> &[u8] {
    match item.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => &item[..i],
        None => b".",
    }
}

/// The item without the extension of its last component (a leading dot is
/// not an extension).
fn strip_extension(item: &[u8]) -> &[u8] {
    let base_start = item.len() - basename(item).len();
    match item[base_start..].iter().rposition(|&b| b == b'.') {
        Some(0) | None => item,
        Some(i) => &item[..base_start + i],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(t: &[&str], item: &[u8]) -> Vec<Vec<u8>> {
        Template::parse(t)
            .expand(OsStr::from_bytes(item), 7, 2)
            .into_iter()
            .map(|a| a.into_vec())
            .collect()
    }

    #[test]
    fn every_placeholder() {
        let got = ex(
            &["p", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}"],
            b"dir/sub/a.tar.gz",
        );
        let want: Vec<&[u8]> = vec![
            b"p",
            b"dir/sub/a.tar.gz",
            b"dir/sub/a.tar",
            b"a.tar.gz",
            b"dir/sub",
            b"a.tar",
            b"7",
            b"2",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn edge_cases_of_paths() {
        assert_eq!(ex(&["p", "{//}"], b"file")[1], b".");
        assert_eq!(ex(&["p", "{//}"], b"/file")[1], b"/");
        assert_eq!(ex(&["p", "{.}"], b".hidden")[1], b".hidden");
        assert_eq!(ex(&["p", "{.}"], b"a.d/file")[1], b"a.d/file");
        assert_eq!(ex(&["p", "{/.}"], b"x/.rc")[1], b".rc");
    }

    #[test]
    fn unknown_forms_stay_literal_and_placeholders_embed() {
        assert_eq!(
            ex(&["p", "{foo}"], b"x"),
            vec![b"p".to_vec(), b"{foo}".to_vec(), b"x".to_vec()]
        );
        assert_eq!(ex(&["p", "--out={/.}.png"], b"a/b.jpg")[1], b"--out=b.png");
        assert_eq!(ex(&["p", "{}{}"], b"ab")[1], b"abab");
        assert_eq!(
            ex(&["p", "{"], b"x"),
            vec![b"p".to_vec(), b"{".to_vec(), b"x".to_vec()]
        );
    }

    #[test]
    fn no_placeholder_appends_and_bytes_pass_through() {
        let t = Template::parse(["echo", "-n"]);
        assert!(t.appends_item());
        assert_eq!(
            ex(&["echo", "-n"], b"\xff\xfe x"),
            vec![b"echo".to_vec(), b"-n".to_vec(), b"\xff\xfe x".to_vec()]
        );
        assert_eq!(ex(&["echo", "{}"], b"")[1], b"");
    }
}
