//! `--joblog FILE`: read (and refuse if it does not parse) before the run,
//! then one row appended and written through per finished task.

use conductor::jobs::{
    finished_seqs, parse_joblog, shell_line, JoblogRow, Outcome, TaskReport, JOBLOG_HEADER,
};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Which logged tasks a run skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// None: every input runs (rows are appended to an existing log).
    No,
    /// Every task the log records.
    Finished,
    /// Only those whose last row is a success.
    Succeeded,
}

/// Reads the log at `path` (missing means empty) and returns the sequence
/// numbers to skip. A log that does not parse is an error naming the line.
pub fn skip_set(path: &Path, resume: Resume) -> Result<HashSet<u64>, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("cannot read --joblog {}: {e}", path.display())),
    };
    let rows = parse_joblog(&text).map_err(|e| {
        format!(
            "--joblog {} is not a job log ({e}); leaving it untouched",
            path.display()
        )
    })?;
    Ok(match resume {
        Resume::No => HashSet::new(),
        Resume::Finished => finished_seqs(&rows, false),
        Resume::Succeeded => finished_seqs(&rows, true),
    })
}

/// An open job log, appended to.
pub struct Joblog {
    file: File,
    /// Write each task's host in the Host column (`-S`, `--launcher`);
    /// else `:`, GNU parallel's local machine.
    pub hosts: bool,
}

impl Joblog {
    /// Opens (creating) the log for appending; writes the header into an empty one.
    /// Call [`skip_set`] first: it refuses a log that does not parse.
    pub fn open(path: &Path) -> Result<Joblog, String> {
        let err = |e: io::Error| format!("cannot open --joblog {}: {e}", path.display());
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err)?;
        if file.metadata().map_err(err)?.len() == 0 {
            file.write_all(format!("{JOBLOG_HEADER}\n").as_bytes())
                .map_err(err)?;
        }
        Ok(Joblog { file, hosts: false })
    }

    /// Appends the task's row in one write (O_APPEND: a row is never torn by
    /// a crash of conductor).
    pub fn append(&mut self, r: &TaskReport) -> io::Result<()> {
        let mut row = row(r);
        if self.hosts {
            row.host = r.host.clone();
        }
        self.file.write_all(&row.format())
    }
}

/// The job-log row for a task.
pub fn row(r: &TaskReport) -> JoblogRow {
    let mut row = JoblogRow::new(r.seq, r.start, r.duration);
    row.receive = r.output_bytes;
    match r.status() {
        Some(s) => {
            row.exitval = s.code().unwrap_or(-1);
            row.signal = s.signal().unwrap_or(0);
        }
        None => row.exitval = r.exit_code(),
    }
    if matches!(r.outcome, Outcome::TimedOut(_)) && row.signal == 0 && row.exitval == 0 {
        row.exitval = -1;
    }
    row.command = shell_line(&r.argv);
    row
}
