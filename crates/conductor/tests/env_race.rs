//! A child that inherits the environment unchanged, spawned while another
//! thread changes the environment through `std::env`: std serialises its own
//! environment access, so every spawn must succeed. (In its own test binary:
//! it changes this process's environment.)
#![cfg(unix)]

use conductor::blocking::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn spawning_while_another_thread_sets_variables_never_fails() {
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // Adding and removing many variables makes libc reallocate
                // and rewrite `environ` under a spawn that reads it.
                for k in 0..64 {
                    std::env::set_var(format!("CONDUCTOR_RACE_{k}"), format!("{i}-{k}"));
                }
                for k in 0..64 {
                    std::env::remove_var(format!("CONDUCTOR_RACE_{k}"));
                }
                i += 1;
            }
        })
    };
    let mut failures = Vec::new();
    for _ in 0..300 {
        match Command::new("/bin/true").status() {
            Ok(s) if s.success() => {}
            Ok(s) => failures.push(s.to_string()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} of 300 spawns failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}
