//! Worker monitoring: every [`PoolConfig::monitor_interval`](super::PoolConfig::monitor_interval)
//! one task measures each worker's process tree (resident memory, CPU time,
//! open descriptors) and hands the samples to the pool, which applies the
//! memory limits ([`Shared::record_usage`]).
//!
//! A worker's tree is the processes in its process group (the pool's
//! default containment) and every descendant of the worker, found in one
//! scan of `/proc` per sample for the whole pool, on tokio's blocking
//! thread pool (Linux; elsewhere nothing is measured).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;

use super::state::{Phase, Shared};

/// One sample of a worker's process tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Usage {
    /// Resident memory, summed over the tree, in bytes.
    pub memory: u64,
    /// User plus system CPU time of the tree (including reaped children).
    pub cpu: Duration,
    /// Open descriptors in the tree.
    pub fds: u64,
    /// Processes in the tree.
    pub processes: u64,
}

/// Samples the pool's workers until the pool stops.
pub(super) async fn monitor(shared: Arc<Shared>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut phase = shared.phase.subscribe();
    let mut scan = procfs::Scan::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = phase.changed() => if changed.is_err() { break },
        }
        if *phase.borrow() == Phase::Stopping {
            break;
        }
        let workers = shared.worker_pids();
        if workers.is_empty() {
            continue;
        }
        // Off the runtime's threads: reading /proc never delays the
        // workers' I/O.
        let sampled = tokio::task::spawn_blocking(move || {
            let samples = scan.sample(&workers);
            (scan, samples)
        })
        .await;
        let Ok((back, samples)) = sampled else {
            break;
        };
        scan = back;
        shared.record_usage(&samples);
    }
}

#[cfg(target_os = "linux")]
mod procfs {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::Usage;

    /// One process as `/proc/PID/stat` shows it.
    #[derive(Clone, Copy)]
    struct Proc {
        pid: u32,
        ppid: u32,
        pgrp: u32,
        /// utime + stime, in clock ticks.
        ticks: u64,
        /// cutime + cstime: its reaped children's, in clock ticks.
        child_ticks: u64,
        rss_pages: u64,
    }

    /// Reusable buffers for sampling.
    #[derive(Default)]
    pub(super) struct Scan {
        procs: Vec<Proc>,
        children: HashMap<u32, Vec<u32>>,
    }

    impl Scan {
        /// Measures each `(slot, pid)` worker's tree.
        pub fn sample(&mut self, workers: &[(usize, u32)]) -> Vec<(usize, u32, Usage)> {
            self.procs.clear();
            self.children.clear();
            let Ok(dir) = std::fs::read_dir("/proc") else {
                return Vec::new();
            };
            for entry in dir.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                if let Some(p) = read_stat(pid) {
                    self.procs.push(p);
                }
            }
            for p in &self.procs {
                self.children.entry(p.ppid).or_default().push(p.pid);
            }
            let by_pid: HashMap<u32, Proc> = self.procs.iter().map(|p| (p.pid, *p)).collect();
            let page = rustix::param::page_size() as u64;
            let hz = rustix::param::clock_ticks_per_second().max(1);
            let mut out = Vec::with_capacity(workers.len());
            for &(slot, worker) in workers {
                // The worker's group and its descendants.
                let mut members: Vec<u32> = self
                    .procs
                    .iter()
                    .filter(|p| p.pgrp == worker)
                    .map(|p| p.pid)
                    .collect();
                let mut stack = vec![worker];
                while let Some(pid) = stack.pop() {
                    if !members.contains(&pid) && by_pid.contains_key(&pid) {
                        members.push(pid);
                    }
                    if let Some(kids) = self.children.get(&pid) {
                        stack.extend(kids.iter().filter(|k| !members.contains(k)));
                    }
                }
                let Some(leader) = by_pid.get(&worker) else {
                    continue;
                };
                let mut usage = Usage::default();
                let mut ticks = 0;
                for pid in &members {
                    let Some(p) = by_pid.get(pid) else { continue };
                    usage.memory += p.rss_pages * page;
                    ticks += p.ticks;
                    usage.fds += count_fds(*pid);
                    usage.processes += 1;
                }
                // The worker's reaped children count too (from the same
                // read of its stat as the scan's).
                ticks += leader.child_ticks;
                usage.cpu = Duration::from_micros(ticks * 1_000_000 / hz);
                out.push((slot, worker, usage));
            }
            out
        }
    }

    fn stat_fields(pid: u32) -> Option<Vec<u64>> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may contain spaces and parentheses: fields start
        // after the last ')'. Field 3 (state) is not a number: skip it.
        let rest = text.rsplit_once(')')?.1;
        Some(
            rest.split_whitespace()
                .skip(1)
                .map(|f| f.parse::<i64>().map_or(0, |n| n.max(0) as u64))
                .collect(),
        )
    }

    fn read_stat(pid: u32) -> Option<Proc> {
        let f = stat_fields(pid)?;
        // After the state: ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime cutime cstime priority nice threads
        // itrealvalue starttime vsize rss.
        let get = |i: usize| f.get(i).copied().unwrap_or(0);
        Some(Proc {
            pid,
            ppid: get(0) as u32,
            pgrp: get(1) as u32,
            ticks: get(10) + get(11),
            child_ticks: get(12) + get(13),
            rss_pages: get(20),
        })
    }

    fn count_fds(pid: u32) -> u64 {
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn measures_this_process() {
            let me = std::process::id();
            let got = Scan::default().sample(&[(0, me)]);
            let (_, pid, usage) = got[0];
            assert_eq!(pid, me);
            assert!(usage.memory > 0 && usage.fds >= 3 && usage.processes >= 1);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod procfs {
    use super::Usage;

    /// Nothing is measured outside Linux (no /proc to read).
    #[derive(Default)]
    pub(super) struct Scan {
        _none: (),
    }

    impl Scan {
        pub fn sample(&mut self, _: &[(usize, u32)]) -> Vec<(usize, u32, Usage)> {
            Vec::new()
        }
    }
}
