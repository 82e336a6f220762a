//! `--metrics FILE`: the pool's metrics in the Prometheus text format
//! ([`PoolStats::prometheus`]), rewritten atomically (a temporary file in
//! the same directory, then a rename), so that node_exporter's textfile
//! collector never reads half a file.

use conductor::pool::PoolStats;
use std::io::Write;
use std::path::Path;

/// Writes `stats` to `path` atomically.
pub fn write(path: &Path, stats: &PoolStats) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut f = std::fs::File::create(&tmp)?;
    let written = f
        .write_all(stats.prometheus().as_bytes())
        .and_then(|()| f.flush());
    drop(f);
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
