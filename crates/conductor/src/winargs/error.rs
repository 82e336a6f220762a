//! The error returned when a command line cannot be built safely.

use std::fmt;
use std::io;

/// Which input of a command-line builder was rejected.
///
/// ```
/// use conductor::winargs::Item;
///
/// assert_eq!(Item::Arg(2).to_string(), "args[2]");
/// assert_eq!(Item::Program.to_string(), "program");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Item {
    /// The program (argv\[0\]) of [`build_command_line`](super::build_command_line).
    Program,
    /// The script path of [`build_batch_command_line`](super::build_batch_command_line).
    Script,
    /// The argument with this zero-based index in the `args` list (not counting the program).
    Arg(usize),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Program => f.write_str("program"),
            Item::Script => f.write_str("batch script path"),
            Item::Arg(i) => write!(f, "args[{i}]"),
        }
    }
}

/// Why a Windows command line could not be built.
///
/// Every variant names the offending [`Item`] and carries a short, escaped
/// preview of its value. Converting into [`std::io::Error`] gives
/// [`io::ErrorKind::InvalidInput`].
///
/// ```
/// use conductor::winargs::{build_command_line, CommandLineError, Item};
///
/// let err = build_command_line("app.exe", ["ok", "bad\0"]).unwrap_err();
/// assert_eq!(err.item(), Item::Arg(1));
/// assert!(matches!(err, CommandLineError::Nul { .. }));
/// let io: std::io::Error = err.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandLineError {
    /// A NUL code unit: Windows command lines are NUL-terminated, so it would truncate.
    #[error("{item} contains a NUL character, which cannot be passed on a Windows command line: {preview}")]
    Nul {
        /// The rejected input.
        item: Item,
        /// Escaped, possibly truncated, value of the input.
        preview: String,
    },
    /// A `"` in the program name: argv\[0\] has no escape syntax, so it cannot be carried.
    #[error("program contains a double quote, which argv[0] cannot carry on Windows: {preview}")]
    QuoteInProgram {
        /// Escaped, possibly truncated, value of the program.
        preview: String,
    },
    /// A carriage return or line feed in a batch-file argument: cmd.exe ends the
    /// command at a line break, so the rest would be lost or run as a new command.
    #[error("{item} contains a carriage return or line feed, which cmd.exe cannot pass to a batch file: {preview}")]
    BatchLineBreak {
        /// The rejected input.
        item: Item,
        /// Escaped, possibly truncated, value of the input.
        preview: String,
    },
    /// A batch script path containing `"` or ending with `\`: no Windows file name
    /// does, and either would break the quoting of the whole cmd.exe command.
    #[error("batch script path may not contain `\"` or end with `\\`: {preview}")]
    BadScriptPath {
        /// Escaped, possibly truncated, value of the path.
        preview: String,
    },
    /// (Non-Windows hosts only.) An `OsStr` input that is not valid Unicode and
    /// so has no UTF-16 form.
    #[error("{item} is not valid Unicode and has no UTF-16 form")]
    NotUnicode {
        /// The rejected input.
        item: Item,
    },
}

impl CommandLineError {
    /// The input that was rejected.
    ///
    /// ```
    /// use conductor::winargs::{build_command_line, Item};
    ///
    /// let err = build_command_line("a\"b.exe", ["x"]).unwrap_err();
    /// assert_eq!(err.item(), Item::Program);
    /// ```
    pub fn item(&self) -> Item {
        match self {
            CommandLineError::Nul { item, .. }
            | CommandLineError::BatchLineBreak { item, .. }
            | CommandLineError::NotUnicode { item } => *item,
            CommandLineError::QuoteInProgram { .. } => Item::Program,
            CommandLineError::BadScriptPath { .. } => Item::Script,
        }
    }
}

impl From<CommandLineError> for io::Error {
    fn from(err: CommandLineError) -> Self {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

/// Escaped preview of a UTF-16 value for error messages, cut after 60 characters.
pub(crate) fn preview(units: &[u16]) -> String {
    const MAX: usize = 60;
    let mut out = String::new();
    let mut chars =
        char::decode_utf16(units.iter().copied()).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER));
    for c in chars.by_ref().take(MAX) {
        out.extend(c.escape_debug());
    }
    if chars.next().is_some() {
        out.push('…');
    }
    format!("\"{out}\"")
}
