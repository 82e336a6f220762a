//! The progress bar on a terminal (stderr): done/total, failures, the rate
//! and the ETA. Both are measured from when the workers were ready (their
//! start-up is not counted), over the tasks done so far; the ETA shows `?`
//! until a first task is done or when the total is unknown (stdin is not a
//! regular file).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A progress bar on stderr when it is a terminal (drawn once started).
pub fn bar(total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t).with_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} done, {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{elapsed_precise} {spinner} {pos} done, {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(ProgressDrawTarget::hidden());
    Some(bar)
}

/// Shows the bar, its clock starting now (when the workers are ready).
pub fn start(bar: &ProgressBar) {
    bar.reset_elapsed();
    bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    bar.set_message(message(0, 0, bar.length(), Duration::ZERO));
    bar.enable_steady_tick(Duration::from_millis(100));
}

/// The bar's message: failures, rate and ETA after `done` tasks in `elapsed`.
pub fn message(done: u64, failed: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if done == 0 || secs <= 0.0 {
        return format!("{failed} failed, ?/s, ETA ?");
    }
    let rate = done as f64 / secs;
    let eta = match total {
        Some(total) if total >= done => {
            clock(Duration::from_secs_f64((total - done) as f64 / rate))
        }
        _ => "?".into(),
    };
    format!("{failed} failed, {}/s, ETA {eta}", rate_text(rate))
}

/// A rate with sensible precision: `0.25`, `3.4`, `1200`.
pub fn rate_text(rate: f64) -> String {
    if rate < 1.0 {
        format!("{rate:.2}")
    } else if rate < 10.0 {
        format!("{rate:.1}")
    } else {
        format!("{rate:.0}")
    }
}

/// `1m05s`, `42s`, `2h03m`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta() {
        let s = Duration::from_secs;
        assert_eq!(message(0, 0, Some(10), s(5)), "0 failed, ?/s, ETA ?");
        assert_eq!(message(10, 1, Some(70), s(5)), "1 failed, 2.0/s, ETA 30s");
        assert_eq!(message(100, 0, None, s(1)), "0 failed, 100/s, ETA ?");
        assert_eq!(
            message(1, 0, Some(301), s(4)),
            "0 failed, 0.25/s, ETA 20m00s"
        );
    }
}
