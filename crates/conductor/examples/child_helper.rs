//! Test helper: a small child process with one job per subcommand, used by
//! `tests/windows_backend.rs` (it builds on every OS).
//!
//! - `exit N`: exits with code N.
//! - `cat`: copies stdin to stdout until end of file.
//! - `spew MIB`: writes MIB MiB to stdout and to stderr, alternating in
//!   64 KiB blocks (byte `i % 251` at offset `i` of each stream).
//! - `sleep MS`: sleeps, then exits 0.
//! - `tree FILE`: starts `heartbeat FILE` as a grandchild (stdio null),
//!   prints its pid, then sleeps for up to 5 minutes.
//! - `hold MS`: starts `sleep MS` as a grandchild that inherits stdout and
//!   stderr, prints "started", and exits at once.
//! - `heartbeat FILE`: appends a line to FILE every 20 ms, for up to 5 minutes.
//! - `env NAME`: prints the variable's value (or `<unset>`).
//! - `pwd`: prints the working directory.
//! - `handle VALUE` (Windows): writes `reached` through the handle with that
//!   decimal value, if it is open in this process (to see whether a handle
//!   was inherited: the parent checks its file).
//!
//! Run it with `cargo run --example child_helper -- exit 3`.

// The grandchildren are meant to outlive this helper (`tree`, `hold`).
#![allow(clippy::zombie_processes)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map_or_else(|| usage(), String::as_str)
}

fn usage() -> ! {
    eprintln!("usage: child_helper exit N | cat | spew MIB | sleep MS | tree FILE | hold MS | heartbeat FILE | env NAME | pwd | handle VALUE");
    std::process::exit(2)
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| usage())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let me = std::env::current_exe().expect("current_exe");
    match arg(&args, 1) {
        "exit" => std::process::exit(num(arg(&args, 2)) as i32),
        "cat" => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).expect("read stdin");
            std::io::stdout().write_all(&buf).expect("write stdout");
        }
        "spew" => {
            let total = (num(arg(&args, 2)) as usize) << 20;
            let block = 64 * 1024;
            let data: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
            let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
            for start in (0..total).step_by(block) {
                let end = (start + block).min(total);
                out.write_all(&data[start..end]).expect("write stdout");
                out.flush().expect("flush stdout");
                err.write_all(&data[start..end]).expect("write stderr");
            }
        }
        "sleep" => std::thread::sleep(Duration::from_millis(num(arg(&args, 2)))),
        "tree" => {
            let grandchild = Command::new(&me)
                .args(["heartbeat", arg(&args, 2)])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn grandchild");
            println!("{}", grandchild.id());
            std::io::stdout().flush().expect("flush");
            std::thread::sleep(Duration::from_secs(300));
        }
        "hold" => {
            Command::new(&me)
                .args(["sleep", arg(&args, 2)])
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn grandchild");
            println!("started");
        }
        "heartbeat" => {
            let start = Instant::now();
            let mut beat = 0u64;
            while start.elapsed() < Duration::from_secs(300) {
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(arg(&args, 2))
                    .expect("open heartbeat file");
                writeln!(f, "{beat}").expect("write heartbeat");
                beat += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        "env" => match std::env::var_os(arg(&args, 2)) {
            Some(v) => println!("{}", v.to_string_lossy()),
            None => println!("<unset>"),
        },
        "pwd" => println!("{}", std::env::current_dir().expect("cwd").display()),
        "handle" => write_through_handle(num(arg(&args, 2))),
        _ => usage(),
    }
}

#[cfg(windows)]
fn write_through_handle(value: u64) {
    use windows_sys::Win32::Storage::FileSystem::WriteFile;
    let text = b"reached";
    let mut written = 0u32;
    // SAFETY: a write of a valid buffer through whatever the value names; an
    // invalid handle just fails.
    unsafe {
        WriteFile(
            value as usize as _,
            text.as_ptr(),
            text.len() as u32,
            &mut written,
            std::ptr::null_mut(),
        )
    };
}

#[cfg(not(windows))]
fn write_through_handle(_value: u64) {}
