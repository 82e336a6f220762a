//! [`Stdio`]: what a child's stdin, stdout or stderr is connected to.

use std::fs::File;

#[cfg(unix)]
pub(crate) type OwnedIo = std::os::fd::OwnedFd;
#[cfg(windows)]
pub(crate) type OwnedIo = std::os::windows::io::OwnedHandle;

/// Describes what a child's standard stream is connected to. Mirrors
/// [`std::process::Stdio`].
///
/// Besides [`inherit`](Stdio::inherit), [`null`](Stdio::null) and
/// [`piped`](Stdio::piped), any open file or descriptor converts into a `Stdio`,
/// and so does another child's stdout, which wires `a | b` without a shell:
///
/// ```
/// # fn main() -> Result<(), conductor::Error> {
/// use conductor::blocking::Command;
/// use conductor::Stdio;
/// let mut producer = Command::new("echo").arg("hello").stdout(Stdio::piped()).spawn()?;
/// let pipe = producer.stdout.take().expect("piped");
/// let out = Command::new("tr").args(["a-z", "A-Z"]).stdin(pipe).output()?;
/// producer.wait()?;
/// assert_eq!(out.stdout, b"HELLO\n");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Stdio(pub(crate) StdioKind);

#[derive(Debug)]
pub(crate) enum StdioKind {
    Inherit,
    Null,
    Piped,
    Owned(OwnedIo),
}

impl Stdio {
    /// The child shares the parent's stream (the default for `spawn` and `status`).
    pub fn inherit() -> Stdio {
        Stdio(StdioKind::Inherit)
    }

    /// The child's stream is connected to the null device.
    pub fn null() -> Stdio {
        Stdio(StdioKind::Null)
    }

    /// A new pipe connects the child's stream to the parent, which gets the
    /// other end in `Child::stdin`, `Child::stdout` or `Child::stderr`.
    pub fn piped() -> Stdio {
        Stdio(StdioKind::Piped)
    }
}

impl From<File> for Stdio {
    fn from(f: File) -> Stdio {
        Stdio(StdioKind::Owned(f.into()))
    }
}

#[cfg(unix)]
impl From<std::os::fd::OwnedFd> for Stdio {
    fn from(fd: std::os::fd::OwnedFd) -> Stdio {
        Stdio(StdioKind::Owned(fd))
    }
}

#[cfg(windows)]
impl From<std::os::windows::io::OwnedHandle> for Stdio {
    fn from(h: std::os::windows::io::OwnedHandle) -> Stdio {
        Stdio(StdioKind::Owned(h))
    }
}
