//! `-S/--sshlogin [N/]LOGIN` and `--sshloginfile FILE`, with GNU parallel's
//! meaning.
//!
//! * `LOGIN` is `host`, `user@host`, or a whole ssh command whose last word
//!   is the host (`ssh -p 2222 -i key user@host`); `:` is the local machine.
//! * `N/` in front gives that login's number of slots (tasks or workers at
//!   once); without it the login gets the default (`-j`, else its CPUs).
//! * One `-S` may list several logins separated by commas; a login file has
//!   one per line, blank lines and lines starting with `#` ignored.
//! * Words of a whole ssh command are split on white space (no quoting).

use thiserror::Error;

/// Where a login's tasks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `:`: on this machine, without ssh.
    Local,
    /// Through ssh.
    Ssh {
        /// The ssh client and its options, e.g. `["ssh", "-p", "2222"]`;
        /// empty when the login named only the host (then `--ssh` applies).
        command: Vec<String>,
        /// `host` or `user@host`.
        host: String,
    },
}

/// One parsed login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Slots asked for with `N/`, if any.
    pub slots: Option<usize>,
    /// Where its tasks run.
    pub target: Target,
}

impl Login {
    /// A short name for summaries and `--json`: the host (`user@host`), or
    /// `:` for the local machine.
    ///
    /// ```ignore
    /// assert_eq!(parse("2/ssh -p 22 me@box").unwrap()[0].name(), "me@box");
    /// ```
    pub fn name(&self) -> &str {
        match &self.target {
            Target::Local => ":",
            Target::Ssh { host, .. } => host,
        }
    }
}

/// A login that cannot be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LoginError {
    /// Nothing between the commas, or only a slot count.
    #[error("empty ssh login in '{0}'")]
    Empty(String),
    /// `N/` where N is not a positive number.
    #[error("bad slot count in ssh login '{0}' (expected N/LOGIN with N at least 1)")]
    BadSlots(String),
}

/// Parses the value of one `-S/--sshlogin` (one or more comma-separated logins).
///
/// ```ignore
/// let logins = parse("4/alice@node1,:").unwrap();
/// assert_eq!(logins[0].slots, Some(4));
/// assert_eq!(logins[1].target, Target::Local);
/// ```
pub fn parse(value: &str) -> Result<Vec<Login>, LoginError> {
    value.split(',').map(parse_one).collect()
}

/// Parses a `--sshloginfile`: one login per line; blank lines and `#` comments skipped.
///
/// ```ignore
/// let logins = parse_file("# hosts\n2/node1\n\nnode2\n").unwrap();
/// assert_eq!(logins.len(), 2);
/// ```
pub fn parse_file(text: &str) -> Result<Vec<Login>, LoginError> {
    let mut logins = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        logins.extend(parse(line)?);
    }
    Ok(logins)
}

fn parse_one(login: &str) -> Result<Login, LoginError> {
    let trimmed = login.trim();
    let (slots, rest) = match trimmed.split_once('/') {
        // A slash in a whole ssh command (`-i ~/.ssh/key`) is not a slot count:
        // N/ counts only when what precedes it has no space.
        Some((n, rest))
            if !n.contains(char::is_whitespace)
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            match n.parse::<usize>() {
                Ok(n) if n > 0 => (Some(n), rest.trim()),
                _ => return Err(LoginError::BadSlots(trimmed.into())),
            }
        }
        _ => (None, trimmed),
    };
    let mut words: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
    let Some(host) = words.pop() else {
        return Err(LoginError::Empty(login.into()));
    };
    let target = if words.is_empty() && host == ":" {
        Target::Local
    } else {
        Target::Ssh {
            command: words,
            host,
        }
    };
    Ok(Login { slots, target })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(command: &[&str], host: &str) -> Target {
        Target::Ssh {
            command: command.iter().map(|s| s.to_string()).collect(),
            host: host.into(),
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            parse("host").unwrap(),
            vec![Login {
                slots: None,
                target: ssh(&[], "host")
            }]
        );
        assert_eq!(
            parse("3/u@h").unwrap()[0],
            Login {
                slots: Some(3),
                target: ssh(&[], "u@h")
            }
        );
        assert_eq!(
            parse("2/ssh -p 2222 -i ~/.ssh/key user@host").unwrap()[0],
            Login {
                slots: Some(2),
                target: ssh(&["ssh", "-p", "2222", "-i", "~/.ssh/key"], "user@host")
            }
        );
        assert_eq!(
            parse("ssh -i /k/id u@h").unwrap()[0].target,
            ssh(&["ssh", "-i", "/k/id"], "u@h")
        );
        assert_eq!(parse(":").unwrap()[0].target, Target::Local);
        assert_eq!(
            parse("4/:").unwrap()[0],
            Login {
                slots: Some(4),
                target: Target::Local
            }
        );
        let two = parse("a,2/b").unwrap();
        assert_eq!(
            (two[0].name(), two[1].name(), two[1].slots),
            ("a", "b", Some(2))
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(parse("0/h"), Err(LoginError::BadSlots(_))));
        assert!(matches!(parse("a,,b"), Err(LoginError::Empty(_))));
        assert!(matches!(parse("3/"), Err(LoginError::Empty(_))));
    }

    #[test]
    fn file() {
        let l = parse_file("# c\n\n 2/node1 \nssh -p 22 node2\n:\n").unwrap();
        assert_eq!(
            l.iter().map(Login::name).collect::<Vec<_>>(),
            ["node1", "node2", ":"]
        );
    }
}
