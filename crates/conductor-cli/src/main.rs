//! The `conductor` command-line tool.
use clap::Parser;

/// Spawn, supervise and talk to child processes.
#[derive(Parser, Debug)]
#[command(name = "conductor", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
