//! Printing tasks' output: whole per task, in input order (or as they
//! finish), optionally tagged with the item, or as one JSON object per task;
//! and `--line-buffer`'s live lines.

use conductor::jobs::InOrder;
use conductor::jobs::{Outcome, Stream, TaskReport};
use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

/// How output is printed.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Prefix lines with the item and a tab.
    pub tag: bool,
    /// One JSON object per task instead of the output.
    pub json: bool,
    /// As tasks finish, not in input order.
    pub unordered: bool,
}

/// Prints finished tasks on stdout (their stderr on stderr).
pub struct Printer {
    out: io::BufWriter<io::Stdout>,
    style: Style,
    order: InOrder<Box<TaskReport>>,
    /// A task's place in the output order (its seq; its position within a shard).
    key: Box<dyn Fn(u64) -> u64 + Send>,
}

impl Printer {
    /// A printer; `skip` are the sequence numbers that will never be reported.
    pub fn new(style: Style, skip: HashSet<u64>) -> Printer {
        Printer {
            out: io::BufWriter::with_capacity(1 << 16, io::stdout()),
            style,
            order: InOrder::new(skip),
            key: Box::new(|seq| seq),
        }
    }

    /// A printer whose input order is `key(seq)` (1, 2, 3...: a shard's
    /// positions); `skip` are keys that will never be reported.
    pub fn with_order(
        style: Style,
        skip: HashSet<u64>,
        key: impl Fn(u64) -> u64 + Send + 'static,
    ) -> Printer {
        Printer {
            key: Box::new(key),
            ..Printer::new(style, skip)
        }
    }

    /// Takes a finished task; prints it and any it was holding back, and
    /// returns the reports printed, in order. Output is flushed before return.
    pub fn finished(&mut self, r: Box<TaskReport>) -> io::Result<Vec<TaskReport>> {
        let mut printed: Vec<TaskReport> = if self.style.unordered {
            vec![*r]
        } else {
            let seq = (self.key)(r.seq);
            self.order.push(seq, r).into_iter().map(|r| *r).collect()
        };
        for r in printed.iter_mut() {
            self.print(r)?;
        }
        self.out.flush()?;
        Ok(printed)
    }

    /// Prints everything still held back (tasks after a gap that will not be
    /// filled: the run stopped early), in order.
    pub fn drain(&mut self) -> io::Result<Vec<TaskReport>> {
        let mut printed: Vec<TaskReport> = self.order.drain().into_iter().map(|r| *r).collect();
        for r in printed.iter_mut() {
            self.print(r)?;
        }
        self.out.flush()?;
        Ok(printed)
    }

    fn print(&mut self, r: &mut TaskReport) -> io::Result<()> {
        if self.style.json {
            let line = json_object(r, true)?;
            return self.out.write_all(line.as_bytes());
        }
        if self.style.tag {
            // Disjoint fields: the item is borrowed, not copied, per task.
            let item = r.item.as_bytes();
            let out = &mut self.out;
            r.stdout.for_each_line(|l| tagged(out, item, l))?;
            let mut err = io::stderr().lock();
            r.stderr.for_each_line(|l| tagged(&mut err, item, l))
        } else {
            r.stdout.write_to(&mut self.out)?;
            if !r.stderr.is_empty() {
                // Keep the two streams in the order the task wrote them as far as we can.
                self.out.flush()?;
                r.stderr.write_to(&mut io::stderr().lock())?;
            }
            Ok(())
        }
    }

    /// Prints one live line (`--line-buffer`).
    pub fn line(&mut self, item: Option<&OsStr>, stream: Stream, line: &[u8]) -> io::Result<()> {
        match stream {
            Stream::Stdout => {
                match item.filter(|_| self.style.tag) {
                    Some(i) => tagged(&mut self.out, i.as_bytes(), line)?,
                    None => write_line(&mut self.out, line)?,
                }
                self.out.flush()
            }
            Stream::Stderr => {
                let mut err = io::stderr().lock();
                match item.filter(|_| self.style.tag) {
                    Some(i) => tagged(&mut err, i.as_bytes(), line),
                    None => write_line(&mut err, line),
                }
            }
        }
    }
}

fn write_line(w: &mut dyn Write, line: &[u8]) -> io::Result<()> {
    w.write_all(line)?;
    if !line.ends_with(b"\n") {
        w.write_all(b"\n")?;
    }
    Ok(())
}

fn tagged(w: &mut dyn Write, item: &[u8], line: &[u8]) -> io::Result<()> {
    w.write_all(item)?;
    w.write_all(b"\t")?;
    write_line(w, line)
}

/// The task as one JSON object and a newline: seq, item, command, exit,
/// signal, timed_out, oom_killed, attempts, start (seconds since the epoch),
/// duration (seconds), host, and with `output` its stdout and stderr
/// (bytes that are not UTF-8 are replaced with U+FFFD).
pub fn json_object(r: &mut TaskReport, output: bool) -> io::Result<String> {
    use crate::json::string;
    let mut s = format!("{{\"seq\":{},\"item\":", r.seq);
    string(&mut s, &r.item.to_string_lossy());
    s.push_str(",\"command\":");
    string(
        &mut s,
        &String::from_utf8_lossy(&conductor::jobs::shell_line(&r.argv)),
    );
    let (exit, signal) = match r.status() {
        Some(st) => (
            st.code().map_or("null".into(), |c| c.to_string()),
            st.signal().map_or("null".into(), |c| c.to_string()),
        ),
        None => (r.exit_code().to_string(), "null".into()),
    };
    let start = r
        .start
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    s.push_str(&format!(
        ",\"exit\":{exit},\"signal\":{signal},\"timed_out\":{},\"oom_killed\":{},\"attempts\":{},\"start\":{start:.3},\"duration\":{:.6},\"host\":",
        matches!(r.outcome, Outcome::TimedOut(_)),
        r.oom_killed(),
        r.attempts,
        r.duration.as_secs_f64(),
    ));
    string(&mut s, &r.host);
    if let Outcome::SpawnFailed(e) = &r.outcome {
        s.push_str(",\"error\":");
        string(&mut s, &e.to_string());
    }
    if output {
        s.push_str(",\"stdout\":");
        string(&mut s, &String::from_utf8_lossy(&r.stdout.to_vec()?));
        s.push_str(",\"stderr\":");
        string(&mut s, &String::from_utf8_lossy(&r.stderr.to_vec()?));
    }
    s.push_str("}\n");
    Ok(s)
}
