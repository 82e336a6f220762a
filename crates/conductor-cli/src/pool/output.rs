//! Results on stdout: the reorder buffer that puts them in input order, and
//! each result's text or JSON form.
//!
//! Text: the result line as the worker wrote it, then `\n`. In line mode a
//! CR before the worker's newline is dropped, as it is from task lines, so
//! CRLF input and CRLF workers give LF output. Framed results are bytes and
//! are written unchanged.
//!
//! JSON (`--json`), one object per task: `line`, `ok`, then `result` when
//! the result is valid UTF-8, else `result_base64` (standard base64 of its
//! exact bytes, so no byte is lost), or `error`; then `host` (with
//! `-S/--sshlogin`), `attempts`, `worker` and `duration_ms`. Tasks that were never run (after a signal) have no
//! output at all.

use conductor::pool::{TaskError, TaskReport};
use std::collections::BTreeMap;
use std::io::Write;

/// Results waiting for the ones before them, by their position among the
/// tasks submitted (1, 2, ...). Logic only, no I/O.
pub struct Reorder<T> {
    next: u64,
    pending: BTreeMap<u64, T>,
}

impl<T> Reorder<T> {
    /// Empty, waiting for position 1.
    pub fn new() -> Reorder<T> {
        Reorder {
            next: 1,
            pending: BTreeMap::new(),
        }
    }

    /// The first position not yet released.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// Adds the outcome at position `seq`; returns the outcomes now in order.
    pub fn insert(&mut self, seq: u64, outcome: T) -> Vec<T> {
        self.pending.insert(seq, outcome);
        let mut ready = Vec::new();
        while let Some(outcome) = self.pending.remove(&self.next) {
            ready.push(outcome);
            self.next += 1;
        }
        ready
    }
}

/// How results are written.
#[derive(Clone, Copy)]
pub struct Format {
    /// One JSON object per task.
    pub json: bool,
    /// Line mode: drop a CR before the worker's newline.
    pub strip_cr: bool,
}

/// Writes one task's outcome: the result on `out`, a failure on stderr
/// (naming the `host` of its worker, with `-S`). Tasks never run write nothing.
pub fn write(
    out: &mut impl Write,
    format: Format,
    line: u64,
    report: &TaskReport,
    host: Option<&str>,
) -> std::io::Result<()> {
    if matches!(report.result, Err(TaskError::NotRun)) {
        return Ok(());
    }
    let result = report.result.as_ref().map(|r| match r.last() {
        Some(b'\r') if format.strip_cr => &r[..r.len() - 1],
        _ => &r[..],
    });
    if format.json {
        out.write_all(json_line(line, report, result, host).as_bytes())?;
    } else if let Ok(r) = result {
        out.write_all(r)?;
        out.write_all(b"\n")?;
    }
    if let Err(e) = &report.result {
        match host {
            Some(h) => eprintln!("conductor: task at line {line} failed on {h}: {e}"),
            None => eprintln!("conductor: task at line {line} failed: {e}"),
        }
    }
    Ok(())
}

/// The JSON object for one task, with its newline.
fn json_line(
    line: u64,
    report: &TaskReport,
    result: Result<&[u8], &TaskError>,
    host: Option<&str>,
) -> String {
    let info = &report.info;
    use std::fmt::Write as _;
    let mut s = format!("{{\"line\":{line},\"ok\":{}", result.is_ok());
    match result {
        Ok(r) => match std::str::from_utf8(r) {
            Ok(text) => {
                s.push_str(",\"result\":");
                crate::json::string(&mut s, text);
            }
            Err(_) => {
                s.push_str(",\"result_base64\":\"");
                crate::json::base64(&mut s, r);
                s.push('"');
            }
        },
        Err(e) => {
            s.push_str(",\"error\":");
            crate::json::string(&mut s, &e.to_string());
        }
    }
    if let Some(h) = host {
        s.push_str(",\"host\":");
        crate::json::string(&mut s, h);
    }
    // Written in place: no temporary strings per task.
    let _ = write!(s, ",\"attempts\":{},\"worker\":", info.runs);
    let _ = match info.worker {
        Some(w) => write!(s, "{w}"),
        None => write!(s, "null"),
    };
    let _ = writeln!(
        s,
        ",\"duration_ms\":{:.3}}}",
        info.elapsed.as_secs_f64() * 1000.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use conductor::pool::TaskInfo;
    use std::time::Duration;

    fn report(result: Result<Vec<u8>, TaskError>) -> TaskReport {
        TaskReport {
            result,
            info: TaskInfo {
                runs: 1,
                worker: Some(0),
                elapsed: Duration::ZERO,
            },
        }
    }

    #[test]
    fn reorder_releases_in_order() {
        // Positions 1, 2 (input lines 4 and 7: a shard's).
        let mut r = Reorder::new();
        assert!(r.insert(2, (7, report(Ok(b"b".to_vec())))).is_empty());
        let ready = r.insert(1, (4, report(Ok(b"a".to_vec()))));
        assert_eq!(ready.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [4, 7]);
        assert_eq!(r.next_seq(), 3);
    }

    #[test]
    fn json_is_lossless_and_text_drops_cr() {
        let mut out = Vec::new();
        let json = Format {
            json: true,
            strip_cr: true,
        };
        write(
            &mut out,
            json,
            1,
            &report(Ok(b"\xff\x00a\r".to_vec())),
            None,
        )
        .unwrap();
        write(&mut out, json, 2, &report(Ok(b"b".to_vec())), Some("h0")).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""result_base64":"/wBh""#), "{text}");
        assert!(!text.lines().next().unwrap().contains("host"), "{text}");
        assert!(
            text.contains(r#""result":"b","host":"h0","attempts""#),
            "{text}"
        );
        let mut out = Vec::new();
        let plain = Format {
            json: false,
            strip_cr: true,
        };
        write(&mut out, plain, 1, &report(Ok(b"a\r".to_vec())), None).unwrap();
        write(&mut out, plain, 2, &report(Err(TaskError::NotRun)), None).unwrap();
        assert_eq!(out, b"a\n");
    }
}
