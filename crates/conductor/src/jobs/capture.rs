//! A task's output, kept whole: in memory up to a bound, then spilled to an
//! unlinked temporary file, so a huge output costs disk, not RAM.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Everything a task wrote on one stream.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// let mut c = conductor::jobs::Captured::default();
/// assert!(c.is_empty());
/// let mut out = Vec::new();
/// c.write_to(&mut out)?;
/// assert!(out.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Captured {
    mem: Vec<u8>,
    file: Option<File>,
    len: u64,
}

impl Captured {
    /// Bytes captured.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was captured.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when the output went past the memory bound and lives in a file.
    pub fn is_spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Copies the whole output to `w`.
    ///
    /// # Errors
    ///
    /// The `io::Error` of reading the spilled file back or of writing to `w`.
    pub fn write_to(&mut self, w: &mut dyn Write) -> io::Result<()> {
        match &mut self.file {
            None => w.write_all(&self.mem),
            Some(f) => {
                f.rewind()?;
                io::copy(f, w).map(drop)
            }
        }
    }

    /// Calls `each` with every line (the last one may lack its newline).
    ///
    /// # Errors
    ///
    /// The `io::Error` of reading the spilled file back, or the first error `each` returns.
    pub fn for_each_line(
        &mut self,
        mut each: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        match &mut self.file {
            None => {
                for line in self.mem.split_inclusive(|&b| b == b'\n') {
                    each(line)?;
                }
                Ok(())
            }
            Some(f) => {
                f.rewind()?;
                let mut r = io::BufReader::new(f);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if io::BufRead::read_until(&mut r, b'\n', &mut line)? == 0 {
                        return Ok(());
                    }
                    each(&line)?;
                }
            }
        }
    }

    /// The whole output in memory (reads a spilled file back).
    ///
    /// # Errors
    ///
    /// The `io::Error` of reading the spilled file back.
    pub fn to_vec(&mut self) -> io::Result<Vec<u8>> {
        match &mut self.file {
            None => Ok(self.mem.clone()),
            Some(f) => {
                f.rewind()?;
                let mut v = Vec::new();
                f.read_to_end(&mut v)?;
                Ok(v)
            }
        }
    }
}

/// An unlinked temporary file, readable and writable.
fn spill_file() -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    #[cfg(target_os = "linux")]
    if let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir)
    {
        return Ok(f);
    }
    for n in 0u32.. {
        let path = dir.join(format!(".conductor-output-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!()
}

/// Reads `r` to its end, keeping at most `bound` bytes in memory.
///
/// Reads go straight into the kept buffer (no zeroed staging buffer, nothing
/// large inside the future, which is moved when spawned): a task that writes
/// nothing costs one small allocation.
pub(crate) async fn capture<R: AsyncRead + Unpin>(mut r: R, bound: usize) -> io::Result<Captured> {
    let mut c = Captured::default();
    loop {
        if c.mem.len() == c.mem.capacity() {
            c.mem.reserve(c.mem.len().clamp(4096, 64 * 1024));
        }
        let n = r.read_buf(&mut c.mem).await?;
        c.len += n as u64;
        if let Some(f) = &mut c.file {
            // Spilled: `mem` is only the read buffer.
            f.write_all(&c.mem)?;
            c.mem.clear();
        } else if c.mem.len() > bound {
            let mut f = spill_file()?;
            f.write_all(&c.mem)?;
            c.file = Some(f);
            c.mem = Vec::with_capacity(64 * 1024);
        }
        if n == 0 {
            if c.file.is_some() {
                c.mem = Vec::new();
            }
            return Ok(c);
        }
    }
}

/// Reads `r` to its end, handing over each complete line (and a last
/// unterminated one) as it arrives; returns the byte count.
pub(crate) async fn lines<R: AsyncRead + Unpin>(
    mut r: R,
    mut each: impl FnMut(Vec<u8>),
) -> io::Result<u64> {
    let (mut pending, mut total) = (Vec::new(), 0u64);
    loop {
        if pending.len() == pending.capacity() {
            pending.reserve(pending.len().clamp(4096, 64 * 1024));
        }
        let before = pending.len();
        let n = r.read_buf(&mut pending).await?;
        if n == 0 {
            if !pending.is_empty() {
                each(pending);
            }
            return Ok(total);
        }
        total += n as u64;
        // Only the new bytes can hold the next newline.
        let mut from = before;
        while let Some(i) = pending[from..].iter().position(|&b| b == b'\n') {
            let rest = pending.split_off(from + i + 1);
            each(std::mem::replace(&mut pending, rest));
            from = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spills_past_the_bound_and_reads_back_whole() {
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let mut c = capture(&data[..], 1024).await.unwrap();
        assert!(c.is_spilled());
        assert_eq!(c.len(), data.len() as u64);
        assert_eq!(c.to_vec().unwrap(), data);
        let mut n = 0;
        c.for_each_line(|_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 100_000);
        let mut small = capture(&b"a\nb"[..], 1024).await.unwrap();
        assert!(!small.is_spilled());
        let mut out = Vec::new();
        small.write_to(&mut out).unwrap();
        assert_eq!(out, b"a\nb");
    }

    #[tokio::test]
    async fn lines_arrive_whole() {
        let mut got = Vec::new();
        let n = lines(&b"one\ntwo\nthree"[..], |l| got.push(l))
            .await
            .unwrap();
        assert_eq!(n, 13);
        assert_eq!(
            got,
            vec![b"one\n".to_vec(), b"two\n".to_vec(), b"three".to_vec()]
        );
    }
}
