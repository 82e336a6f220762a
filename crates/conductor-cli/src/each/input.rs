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

/// Reads the items on a thread and sends those not in `skip` (numbered from
/// 1 in input order) until the input ends or the run stops taking them.
pub fn feed(
    items: Box<dyn Iterator<Item = io::Result<OsString>> + Send>,
    skip: HashSet<u64>,
    tx: tokio::sync::mpsc::Sender<Input>,
) -> std::thread::JoinHandle<io::Result<u64>> {
    std::thread::spawn(move || {
        let mut seq = 0u64;
        for item in items {
            let item = item?;
            seq += 1;
            if skip.contains(&seq) {
                continue;
            }
            if tx.blocking_send(Input { seq, item }).is_err() {
                break;
            }
        }
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
