//! `conductor run`: one command with inherited stdio, contained, with a
//! timeout that stops its whole tree, signal forwarding and timeout(1)-style
//! exit codes. Signals are in `signals`, the shared terminal in `terminal`,
//! containment and the clean-up after the child in `containment`.

mod containment;
mod signals;
mod terminal;

use crate::exit;
use clap::Args;
use conductor::unix::SignalListener;
use conductor::Command;
pub use containment::ContainmentArg;
use std::time::{Duration, Instant};

mod pty;

/// Options of `conductor run`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  conductor run --timeout 2s -- make test\n  conductor run --timeout 1m30s --grace 5s --rusage -- ./build.sh release\n\n\
Exit status: the program's own; 128+N if it died of signal N; 124 on timeout;\n\
125 if conductor itself failed; 126 if the program cannot be executed; 127 if it is not found.\n\n\
Signals: INT, TERM, HUP, QUIT, USR1, USR2, WINCH and CONT sent to conductor are passed on to\n\
the whole tree; conductor dies of none of them and exits with the program's status.\n\n\
Terminal: the program runs in the terminal's foreground, as with timeout(1)'s --foreground\n\
(which conductor needs no option for): it may read the terminal, and one Ctrl-C reaches it\n\
once, from the terminal. A program leading its own process group (--containment group, or\n\
best without a cgroup) is given the terminal for the run; conductor takes it back at the end,\n\
and when Ctrl-Z stops the program (conductor then stops too, for the shell's job control).\n\
Unlike timeout(1) --foreground, the whole tree is still stopped on timeout. With a cgroup,\n\
what is left of the tree when the program exits is killed, and the cgroup removed."
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
    let mut signals = match SignalListener::new(&signals::LISTENED) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conductor: cannot listen for signals: {e}");
            return exit::FAILED;
        }
    };
    // Orphans of the tree are re-parented to conductor and reaped here.
    #[cfg(target_os = "linux")]
    let _ = conductor::unix::set_child_subreaper(true);
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return exit::report_spawn_error(&e),
    };
    let in_our_group = in_our_group(child.id());
    let mut tty = terminal::Terminal::if_foreground();
    // When the child leads its own group, make that the terminal's foreground.
    let gave = tty
        .as_mut()
        .filter(|_| !in_our_group && same_session(child.id()))
        .is_some_and(|t| t.give(child.id() as i32).is_ok());
    // Raw mode lasts as long as `relay`: any return below restores it.
    let relay = child.take_pty().map(pty::Relay::start);
    let deadline = crate::duration::limit(args.timeout).map(|t| tokio::time::Instant::now() + t);
    let mut timed_out = false;
    let mut listening = true;
    let status = loop {
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = child.wait() => break r,
            sig = signals.recv(), if listening => {
                let sig = match sig {
                    Ok(sig) => sig,
                    Err(e) => {
                        eprintln!("conductor: stopped forwarding signals: {e}");
                        listening = false;
                        continue;
                    }
                };
                if let (true, Some(t)) = (gave, tty.as_mut()) {
                    match signals::job_control(&sig, child.id()) {
                        Some(signals::Job::Stopped(by)) => {
                            let pgid = child.id() as i32;
                            if signals::stopped_before_given(by) && t.held_by(pgid) {
                                // It read the terminal before it was given it: resume it.
                                let _ = child.signal_tree(libc::SIGCONT);
                            } else {
                                t.child_stopped(pgid);
                            }
                        }
                        Some(signals::Job::Continued) => t.continued(child.id() as i32),
                        None => {}
                    }
                }
                // Forward to the whole tree; keep waiting for the child's own exit.
                if signals::should_forward(&sig, in_our_group) {
                    if let Err(e) = child.signal_tree(sig.signal) {
                        eprintln!("conductor: cannot forward signal {}: {e}", sig.signal);
                    }
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
    drop(tty);
    let usage = status.as_ref().ok().and_then(|_| child.resource_usage());
    containment::finish(child).await;
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            eprintln!("conductor: {e}");
            return exit::FAILED;
        }
    };
    if args.rusage {
        let wall = started.elapsed();
        match usage {
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

/// True if process `pid` is in conductor's own process group.
fn in_our_group(pid: u32) -> bool {
    let pid = rustix::process::Pid::from_raw(pid as i32);
    rustix::process::getpgid(pid).ok() == Some(rustix::process::getpgrp())
}

/// True if process `pid` is in conductor's session (so it shares its terminal).
fn same_session(pid: u32) -> bool {
    let pid = rustix::process::Pid::from_raw(pid as i32);
    rustix::process::getsid(pid).ok() == rustix::process::getsid(None).ok()
}
