//! The platform-neutral side of a child's standard streams, which each
//! backend then makes real: what one stream is to be once the builder's
//! choice and the default are combined ([`stream_choice`]), and the pipes the
//! blocking `communicate` loop works on ([`CommunicatePipes`]).

use crate::stdio::{OwnedIo, StdioKind};
use crate::sys::StdioDefault;
use std::io;

/// What one of the child's standard streams is to be.
pub(crate) enum StreamChoice<'a> {
    /// The parent's own stream.
    Inherit,
    /// The null device.
    Null,
    /// A new pipe, whose other end the parent keeps.
    Piped,
    /// A descriptor or handle the caller gave.
    Owned(&'a OwnedIo),
    /// stderr's copy of stdout (`2>&1`): resolved by the backend's caller
    /// (stderr) or refused there (stdin, stdout).
    MergeStdout,
}

/// The stream `cfg` (or, when the builder did not say, `default`) asks for;
/// a conversion that failed earlier is its error now.
pub(crate) fn stream_choice(
    cfg: Option<&StdioKind>,
    default: StdioDefault,
) -> io::Result<StreamChoice<'_>> {
    Ok(match cfg {
        Some(StdioKind::Inherit) => StreamChoice::Inherit,
        Some(StdioKind::Null) => StreamChoice::Null,
        Some(StdioKind::Piped) => StreamChoice::Piped,
        Some(StdioKind::Owned(io)) => StreamChoice::Owned(io),
        Some(StdioKind::MergeStdout) => StreamChoice::MergeStdout,
        Some(StdioKind::Failed(e)) => {
            return Err(match e.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(e.kind(), e.to_string()),
            })
        }
        None => match default {
            StdioDefault::Inherit => StreamChoice::Inherit,
            StdioDefault::Null => StreamChoice::Null,
            StdioDefault::Piped => StreamChoice::Piped,
        },
    })
}

/// The pipes the blocking `communicate` loop works on, `P` being the
/// platform's pipe end.
pub(crate) struct CommunicatePipes<'a, P> {
    pub stdin: Option<P>,
    pub input: &'a [u8],
    pub stdout: Option<&'a P>,
    pub stderr: Option<&'a P>,
}
