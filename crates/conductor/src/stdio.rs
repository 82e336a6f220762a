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
    /// stderr only: a copy of whatever the child's stdout is (`2>&1`).
    MergeStdout,
    /// A conversion that failed (a descriptor that could not be duplicated);
    /// reported by `spawn` as an `Operation::Stdio` error.
    Failed(std::io::Error),
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

    /// For stderr: the child's stderr goes wherever its stdout goes (the
    /// shell's `2>&1`, Python's `stderr=STDOUT`). With a piped stdout both
    /// streams share one pipe, so the parent reads them in the order the
    /// child wrote them, in `Child::stdout`. `spawn` fails with
    /// `InvalidInput` when this is given for stdin or stdout. See also
    /// `combined_output()` on both `Command` types.
    ///
    /// ```
    /// # fn main() -> Result<(), conductor::Error> {
    /// use conductor::{blocking::Command, Stdio};
    /// let out = Command::new("sh").args(["-c", "echo a; echo b >&2; echo c"])
    ///     .stderr(Stdio::merged_with_stdout())
    ///     .output()?;
    /// assert_eq!(out.stdout, b"a\nb\nc\n");
    /// assert!(out.stderr.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn merged_with_stdout() -> Stdio {
        Stdio(StdioKind::MergeStdout)
    }

    /// True for [`Stdio::merged_with_stdout`].
    pub(crate) fn is_merge(&self) -> bool {
        matches!(self.0, StdioKind::MergeStdout)
    }

    /// A copy of one of this process's own streams, or the error for spawn.
    fn dup_of<T: AsOwnable>(stream: &T) -> Stdio {
        match stream.dup() {
            Ok(fd) => Stdio(StdioKind::Owned(fd)),
            Err(e) => Stdio(StdioKind::Failed(e)),
        }
    }
}

/// This process's streams, duplicable as the platform's owned type.
trait AsOwnable {
    fn dup(&self) -> std::io::Result<OwnedIo>;
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> AsOwnable for T {
    fn dup(&self) -> std::io::Result<OwnedIo> {
        self.as_fd().try_clone_to_owned()
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsHandle> AsOwnable for T {
    fn dup(&self) -> std::io::Result<OwnedIo> {
        self.as_handle().try_clone_to_owned()
    }
}

/// The child writes to this process's stdout (a duplicate of it), as std's
/// `From<io::Stdout> for Stdio`.
impl From<std::io::Stdout> for Stdio {
    fn from(s: std::io::Stdout) -> Stdio {
        Stdio::dup_of(&s)
    }
}

/// The child writes to this process's stderr (a duplicate of it), as std's
/// `From<io::Stderr> for Stdio`.
impl From<std::io::Stderr> for Stdio {
    fn from(s: std::io::Stderr) -> Stdio {
        Stdio::dup_of(&s)
    }
}

/// Converts std's pipe ends and a std child's pipes.
macro_rules! from_owned {
    ($($t:ty),*) => {$(
        impl From<$t> for Stdio {
            fn from(p: $t) -> Stdio {
                Stdio(StdioKind::Owned(OwnedIo::from(p)))
            }
        }
    )*};
}
from_owned!(
    std::io::PipeReader,
    std::io::PipeWriter,
    std::process::ChildStdin,
    std::process::ChildStdout,
    std::process::ChildStderr
);

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
