//! The options of `conductor each`, and the parsing of their values.

use crate::run::ContainmentArg;
use clap::Args;
use conductor::jobs::HaltPolicy;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `conductor each`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
ls *.jpg | conductor each -j 4 -- convert {} {.}.png\n  \
conductor each --timeout 30s --retries 2 --joblog jobs.log -- curl -fsSO ::: URL1 URL2\n  \
conductor each --resume --joblog jobs.log --results out/ -a urls.txt -- curl -fsS\n  \
conductor each -S 8/node1,8/node2 --joblog jobs.log -a files.txt -- gzip -9\n  \
salloc -n 16 conductor each --launcher 'srun --exact -n1 -c1' -- ./simulate ::: params/*\n\n\
Placeholders: {} item, {.} without extension, {/} basename, {//} directory, {/.} basename\n\
without extension, {#} sequence number, {%} slot. Without one, the item is the last argument.\n\
No shell runs: write sh -c '...' sh {} for one.\n\n\
Exit status: 0 when every task succeeded; 1-100 the number that failed, 101 for more;\n\
with --halt, the status of the task that caused it; 128+signal after Ctrl-C (130), SIGTERM\n\
or SIGHUP; 125 if conductor itself failed; 127 if the command is not found (126 if it cannot be executed).")]
pub struct EachArgs {
    /// Tasks running at once (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Read inputs from FILE instead of stdin.
    #[arg(short = 'a', long = "arg-file", value_name = "FILE")]
    pub arg_file: Option<PathBuf>,
    /// Inputs are separated by NUL bytes instead of newlines.
    #[arg(short = '0', long = "null")]
    pub null: bool,
    /// Start no task while available memory is below SIZE (e.g. 1G, 500M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memfree: Option<u64>,
    /// Cap each task's tree at SIZE of memory through the kernel's memory
    /// controller (cgroup v2 memory.max, or v1 memory); an OOM kill is reported.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub mem_limit: Option<u64>,
    /// Print each task's output as it finishes instead of in input order.
    #[arg(long)]
    pub unordered: bool,
    /// Keep input order (the default; accepted for GNU parallel compatibility).
    #[arg(short = 'k', long = "keep-order", conflicts_with = "unordered")]
    pub keep_order: bool,
    /// Print output line by line as tasks write it (whole lines, never mixed).
    #[arg(long, conflicts_with_all = ["json", "keep_order"])]
    pub line_buffer: bool,
    /// Prefix each output line with the item and a tab.
    #[arg(long)]
    pub tag: bool,
    /// One JSON object per task on stdout: seq, item, command, exit, signal,
    /// timed_out, oom_killed, attempts, start, duration, host, stdout, stderr.
    #[arg(long)]
    pub json: bool,
    /// Store each task's stdout, stderr and status in DIR/<seq>/ (each file
    /// written atomically).
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// Stop a task's whole tree after this long (500ms, 2s, 1m30s); 0 means none.
    #[arg(long, value_parser = crate::duration::parse)]
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when stopping a tree.
    #[arg(long, default_value = "5s", value_parser = crate::duration::parse)]
    pub grace: Duration,
    /// Extra attempts for a task that failed or timed out.
    #[arg(long, default_value_t = 0)]
    pub retries: u32,
    /// Stop early: now|soon,fail=N|fail=N%|success=N|success=N%|done=N (GNU parallel's meaning).
    #[arg(long, value_name = "POLICY", value_parser = parse_halt)]
    pub halt: Option<HaltPolicy>,
    /// How each task's process tree is held together.
    #[arg(long, value_enum, default_value_t = ContainmentArg::Group)]
    pub containment: ContainmentArg,
    /// Append a row per finished task to FILE, in GNU parallel's format.
    #[arg(long, value_name = "FILE")]
    pub joblog: Option<PathBuf>,
    /// Skip the inputs the job log records as finished.
    #[arg(long, requires = "joblog")]
    pub resume: bool,
    /// Skip the inputs the job log records as succeeded; run failed ones again.
    #[arg(long, requires = "joblog", conflicts_with = "resume")]
    pub resume_failed: bool,
    /// Print the commands that would run, shell-quoted, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
    /// The command template, then optionally `::: ITEM...` as the inputs.
    #[command(flatten)]
    pub command: crate::program::Program,
}

/// Parses `--halt`.
fn parse_halt(s: &str) -> Result<HaltPolicy, String> {
    s.parse()
        .map_err(|e: conductor::jobs::HaltParseError| e.to_string())
}

/// Parses a size: a number of bytes with an optional suffix: K, M, G, T
/// (powers of 1024, also KiB...), k, m, g, t (powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected a number such as 512M or 2G"))?;
    let scale: f64 = match unit {
        "" | "b" | "B" => 1.0,
        "K" | "KiB" => 1024.0,
        "M" | "MiB" => 1024f64.powi(2),
        "G" | "GiB" => 1024f64.powi(3),
        "T" | "TiB" => 1024f64.powi(4),
        "k" | "kB" | "KB" => 1e3,
        "m" | "MB" => 1e6,
        "g" | "GB" => 1e9,
        "t" | "TB" => 1e12,
        u => {
            return Err(format!(
                "invalid size {text:?}: unknown unit {u:?} (use K, M, G or T)"
            ))
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
        return Err(format!("invalid size {text:?}: must be at least one byte"));
    }
    Ok(bytes as u64)
}

/// A size for messages: `64 MiB`, `1.5 GiB`, or bytes.
pub fn size_text(bytes: u64) -> String {
    conductor::pool::ByteSize(bytes).to_string()
}

impl EachArgs {
    /// The command template and the `:::` items, if any. Errors name what is wrong.
    pub fn split_command(&self) -> Result<(Vec<OsString>, Option<Vec<OsString>>), String> {
        let argv: &[OsString] = &self.command;
        match argv.iter().position(|a| a == ":::") {
            None => Ok((argv.to_vec(), None)),
            Some(0) => Err("missing the command before ':::'".into()),
            Some(i) => {
                let items = argv[i + 1..].to_vec();
                if items.iter().any(|a| a == ":::") {
                    return Err("only one ':::' list is supported".into());
                }
                if self.arg_file.is_some() {
                    return Err("'-a/--arg-file' and ':::' both give inputs; use one".into());
                }
                Ok((argv[..i].to_vec(), Some(items)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("4K"), Ok(4096));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("2m"), Ok(2_000_000));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(super::size_text(64 << 20), "64 MiB");
        assert_eq!(super::size_text(3 << 29), "1.5 GiB");
        assert_eq!(super::size_text(100), "100 bytes");
        for bad in ["", "G", "1X", "0", "-1M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
