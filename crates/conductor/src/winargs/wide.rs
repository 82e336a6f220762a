//! Conversions between `OsStr` and UTF-16 code units.
//!
//! On Windows these are lossless (`OsStr` is WTF-16 underneath, unpaired
//! surrogates included). On other hosts, where the module is only used for
//! tests and tooling, an `OsStr` must be valid Unicode to have a UTF-16 form.

use std::ffi::{OsStr, OsString};

/// The UTF-16 code units of `s`, or `None` on a non-Windows host when `s` is
/// not valid Unicode.
///
/// ```
/// use conductor::winargs::to_wide;
///
/// assert_eq!(to_wide("aé".as_ref()), Some(vec![0x61, 0xe9]));
/// ```
pub fn to_wide(s: &OsStr) -> Option<Vec<u16>> {
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStrExt;
        Some(s.encode_wide().collect())
    }
    #[cfg(not(windows))]
    {
        s.to_str().map(|s| s.encode_utf16().collect())
    }
}

/// An `OsString` from UTF-16 code units.
///
/// Lossless on Windows; on other hosts unpaired surrogates become U+FFFD.
///
/// ```
/// use conductor::winargs::from_wide;
///
/// let units: Vec<u16> = "\"a b\"".encode_utf16().collect();
/// assert_eq!(from_wide(&units), "\"a b\"");
/// ```
pub fn from_wide(units: &[u16]) -> OsString {
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStringExt;
        OsString::from_wide(units)
    }
    #[cfg(not(windows))]
    {
        OsString::from(String::from_utf16_lossy(units))
    }
}

/// `to_wide`, with the failure reported against `item`.
pub(crate) fn to_wide_item(
    s: &OsStr,
    item: super::Item,
) -> Result<Vec<u16>, super::CommandLineError> {
    to_wide(s).ok_or(super::CommandLineError::NotUnicode { item })
}

/// `to_wide` of each of `args`, a failure reported against `args[i]`.
pub(crate) fn to_wide_args<I, A>(
    args: I,
) -> impl Iterator<Item = Result<Vec<u16>, super::CommandLineError>>
where
    I: IntoIterator<Item = A>,
    A: AsRef<OsStr>,
{
    args.into_iter()
        .enumerate()
        .map(|(i, a)| to_wide_item(a.as_ref(), super::Item::Arg(i)))
}

/// UTF-16 code unit of an ASCII character.
pub(crate) const fn w(c: char) -> u16 {
    c as u16
}
