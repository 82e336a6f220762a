//! Finding the file `CreateProcessW` should run for a bare program name, the
//! way a shell does: the child's PATH, each PATHEXT extension, no implicit
//! current directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::wide::{from_wide, to_wide, w};

/// The PATHEXT used when the variable is unset or holds no usable entry.
///
/// ```
/// assert_eq!(conductor::winargs::DEFAULT_PATHEXT, ".COM;.EXE;.BAT;.CMD");
/// ```
pub const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

fn is_sep(unit: u16) -> bool {
    unit == w('\\') || unit == w('/')
}

/// A name with a directory part (`\`, `/`, or a drive like `C:`) is used as
/// given, never looked up in PATH.
fn has_dir_part(name: &[u16]) -> bool {
    name.iter().copied().any(is_sep)
        || (name.len() >= 2
            && name[1] == w(':')
            && u8::try_from(name[0]).is_ok_and(|b| b.is_ascii_alphabetic()))
}

/// Whether the last component has an extension: a `.` after its first character.
fn has_extension(name: &[u16]) -> bool {
    let start = name
        .iter()
        .rposition(|&u| is_sep(u) || u == w(':'))
        .map_or(0, |i| i + 1);
    name[start..].iter().skip(1).any(|&u| u == w('.'))
}

/// Splits a `;`-separated list, dropping empty entries and surrounding quotes.
fn split_list(list: &[u16]) -> impl Iterator<Item = &[u16]> {
    list.split(|&u| u == w(';')).filter_map(|entry| {
        let entry = match entry {
            [first, inner @ .., last] if *first == w('"') && *last == w('"') => inner,
            _ => entry,
        };
        (!entry.is_empty()).then_some(entry)
    })
}

fn extensions(pathext: Option<&[u16]>) -> Vec<Vec<u16>> {
    let parse = |list: &[u16]| -> Vec<Vec<u16>> {
        split_list(list)
            .filter(|e| e.len() > 1 && e[0] == w('.') && !e.iter().copied().any(is_sep))
            .map(<[u16]>::to_vec)
            .collect()
    };
    let exts = pathext.map(parse).unwrap_or_default();
    if exts.is_empty() {
        parse(&DEFAULT_PATHEXT.encode_utf16().collect::<Vec<_>>())
    } else {
        exts
    }
}

/// The names tried for `name`: itself first if it has an extension, then
/// `name` + each extension in order.
fn candidate_names(name: &[u16], exts: &[Vec<u16>]) -> Vec<Vec<u16>> {
    let mut out = Vec::with_capacity(exts.len() + 1);
    if has_extension(name) {
        out.push(name.to_vec());
    }
    for ext in exts {
        let mut c = name.to_vec();
        c.extend_from_slice(ext);
        out.push(c);
    }
    out
}

/// Resolves a program name on UTF-16 input; see [`resolve_program`].
///
/// ```
/// use conductor::winargs::resolve_program_wide;
///
/// let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
/// let found = resolve_program_wide(
///     &wide("npm"),
///     Some(&wide(r"C:\nodejs")),
///     Some(&wide(".EXE;.CMD")),
///     |p| p == wide(r"C:\nodejs\npm.CMD").as_slice(),
/// );
/// assert_eq!(found, Some(wide(r"C:\nodejs\npm.CMD")));
/// ```
pub fn resolve_program_wide<F>(
    name: &[u16],
    path: Option<&[u16]>,
    pathext: Option<&[u16]>,
    mut exists: F,
) -> Option<Vec<u16>>
where
    F: FnMut(&[u16]) -> bool,
{
    if name.is_empty() || name.contains(&0) {
        return None;
    }
    let exts = extensions(pathext);
    let names = candidate_names(name, &exts);
    if has_dir_part(name) {
        return names.into_iter().find(|c| exists(c));
    }
    for dir in split_list(path.unwrap_or_default()) {
        for candidate in &names {
            let mut full = dir.to_vec();
            if !full.last().copied().is_some_and(is_sep) {
                full.push(w('\\'));
            }
            full.extend_from_slice(candidate);
            if exists(&full) {
                return Some(full);
            }
        }
    }
    None
}

/// Resolves the program a child should run, as a shell would, without
/// touching the file system: `exists` is asked about each candidate path in
/// order and the first `true` wins.
///
/// - `path` and `pathext` are the **child's** `PATH` and `PATHEXT` values
///   (`;`-separated; empty entries skipped, surrounding quotes on an entry
///   removed). A `None` or unusable `pathext` means [`DEFAULT_PATHEXT`];
///   entries not starting with `.` are ignored.
/// - Candidate names: the name as given first if its last component already
///   has an extension (`node.exe`, `python3.12`), then the name plus each
///   PATHEXT extension in order (so `npm` finds `npm.cmd`). A name without an
///   extension is never tried bare, since `CreateProcessW` cannot run it.
/// - A name with a directory part (`\`, `/` or a drive prefix like `C:`) is
///   not searched: only its own candidates are tried.
/// - Otherwise each PATH directory is tried in order, all candidates in one
///   directory before the next. The current directory is **never** searched
///   implicitly (unlike `CreateProcessW` and cmd.exe); a relative PATH entry
///   such as `.` is used as written, relative to the parent's directory.
///
/// Returns `None` when nothing matches or the name is empty or has a NUL (or,
/// on a non-Windows host, an input is not valid Unicode). Candidate paths are
/// built with `\`, also on non-Windows hosts, so the function can be tested
/// anywhere. Check the result with [`is_batch_file`](super::is_batch_file).
///
/// ```
/// use std::ffi::OsStr;
/// use std::path::{Path, PathBuf};
/// use conductor::winargs::resolve_program;
///
/// // A fake, case-insensitive file system (a real caller asks the disk).
/// let files = [r"C:\bin\tool.exe", r"C:\nodejs\npm.cmd", r"C:\nodejs\node.exe"];
/// let exists = |p: &Path| files.iter().any(|f| p.to_str().is_some_and(|p| f.eq_ignore_ascii_case(p)));
/// let path = Some(OsStr::new(r"C:\bin;;C:\nodejs\"));
/// let pathext = Some(OsStr::new(".COM;.EXE;.BAT;.cmd"));
///
/// assert_eq!(resolve_program("npm", path, pathext, exists), Some(PathBuf::from(r"C:\nodejs\npm.cmd")));
/// assert_eq!(resolve_program("tool", path, pathext, exists), Some(PathBuf::from(r"C:\bin\tool.EXE")));
/// assert_eq!(resolve_program("node.exe", path, pathext, exists), Some(PathBuf::from(r"C:\nodejs\node.exe")));
/// assert_eq!(resolve_program(r".\tool", path, pathext, exists), None);
/// assert_eq!(resolve_program("missing", path, pathext, exists), None);
/// ```
pub fn resolve_program<F>(
    name: impl AsRef<OsStr>,
    path: Option<&OsStr>,
    pathext: Option<&OsStr>,
    mut exists: F,
) -> Option<PathBuf>
where
    F: FnMut(&Path) -> bool,
{
    let name = to_wide(name.as_ref())?;
    let path = match path {
        Some(p) => Some(to_wide(p)?),
        None => None,
    };
    let pathext = match pathext {
        Some(p) => Some(to_wide(p)?),
        None => None,
    };
    resolve_program_wide(&name, path.as_deref(), pathext.as_deref(), |candidate| {
        exists(Path::new(&from_wide(candidate)))
    })
    .map(|found| PathBuf::from(from_wide(&found)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Resolves with a fake file system, returning the result and every path asked about.
    fn run(
        name: &str,
        path: Option<&str>,
        pathext: Option<&str>,
        files: &[&str],
    ) -> (Option<String>, Vec<String>) {
        let asked = RefCell::new(Vec::new());
        let found = resolve_program(name, path.map(OsStr::new), pathext.map(OsStr::new), |p| {
            let p = p.to_str().unwrap().to_string();
            asked.borrow_mut().push(p.clone());
            files.contains(&p.as_str())
        });
        (
            found.map(|p| p.to_str().unwrap().to_string()),
            asked.into_inner(),
        )
    }

    #[test]
    fn pathext_search_order() {
        let (found, asked) = run(
            "npm",
            Some(r"C:\a;C:\b"),
            Some(".EXE;.CMD"),
            &[r"C:\b\npm.CMD"],
        );
        assert_eq!(found.as_deref(), Some(r"C:\b\npm.CMD"));
        assert_eq!(
            asked,
            [
                r"C:\a\npm.EXE",
                r"C:\a\npm.CMD",
                r"C:\b\npm.EXE",
                r"C:\b\npm.CMD"
            ]
        );
    }

    #[test]
    fn first_directory_wins_over_better_extension() {
        let files = [r"C:\a\x.CMD", r"C:\b\x.EXE"];
        let (found, _) = run("x", Some(r"C:\a;C:\b"), Some(".EXE;.CMD"), &files);
        assert_eq!(found.as_deref(), Some(r"C:\a\x.CMD"));
    }

    #[test]
    fn extension_given_is_tried_as_is_first() {
        let (found, asked) = run("app.v2", Some(r"C:\a"), Some(".EXE"), &[r"C:\a\app.v2.EXE"]);
        assert_eq!(found.as_deref(), Some(r"C:\a\app.v2.EXE"));
        assert_eq!(asked, [r"C:\a\app.v2", r"C:\a\app.v2.EXE"]);
        let (found, _) = run("tool.exe", Some(r"C:\a"), None, &[r"C:\a\tool.exe"]);
        assert_eq!(found.as_deref(), Some(r"C:\a\tool.exe"));
    }

    #[test]
    fn never_the_current_directory() {
        let (found, asked) = run("tool", Some(""), None, &["tool.EXE", r".\tool.EXE"]);
        assert_eq!(found, None);
        assert!(asked.is_empty(), "{asked:?}");
        let (found, asked) = run("tool", None, None, &["tool.EXE"]);
        assert_eq!(found, None);
        assert!(asked.is_empty());
    }

    #[test]
    fn names_with_a_directory_are_not_searched() {
        for name in [
            r".\tool",
            "sub/tool",
            r"C:\x\tool",
            "C:tool",
            r"\\srv\share\tool",
        ] {
            let (found, asked) = run(name, Some(r"C:\bin"), Some(".EXE"), &[r"C:\bin\tool.EXE"]);
            assert_eq!(found, None, "{name}");
            assert_eq!(asked, [format!("{name}.EXE")], "{name}");
        }
        let (found, _) = run(r".\tool", Some(r"C:\bin"), Some(".EXE"), &[r".\tool.EXE"]);
        assert_eq!(found.as_deref(), Some(r".\tool.EXE"));
    }

    #[test]
    fn list_parsing() {
        // Quoted and empty PATH entries, trailing separators, junk PATHEXT entries.
        let (found, asked) = run(
            "t",
            Some(r#";"C:\Program Files\x";;C:\y\;C:/z/"#),
            Some("EXE;;.BAT"),
            &[r"C:/z/t.BAT"],
        );
        assert_eq!(found.as_deref(), Some(r"C:/z/t.BAT"));
        assert_eq!(
            asked,
            [r"C:\Program Files\x\t.BAT", r"C:\y\t.BAT", r"C:/z/t.BAT"]
        );
        // Nothing usable in PATHEXT: the default list.
        let (_, asked) = run("t", Some(r"C:\a"), Some(";x;"), &[]);
        assert_eq!(
            asked,
            [r"C:\a\t.COM", r"C:\a\t.EXE", r"C:\a\t.BAT", r"C:\a\t.CMD"]
        );
    }

    #[test]
    fn extension_detection() {
        let wide = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
        assert!(has_extension(&wide("a.exe")));
        assert!(has_extension(&wide(r"C:\d.x\a.b")));
        assert!(!has_extension(&wide(r"C:\d.x\a")));
        assert!(!has_extension(&wide(".hidden")));
        assert!(!has_extension(&wide("")));
    }

    #[test]
    fn empty_or_nul_name() {
        assert_eq!(run("", Some(r"C:\a"), None, &[r"C:\a\.EXE"]).0, None);
        assert_eq!(run("a\0b", Some(r"C:\a"), None, &[]).0, None);
    }
}
