//! Where the inputs come from: `::: ITEM...`, `-a FILE` or stdin, one item
//! per line (or per NUL with `-0`), as bytes: nothing is decoded.

use conductor::jobs::Input;
use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, BufRead, Read};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// The inputs of a run.
pub enum Source {
    /// Given on the command line after `:::`.
    Items(Vec<OsString>),
    /// Read from a file or stdin.
    Reader(Box<dyn Read + Send>, Option<PathBuf>),
}

impl Source {
    /// The `:::` items, else the arg file, else stdin.
    pub fn open(items: Option<Vec<OsString>>, arg_file: Option<&Path>) -> io::Result<Source> {
        if let Some(items) = items {
            return Ok(Source::Items(items));
        }
        match arg_file {
            Some(p) => Ok(Source::Reader(
                Box::new(std::fs::File::open(p)?),
                Some(p.to_path_buf()),
            )),
            None => Ok(Source::Reader(Box::new(io::stdin()), None)),
        }
    }

    /// The number of items when it can be known without consuming the input
    /// (items, an arg file, stdin redirected from a regular file).
    pub fn count(&self, delim: u8) -> Option<u64> {
        match self {
            Source::Items(v) => Some(v.len() as u64),
            Source::Reader(_, Some(p)) => count_items(p, delim),
            Source::Reader(_, None) => {
                use std::os::unix::fs::FileTypeExt;
                let meta = std::fs::metadata("/dev/stdin").ok()?;
                if !meta.file_type().is_file() || meta.file_type().is_fifo() {
                    return None;
                }
                // An independent open: our stdin's offset is untouched.
                count_items(Path::new("/dev/stdin"), delim)
            }
        }
    }

    /// Every item in order.
    pub fn items(self, delim: u8) -> Box<dyn Iterator<Item = io::Result<OsString>> + Send> {
        match self {
            Source::Items(v) => Box::new(v.into_iter().map(Ok)),
            Source::Reader(r, _) => Box::new(Items {
                r: io::BufReader::with_capacity(1 << 16, r),
                delim,
            }),
        }
    }
}

fn count_items(path: &Path, delim: u8) -> Option<u64> {
    let mut f = std::fs::File::open(path).ok()?;
    let (mut buf, mut n, mut last) = (vec![0u8; 1 << 16], 0u64, delim);
    loop {
        let got = f.read(&mut buf).ok()?;
        if got == 0 {
            break;
        }
        n += buf[..got].iter().filter(|&&b| b == delim).count() as u64;
        last = buf[got - 1];
    }
    Some(n + u64::from(last != delim))
}

/// Items split on `delim` (the delimiter is removed; a last item without one counts).
struct Items<R> {
    r: io::BufReader<R>,
    delim: u8,
}

impl<R: Read> Iterator for Items<R> {
    type Item = io::Result<OsString>;

    fn next(&mut self) -> Option<io::Result<OsString>> {
        let mut item = Vec::new();
        match self.r.read_until(self.delim, &mut item) {
            Ok(0) => None,
            Ok(_) => {
                if item.last() == Some(&self.delim) {
                    item.pop();
                }
                Some(Ok(OsString::from_vec(item)))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Items handed from the reader thread at once: one wake-up of the runtime
/// per batch, not per item.
const BATCH: usize = 512;

/// Reads the items on a thread and sends those not in `skip` (numbered from
/// 1 in input order) and in `shard` (all without one) until the input ends or the run stops taking them.
///
/// The thread sends batches: whatever it has read by the time its reader
/// would block (or [`BATCH`] items), so a slow producer's items still start
/// at once; a task of the runtime forwards them one by one to `tx`.
pub fn feed(
    source: Source,
    delim: u8,
    skip: HashSet<u64>,
    shard: Option<crate::shard::Shard>,
    tx: tokio::sync::mpsc::Sender<Input>,
) -> std::thread::JoinHandle<io::Result<u64>> {
    let (batch_tx, mut batch_rx) = tokio::sync::mpsc::channel::<Vec<Input>>(2);
    tokio::spawn(async move {
        while let Some(batch) = batch_rx.recv().await {
            for input in batch {
                if tx.send(input).await.is_err() {
                    return;
                }
            }
        }
    });
    std::thread::spawn(move || {
        let mut seq = 0u64;
        let mut batch = Vec::new();
        let send = |batch: &mut Vec<Input>| -> bool {
            batch.is_empty() || batch_tx.blocking_send(std::mem::take(batch)).is_ok()
        };
        match source {
            Source::Items(items) => {
                for item in items {
                    seq += 1;
                    if !skip.contains(&seq) && shard.is_none_or(|s| s.contains(seq)) {
                        batch.push(Input { seq, item });
                    }
                    if batch.len() >= BATCH && !send(&mut batch) {
                        return Ok(seq);
                    }
                }
            }
            Source::Reader(r, _) => {
                let mut items = Items {
                    r: io::BufReader::with_capacity(1 << 16, r),
                    delim,
                };
                while let Some(item) = items.next() {
                    let item = item?;
                    seq += 1;
                    if !skip.contains(&seq) && shard.is_none_or(|s| s.contains(seq)) {
                        batch.push(Input { seq, item });
                    }
                    // Send before the next read could block (no complete item buffered).
                    let more_buffered = items.r.buffer().contains(&delim);
                    if (batch.len() >= BATCH || !more_buffered) && !send(&mut batch) {
                        return Ok(seq);
                    }
                }
            }
        }
        send(&mut batch);
        Ok(seq)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_the_delimiter_keeping_bytes() {
        let src = Source::Reader(Box::new(&b"a\n\xffb\n\nc"[..]), None);
        let got: Vec<Vec<u8>> = src.items(b'\n').map(|i| i.unwrap().into_vec()).collect();
        assert_eq!(
            got,
            vec![
                b"a".to_vec(),
                b"\xffb".to_vec(),
                b"".to_vec(),
                b"c".to_vec()
            ]
        );
        let src = Source::Reader(Box::new(&b"x y\0z\n\0"[..]), None);
        let got: Vec<Vec<u8>> = src.items(0).map(|i| i.unwrap().into_vec()).collect();
        assert_eq!(got, vec![b"x y".to_vec(), b"z\n".to_vec()]);
    }
}
