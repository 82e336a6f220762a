//! The child's environment on Windows: the parent's variables with the
//! command's changes applied (names compared case-insensitively, as Windows
//! does), the lookups spawning needs (`PATH`, `PATHEXT`), and the Unicode
//! environment block for `CreateProcessW` (sorted case-insensitively, as
//! Windows expects).

use crate::error::{Error, Result};
use crate::spec::CommandSpec;
use std::cmp::Ordering;
use std::ffi::{OsStr, OsString};
use std::os::windows::ffi::OsStrExt;
use windows_sys::Win32::Globalization::{CompareStringOrdinal, CSTR_EQUAL, CSTR_LESS_THAN};

/// Compares two names the way Windows compares variable names: ordinal,
/// ignoring case.
fn cmp_names(a: &OsStr, b: &OsStr) -> Ordering {
    let (a, b): (Vec<u16>, Vec<u16>) = (a.encode_wide().collect(), b.encode_wide().collect());
    let len = |v: &Vec<u16>| i32::try_from(v.len()).unwrap_or(i32::MAX);
    // SAFETY: both pointers are valid for the lengths passed.
    let r = unsafe { CompareStringOrdinal(a.as_ptr(), len(&a), b.as_ptr(), len(&b), 1) };
    match r {
        CSTR_LESS_THAN => Ordering::Less,
        CSTR_EQUAL => Ordering::Equal,
        0 => a.cmp(&b),
        _ => Ordering::Greater,
    }
}

/// True when `a` and `b` name the same variable on Windows.
pub(crate) fn env_key_eq(a: &OsStr, b: &OsStr) -> bool {
    cmp_names(a, b) == Ordering::Equal
}

/// The complete environment a child gets.
pub(crate) struct ChildEnv {
    /// Sorted by name, case-insensitively; no two names equal ignoring case.
    vars: Vec<(OsString, OsString)>,
    /// False when the child simply inherits the parent's environment.
    changed: bool,
}

impl ChildEnv {
    pub fn new(spec: &CommandSpec) -> Result<ChildEnv> {
        let mut vars: Vec<(OsString, OsString)> = if spec.env_clear {
            Vec::new()
        } else {
            std::env::vars_os().collect()
        };
        for (k, v) in &spec.env {
            check_name(spec, k)?;
            vars.retain(|(name, _)| !env_key_eq(name, k));
            if let Some(v) = v {
                refuse_nul(spec, v, || {
                    format!("the value of environment variable {}", k.to_string_lossy())
                })?;
                vars.push((k.clone(), v.clone()));
            }
        }
        vars.sort_by(|a, b| cmp_names(&a.0, &b.0));
        Ok(ChildEnv {
            vars,
            changed: spec.env_changed(),
        })
    }

    /// The child's value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        let name = OsStr::new(name);
        self.vars
            .iter()
            .find(|(k, _)| env_key_eq(k, name))
            .map(|(_, v)| v.as_os_str())
    }

    /// The environment block for `CreateProcessW` (with
    /// `CREATE_UNICODE_ENVIRONMENT`): `name=value\0` entries, sorted, then a
    /// final `\0`. `None` when the child inherits the parent's environment.
    pub fn block(&self) -> Option<Vec<u16>> {
        if !self.changed {
            return None;
        }
        let mut block = Vec::new();
        for (k, v) in &self.vars {
            block.extend(k.encode_wide());
            block.push(u16::from(b'='));
            block.extend(v.encode_wide());
            block.push(0);
        }
        if block.is_empty() {
            // An empty block still needs its terminating pair of NULs.
            block.push(0);
        }
        block.push(0);
        Some(block)
    }
}

/// Refuses a string that holds a NUL (it could not reach the child intact);
/// `what` names it in the error ("{what} contains a NUL character").
pub(crate) fn refuse_nul(
    spec: &CommandSpec,
    s: &OsStr,
    what: impl FnOnce() -> String,
) -> Result<()> {
    if s.encode_wide().any(|u| u == 0) {
        return Err(Error::invalid_input(
            &spec.program,
            format!("{} contains a NUL character", what()),
        ));
    }
    Ok(())
}

/// Refuses names Windows cannot store: empty, `=` after the first character
/// (a leading `=` is used by the hidden per-drive variables), or NUL.
fn check_name(spec: &CommandSpec, name: &OsStr) -> Result<()> {
    let units: Vec<u16> = name.encode_wide().collect();
    let bad = units.is_empty()
        || units.contains(&0)
        || units.iter().skip(1).any(|&u| u == u16::from(b'='));
    if bad {
        return Err(Error::invalid_input(
            &spec.program,
            format!(
                "environment variable name {:?} is empty or contains `=` or NUL",
                name.to_string_lossy()
            ),
        ));
    }
    Ok(())
}
