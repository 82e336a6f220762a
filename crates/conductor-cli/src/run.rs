//! `conductor run`: one command with inherited stdio, contained, with a
//! timeout that stops its whole tree, signal forwarding and timeout(1)-style
//! exit codes.

use crate::exit;
use clap::{Args, ValueEnum};
use conductor::{Command, Containment};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};

mod pty;

/// Options of `conductor run`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  conductor run --timeout 2s -- make test\n  conductor run --timeout 1m30s --grace 5s --rusage -- ./build.sh release\n\n\
Exit status: the program's own; 128+N if it died of signal N; 124 on timeout;\n\
125 if conductor itself failed; 126 if the program cannot be executed; 127 if it is not found."
)]
pub struct RunArgs {
    /// Stop the whole process tree after this long (500ms, 2s, 1m30s, 1d) and exit 124;
    /// 0 means no timeout, as with timeout(1).
    #[arg(long, value_parser = crate::duration::parse)]
    timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when stopping the tree.
    #[arg(long, default_value = "5s", value_parser = crate::duration::parse)]
    grace: Duration,
    /// How the process tree is held together.
    #[arg(long, value_enum, default_value_t = ContainmentArg::Best)]
    containment: ContainmentArg,
    /// Print CPU times, peak RSS and wall time on stderr after exit.
    #[arg(long)]
    rusage: bool,
    /// Run the program on a new pseudo-terminal and relay this terminal to it
    /// (raw mode while it runs, window size followed).
    #[arg(long)]
    pty: bool,
    #[command(flatten)]
    command: crate::program::Program,
}

/// `--containment`'s values (shared with `each`).
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ContainmentArg {
    /// A cgroup when usable, else a process group.
    Best,
    /// A cgroup v2 (fails if none is writable).
    Cgroup,
    /// A new process group.
    Group,
    /// A new session.
    Session,
    /// None: only the direct child is signalled.
    None,
}

impl From<ContainmentArg> for Containment {
    fn from(c: ContainmentArg) -> Containment {
        match c {
            ContainmentArg::Best => Containment::BestAvailable,
            ContainmentArg::Cgroup => Containment::Cgroup,
            ContainmentArg::Group => Containment::ProcessGroup,
            ContainmentArg::Session => Containment::Session,
            ContainmentArg::None => Containment::None,
        }
    }
}

/// Runs the command; returns the exit code for conductor.
pub async fn run(args: RunArgs) -> i32 {
    let (program, rest) = args.command.split();
    let mut cmd = Command::new(program);
    cmd.args(rest).containment(args.containment.into());
    if args.pty {
        cmd.pty(pty::initial_size());
    }
    // Listen before spawning, so a signal that arrives as soon as the child
    // runs is forwarded rather than killing conductor.
    let signals = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ];
    let mut streams = Vec::new();
    for kind in signals {
        match signal(kind) {
            Ok(s) => streams.push((kind.as_raw_value(), s)),
            Err(e) => {
                eprintln!("conductor: cannot listen for signals: {e}");
                return exit::FAILED;
            }
        }
    }
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return exit::report_spawn_error(&e),
    };
    // Raw mode lasts as long as `relay`: any return below restores it.
    let relay = child.take_pty().map(pty::Relay::start);
    let deadline = crate::duration::limit(args.timeout).map(|t| tokio::time::Instant::now() + t);
    let mut timed_out = false;
    let status = loop {
        let recv = async {
            let futs = streams.iter_mut().map(|(n, s)| {
                let n = *n;
                Box::pin(async move {
                    s.recv().await;
                    n
                })
            });
            select_first(futs).await
        };
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = child.wait() => break r,
            sig = recv => {
                // Forward to the whole tree; keep waiting for the child's own exit.
                if let Err(e) = child.signal_tree(sig) {
                    eprintln!("conductor: cannot forward signal {sig}: {e}");
                }
            }
            _ = timer, if !timed_out => {
                timed_out = true;
                break child.terminate(args.grace).await;
            }
        }
    };
    if let Some(relay) = relay {
        relay.finish().await;
    }
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conductor: {e}");
            return exit::FAILED;
        }
    };
    if args.rusage {
        let wall = started.elapsed();
        match child.resource_usage() {
            Some(ru) => eprintln!(
                "conductor: user {:.3}s system {:.3}s max-rss {} KiB wall {:.3}s ({})",
                ru.user_time.as_secs_f64(),
                ru.system_time.as_secs_f64(),
                ru.max_rss_bytes / 1024,
                wall.as_secs_f64(),
                usage_sources(&ru)
            ),
            None => eprintln!(
                "conductor: wall {:.3}s (resource usage unavailable)",
                wall.as_secs_f64()
            ),
        }
    }
    if timed_out {
        let program = program.to_string_lossy();
        eprintln!(
            "conductor: {program} timed out after {:?}; its process tree was stopped ({status})",
            args.timeout.unwrap_or_default()
        );
        return exit::TIMED_OUT;
    }
    exit::from_status(status)
}

/// What `--rusage`'s figures cover, and an OOM kill, for its line.
fn usage_sources(ru: &conductor::ResourceUsage) -> String {
    use conductor::UsageSource::Cgroup;
    let cpu = if ru.cpu_source == Cgroup {
        "cpu: whole tree (cgroup)"
    } else {
        "cpu: the child and the descendants it waited for"
    };
    let mem = if ru.memory_source == Cgroup {
        "max-rss: the tree's peak (cgroup)"
    } else {
        "max-rss: upper bound, may include conductor's own size at spawn (rusage)"
    };
    let oom = if ru.oom_killed { "; OOM-killed" } else { "" };
    format!("{cpu}; {mem}{oom}")
}

/// Resolves with the output of whichever future finishes first.
async fn select_first<F: std::future::Future<Output = i32> + Unpin>(
    futs: impl Iterator<Item = F>,
) -> i32 {
    let mut futs: Vec<F> = futs.collect();
    std::future::poll_fn(|cx| {
        for f in futs.iter_mut() {
            if let std::task::Poll::Ready(v) = std::future::Future::poll(std::pin::Pin::new(f), cx)
            {
                return std::task::Poll::Ready(v);
            }
        }
        std::task::Poll::Pending
    })
    .await
}
