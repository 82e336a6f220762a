//! The `conductor` command-line tool: `run` one command with a timeout and
//! tree kill; `pool` to push tasks through persistent workers; `each` to run
//! a command once per input.

mod cluster;
mod duration;
mod each;
mod exit;
mod json;
mod launcher;
mod pool;
mod program;
mod remote;
mod run;
mod shard;
mod usage;

use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;

/// Spawn, supervise and talk to child processes.
#[derive(Parser, Debug)]
#[command(name = "conductor", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run one command with a timeout that stops its whole process tree.
    Run(run::RunArgs),
    /// Push tasks from stdin, one per line, through persistent workers.
    Pool(pool::PoolArgs),
    /// Run a command once per input (stdin lines, -a FILE or ::: ITEMS), N at a time.
    Each(each::EachArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let o = usage::outcome(&e, subcommand_named().as_deref());
            let _ = if o.to_stdout {
                std::io::stdout().write_all(o.text.as_bytes())
            } else {
                std::io::stderr().write_all(o.text.as_bytes())
            };
            std::process::exit(o.code);
        }
    };
    // conductor's own log (and the pool's), on stderr: RUST_LOG, else errors
    // only. Worker stderr is already on stderr (`pool` prints it as `[worker N]`
    // lines), so its copy in the log stays off unless RUST_LOG names its target.
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| "error".into());
    let directives = if directives.contains("conductor::pool::worker") {
        directives
    } else {
        format!("{directives},conductor::pool::worker=off")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    // One thread drives everything, `each` included: a spawn holds the thread
    // only until the child has exec'd (vfork), and a second runtime thread
    // competes with the tasks for the CPUs. Measured with 2,000 runs of
    // /bin/true at -j 2 (medians of 5): 1.29 s on this runtime, 1.41 s on a
    // multi-thread one (`conductor each -j 2 -- /bin/true` on a 2-CPU VM).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("conductor: cannot start the async runtime: {e}");
            std::process::exit(exit::FAILED);
        }
    };
    let code = match cli.command {
        Cmd::Run(args) => rt.block_on(run::run(args)),
        Cmd::Pool(args) => rt.block_on(pool::run(args)),
        Cmd::Each(args) => rt.block_on(each::run(args)),
    };
    // Don't wait for blocking threads (a read of stdin may never return).
    rt.shutdown_background();
    std::process::exit(code);
}

/// The subcommand named on the command line (conductor's first argument), if any.
fn subcommand_named() -> Option<String> {
    let first = std::env::args_os().nth(1)?.into_string().ok()?;
    Cli::command()
        .get_subcommands()
        .any(|c| c.get_name() == first)
        .then_some(first)
}
