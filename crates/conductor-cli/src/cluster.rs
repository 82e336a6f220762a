//! The options that take a job beyond one machine, shared by the
//! subcommands that run many tasks (`pool`, and `each`): ssh hosts
//! ([`crate::remote`]), shards ([`crate::shard`]) and a launcher prefix
//! ([`crate::launcher`]). Flatten [`ClusterArgs`] into a subcommand's options.

use clap::Args;
use std::path::PathBuf;

/// `-S/--sshlogin`, `--sshloginfile`, `--ssh`, `--shard`, `--launcher`.
#[derive(Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Run on another machine over ssh: [N/]LOGIN, LOGIN being host,
    /// user@host, or a whole ssh command ('ssh -p 2222 user@host'); N slots
    /// (default -j, else the host's CPUs); ':' is this machine. Repeatable, or comma-separated.
    #[arg(short = 'S', long = "sshlogin", value_name = "[N/]LOGIN")]
    pub sshlogin: Vec<String>,
    /// Read logins from FILE, one per line (# comments).
    #[arg(long = "sshloginfile", value_name = "FILE")]
    pub sshloginfile: Vec<PathBuf>,
    /// The ssh client (and options) for logins that name only a host.
    #[arg(long, value_name = "PROGRAM")]
    pub ssh: Option<String>,
    /// Run only shard I of N of the inputs (input n goes to shard
    /// (n-1) % N + 1), or 'auto' from SLURM_ARRAY_TASK_* / JOB_COMPLETION_INDEX.
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,
    /// Put this command in front of every task or worker, e.g. 'srun --exact -n1 -c1'.
    #[arg(long, value_name = "PREFIX")]
    pub launcher: Option<String>,
}
