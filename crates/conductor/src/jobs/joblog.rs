//! GNU parallel's job log: a header line, then one tab-separated row per
//! finished task (Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval,
//! Signal, Command). Formatting and parsing only; files are the caller's.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// The header line, without its newline.
pub const JOBLOG_HEADER: &str =
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

/// One row of a job log.
#[derive(Debug, Clone, PartialEq)]
pub struct JoblogRow {
    /// The task's sequence number.
    pub seq: u64,
    /// The host (`:` for this machine, as GNU parallel writes it).
    pub host: String,
    /// Start, in seconds since the epoch.
    pub start: f64,
    /// Run time, in seconds.
    pub runtime: f64,
    /// Bytes sent to the task (always 0: tasks get no input).
    pub send: u64,
    /// Bytes the task wrote.
    pub receive: u64,
    /// Exit code (0 when killed by a signal... as GNU parallel: the code, or -1).
    pub exitval: i32,
    /// The signal that killed the task, or 0.
    pub signal: i32,
    /// The command, shell-quoted.
    pub command: Vec<u8>,
}

impl JoblogRow {
    /// A row for a task that started at `start` and ran `runtime`.
    pub fn new(seq: u64, start: SystemTime, runtime: Duration) -> JoblogRow {
        let start = start
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        JoblogRow {
            seq,
            host: ":".into(),
            start,
            runtime: runtime.as_secs_f64(),
            send: 0,
            receive: 0,
            exitval: 0,
            signal: 0,
            command: Vec::new(),
        }
    }

    /// True when the task succeeded (exit 0, no signal).
    pub fn succeeded(&self) -> bool {
        self.exitval == 0 && self.signal == 0
    }

    /// The row as written to the log, newline included.
    ///
    /// ```
    /// use conductor::jobs::{JoblogRow, parse_joblog};
    /// let mut row = JoblogRow::new(3, std::time::SystemTime::UNIX_EPOCH, std::time::Duration::from_millis(20));
    /// row.command = b"echo hi".to_vec();
    /// assert_eq!(row.format(), b"3\t:\t0.000\t0.020\t0\t0\t0\t0\techo hi\n");
    /// let text = [conductor::jobs::JOBLOG_HEADER.as_bytes(), b"\n", &row.format()].concat();
    /// assert_eq!(parse_joblog(&text).unwrap(), vec![row]);
    /// ```
    pub fn format(&self) -> Vec<u8> {
        let mut out = format!(
            "{}\t{}\t{:.3}\t{:.3}\t{}\t{}\t{}\t{}\t",
            self.seq,
            self.host,
            self.start,
            self.runtime,
            self.send,
            self.receive,
            self.exitval,
            self.signal
        )
        .into_bytes();
        // A command never holds a newline or tab here (shell quoting escapes them).
        out.extend(
            self.command
                .iter()
                .map(|&b| if b == b'\n' || b == b'\t' { b' ' } else { b }),
        );
        out.push(b'\n');
        out
    }
}

/// A job log that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct JoblogParseError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Parses a whole job log (an empty one has no rows).
///
/// # Errors
///
/// [`JoblogParseError`] naming the first line that is not a job log row (wrong number of
/// fields, a field that is not a number).
///
/// ```
/// use conductor::jobs::{finished_seqs, parse_joblog};
/// let log = b"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n\
///             1\t:\t1700000000.000\t0.010\t0\t3\t0\t0\techo a\n\
///             2\t:\t1700000000.001\t0.020\t0\t0\t1\t0\tfalse b\n";
/// let rows = parse_joblog(log).unwrap();
/// assert_eq!(rows.len(), 2);
/// assert_eq!(finished_seqs(&rows, false).len(), 2, "--resume skips both");
/// assert_eq!(finished_seqs(&rows, true).len(), 1, "--resume-failed re-runs seq 2");
/// assert_eq!(parse_joblog(b"junk\n").unwrap_err().line, 1);
/// ```
pub fn parse_joblog(text: &[u8]) -> Result<Vec<JoblogRow>, JoblogParseError> {
    let mut rows = Vec::new();
    if text.is_empty() {
        return Ok(rows);
    }
    let err = |line: usize, reason: &str| JoblogParseError {
        line,
        reason: reason.to_string(),
    };
    if !text.ends_with(b"\n") {
        let line = text.iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(err(line, "the last line is incomplete (no newline)"));
    }
    for (i, line) in text[..text.len() - 1].split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if n == 1 {
            if line != JOBLOG_HEADER.as_bytes() {
                return Err(err(1, "not a job log header (Seq\\tHost\\tStarttime...)"));
            }
            continue;
        }
        let fields: Vec<&[u8]> = line.splitn(9, |&b| b == b'\t').collect();
        if fields.len() != 9 {
            return Err(err(n, "expected 9 tab-separated fields"));
        }
        let text =
            |i: usize| std::str::from_utf8(fields[i]).map_err(|_| err(n, "field is not text"));
        fn num<T: std::str::FromStr>(s: &str, n: usize, what: &str) -> Result<T, JoblogParseError> {
            s.trim().parse().map_err(|_| JoblogParseError {
                line: n,
                reason: format!("{what} {s:?} is not a number"),
            })
        }
        rows.push(JoblogRow {
            seq: num(text(0)?, n, "Seq")?,
            host: text(1)?.to_string(),
            start: num(text(2)?, n, "Starttime")?,
            runtime: num(text(3)?, n, "JobRuntime")?,
            send: num(text(4)?, n, "Send")?,
            receive: num(text(5)?, n, "Receive")?,
            exitval: num(text(6)?, n, "Exitval")?,
            signal: num(text(7)?, n, "Signal")?,
            command: fields[8].to_vec(),
        });
    }
    Ok(rows)
}

/// The sequence numbers a resumed run skips: every task the log records
/// (`--resume`), or only those whose last row is a success (`--resume-failed`).
pub fn finished_seqs(rows: &[JoblogRow], rerun_failed: bool) -> std::collections::HashSet<u64> {
    let mut last: HashMap<u64, bool> = HashMap::new();
    for r in rows {
        last.insert(r.seq, r.succeeded());
    }
    last.into_iter()
        .filter(|&(_, ok)| ok || !rerun_failed)
        .map(|(s, _)| s)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(rows: &[&str]) -> Vec<u8> {
        let mut t = format!("{JOBLOG_HEADER}\n");
        for r in rows {
            t.push_str(r);
            t.push('\n');
        }
        t.into_bytes()
    }

    #[test]
    fn parses_gnu_parallels_rows() {
        let rows = parse_joblog(&log(&[
            "1\t:\t1376577364.974\t     0.008\t0\t0\t0\t0\ttrue",
            "2\t:\t1376577364.982\t0.013\t0\t7\t1\t0\tsh -c 'exit 1'\textra",
        ]))
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].runtime, 0.008);
        assert_eq!(rows[1].exitval, 1);
        assert_eq!(rows[1].command, b"sh -c 'exit 1'\textra");
        assert!(parse_joblog(b"").unwrap().is_empty());
    }

    #[test]
    fn refuses_bad_logs_with_the_line_number() {
        let e = parse_joblog(b"hello\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse_joblog(&log(&["1\t:\t1.0\t0.1\t0\t0\t0\t0\tx", "2\t:\tx"])).unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_joblog(&log(&["1\t:\tnope\t0.1\t0\t0\t0\t0\tx"])).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("Starttime"));
        let mut torn = log(&["1\t:\t1.0\t0.1\t0\t0\t0\t0\tx"]);
        torn.extend_from_slice(b"2\t:\t1.0");
        assert_eq!(parse_joblog(&torn).unwrap_err().line, 3);
    }

    #[test]
    fn resume_sets() {
        let rows = parse_joblog(&log(&[
            "1\t:\t1\t0\t0\t0\t0\t0\ta",
            "2\t:\t1\t0\t0\t0\t1\t0\tb",
            "3\t:\t1\t0\t0\t0\t-1\t9\tc",
            "2\t:\t1\t0\t0\t0\t0\t0\tb",
        ]))
        .unwrap();
        let all = finished_seqs(&rows, false);
        assert_eq!(all.len(), 3);
        let ok = finished_seqs(&rows, true);
        assert!(ok.contains(&1) && ok.contains(&2) && !ok.contains(&3));
    }
}
