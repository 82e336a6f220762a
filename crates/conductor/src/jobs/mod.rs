//! A per-task job runner: one command per input, N at a time, and a report
//! for each (the job of `xargs -P` and GNU parallel), built on [`Command`](crate::Command)
//! and [`Child`](crate::Child) alone.
//!
//! Inputs come from a channel; the [`Template`] (GNU parallel's `{}`,
//! `{.}`, `{/}`, `{//}`, `{/.}`, `{#}`, `{%}`) turns each into an argv, run
//! without a shell. The [`Runner`] keeps at most `jobs` tasks running, stops
//! a task's whole tree on timeout (SIGTERM, grace, SIGKILL), retries
//! failures, applies a [`HaltPolicy`], and reports every task as an
//! [`Event::Finished`] carrying a [`TaskReport`] (sequence number, item, exit
//! status or signal, attempts, start, duration, host, captured output).
//! Reports arrive as tasks finish; [`InOrder`] releases them in input order.
//!
//! The pure parts (templates, halt policy, job-log rows, exit statuses,
//! shell quoting) do no I/O and are usable on their own.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use conductor::jobs::{Event, Input, Outcome, Runner, Template};
//! use std::time::Duration;
//! let (tx, rx) = tokio::sync::mpsc::channel(16);
//! tokio::spawn(async move {
//!     for (seq, item) in ["0", "7", "60"].into_iter().enumerate() {
//!         let _ = tx.send(Input { seq: seq as u64 + 1, item: item.into() }).await;
//!     }
//! });
//! let mut run = Runner::new(Template::parse(["sh", "-c", "sleep $0; exit 3", "{}"]))
//!     .jobs(3)
//!     .timeout(Some(Duration::from_millis(500)))
//!     .grace(Duration::from_millis(100))
//!     .start(rx);
//! let mut codes = std::collections::BTreeMap::new();
//! while let Some(event) = run.next().await {
//!     if let Event::Finished(r) = event {
//!         let timed_out = matches!(r.outcome, Outcome::TimedOut(_));
//!         codes.insert(r.seq, (r.exit_code(), timed_out));
//!     }
//! }
//! assert_eq!(codes[&1], (3, false));
//! assert!(codes[&3].1, "the 60 s task timed out");
//! # }
//! ```

mod capture;
mod exit;
mod halt;
mod joblog;
mod order;
mod quote;
mod report;
mod runner;
mod template;

pub use capture::Captured;
pub use exit::{run_exit_code, task_exit_code};
pub use halt::{HaltOn, HaltParseError, HaltPolicy, HaltWhen, Tally, Threshold};
pub use joblog::{finished_seqs, parse_joblog, JoblogParseError, JoblogRow, JOBLOG_HEADER};
pub use order::InOrder;
pub use quote::{shell_line, shell_quote};
pub use report::{Event, HaltReason, Outcome, Stream, TaskReport};
pub use runner::{Control, Input, OutputMode, PlaceFuture, Placed, Placement, Run, Runner};
pub use template::{Placeholder, Template};
