//! The exit status of a whole run, as GNU parallel computes it.

/// Exit status for a run: 0 when every task succeeded; 1-100 the number that
/// failed; 101 for more than 100; with a halt, the status of the task that
/// caused it (`halt_cause`).
///
/// ```
/// use conductor::jobs::run_exit_code;
/// assert_eq!(run_exit_code(0, None), 0);
/// assert_eq!(run_exit_code(7, None), 7);
/// assert_eq!(run_exit_code(250, None), 101);
/// assert_eq!(run_exit_code(1, Some(3)), 3);
/// ```
pub fn run_exit_code(failed: u64, halt_cause: Option<i32>) -> i32 {
    if let Some(code) = halt_cause {
        return code;
    }
    match failed {
        0 => 0,
        n if n <= 100 => n as i32,
        _ => 101,
    }
}

/// The exit status a shell would report for a task: its code, or 128+N for signal N.
///
/// ```
/// use conductor::jobs::task_exit_code;
/// assert_eq!(task_exit_code(Some(3), None), 3);
/// assert_eq!(task_exit_code(None, Some(9)), 137);
/// ```
pub fn task_exit_code(code: Option<i32>, signal: Option<i32>) -> i32 {
    match (code, signal) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnu_parallel_statuses() {
        assert_eq!(run_exit_code(100, None), 100);
        assert_eq!(run_exit_code(101, None), 101);
        assert_eq!(run_exit_code(0, Some(0)), 0);
        assert_eq!(run_exit_code(5, Some(143)), 143);
        assert_eq!(task_exit_code(None, None), 1);
    }
}
