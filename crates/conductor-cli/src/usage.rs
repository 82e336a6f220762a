//! Usage errors as one line naming what was wrong, and exit 125 (conductor's
//! own failure, as with timeout(1)), instead of clap's multi-line report.

use crate::exit;
use clap::error::{ContextKind, ContextValue, ErrorKind};

/// What to do with a clap parse failure: the text to print, where, and the exit code.
pub struct Outcome {
    /// The text, ending with a newline.
    pub text: String,
    /// `true` for stdout (help and version), `false` for stderr.
    pub to_stdout: bool,
    /// The exit code.
    pub code: i32,
}

/// Turns a clap error into conductor's report. `subcommand` is the subcommand
/// being parsed, if known, for the `--help` hint.
pub fn outcome(e: &clap::Error, subcommand: Option<&str>) -> Outcome {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Outcome {
            text: e.render().to_string(),
            to_stdout: true,
            code: 0,
        },
        // Bare `conductor`: the overview, on stderr, as a failure.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Outcome {
            text: e.render().to_string(),
            to_stdout: false,
            code: exit::FAILED,
        },
        _ => {
            let help = match subcommand {
                Some(s) => format!("conductor {s} --help"),
                None => "conductor --help".to_string(),
            };
            Outcome {
                text: format!("conductor: {} (see {help})\n", one_line(e)),
                to_stdout: false,
                code: exit::FAILED,
            }
        }
    }
}

/// The error's message on one line, naming the option or value at fault.
fn one_line(e: &clap::Error) -> String {
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join(", ")),
        _ => None,
    };
    match (e.kind(), context(ContextKind::InvalidArg)) {
        (ErrorKind::UnknownArgument, Some(arg)) if arg.starts_with('-') => {
            format!("unexpected option '{arg}'")
        }
        (ErrorKind::MissingRequiredArgument, Some(args)) => {
            format!("missing {args}")
        }
        // Everything else: clap's own message, without its usage and tips.
        _ => {
            let rendered = e.render().to_string();
            let message = rendered.split("\n\n").next().unwrap_or_default();
            let message = message.strip_prefix("error: ").unwrap_or(message);
            message.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::outcome;
    use clap::{Arg, Command};

    fn cmd() -> Command {
        Command::new("conductor").subcommand(
            Command::new("run")
                .arg(Arg::new("timeout").long("timeout"))
                .arg(Arg::new("program").required(true).value_name("PROGRAM")),
        )
    }

    fn report(args: &[&str]) -> (String, i32) {
        let e = cmd().try_get_matches_from(args).unwrap_err();
        let o = outcome(&e, Some("run"));
        (o.text, o.code)
    }

    #[test]
    fn every_usage_error_is_one_line_naming_the_culprit() {
        let (text, code) = report(&["conductor", "run", "--bogus", "x"]);
        assert_eq!(
            text,
            "conductor: unexpected option '--bogus' (see conductor run --help)\n"
        );
        assert_eq!(code, 125);
        let (text, _) = report(&["conductor", "run"]);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("<PROGRAM>"), "{text}");
        let (text, _) = report(&["conductor", "frob"]);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains("'frob'"), "{text}");
    }
}
