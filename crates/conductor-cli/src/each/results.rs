//! `--results DIR`: each task's stdout, stderr and status in `DIR/<seq>/`,
//! every file written to a temporary name and renamed into place, the status
//! last: a directory with a `status` file holds one complete result.

use conductor::jobs::TaskReport;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The results directory.
pub struct Results {
    dir: PathBuf,
}

impl Results {
    /// Creates `dir` if needed and checks that it is writable, before any task runs.
    pub fn prepare(dir: &Path) -> Result<Results, String> {
        let err = |e: io::Error| format!("--results {} is not writable: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(err)?;
        let probe = dir.join(format!(".conductor-probe-{}", std::process::id()));
        File::create(&probe).map_err(err)?;
        std::fs::remove_file(&probe).map_err(err)?;
        Ok(Results {
            dir: dir.to_path_buf(),
        })
    }

    /// Stores one task's result; `status` is its JSON status line.
    pub fn store(&self, r: &mut TaskReport, status: &str) -> io::Result<()> {
        let d = self.dir.join(r.seq.to_string());
        std::fs::create_dir_all(&d)?;
        write_atomic(&d, "stdout", |f| r.stdout.write_to(f))?;
        write_atomic(&d, "stderr", |f| r.stderr.write_to(f))?;
        write_atomic(&d, "status", |f| f.write_all(status.as_bytes()))
    }
}

/// Writes `dir/name` through `dir/.name.tmp` and a rename.
fn write_atomic(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = io::BufWriter::new(File::create(&tmp)?);
    fill(&mut f)?;
    f.flush()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))
}
