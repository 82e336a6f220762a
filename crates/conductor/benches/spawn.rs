//! conductor beside its peers (raw C vfork+exec, std, tokio), same run, ratios printed.
//!
//! `cargo bench -p conductor --bench spawn` runs everything; pass a filter
//! (`spawn`, `bigparent`, `concurrent`, `capture`) to run one part, and
//! `--quick` for fewer iterations.
//!
//! 1. Sequential spawn+wait of a static no-op child (blocking, tokio current-thread,
//!    tokio multi-thread) against raw vfork+exec, std and tokio.
//! 2. The same from a parent with 2 GiB resident and uid/gid set.
//! 3. 4,000 concurrent `sleep 1` children: parent CPU time against tokio.
//! 4. Capturing 1 GiB through output(): throughput against std and tokio.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn build_c(out_dir: &Path) -> (PathBuf, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c");
    std::fs::create_dir_all(out_dir).unwrap();
    let noop = out_dir.join("noop-static");
    let vfork = out_dir.join("vfork_exec");
    let ok = StdCommand::new("gcc")
        .args(["-O2", "-static", "-o"])
        .arg(&noop)
        .arg(src.join("noop.c"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        // No static libc: fall back to a dynamic no-op (rates drop for everyone alike).
        assert!(StdCommand::new("gcc")
            .args(["-O2", "-o"])
            .arg(&noop)
            .arg(src.join("noop.c"))
            .status()
            .unwrap()
            .success());
        eprintln!("note: static linking unavailable, using a dynamic no-op child");
    }
    assert!(StdCommand::new("gcc")
        .args(["-O2", "-o"])
        .arg(&vfork)
        .arg(src.join("vfork_exec.c"))
        .status()
        .unwrap()
        .success());
    (noop, vfork)
}

struct Args {
    quick: bool,
    filter: Option<String>,
}

impl Args {
    fn parse() -> Args {
        let mut quick = false;
        let mut filter = None;
        for a in std::env::args().skip(1) {
            match a.as_str() {
                "--quick" => quick = true,
                "--bench" => {}
                s if !s.starts_with('-') => filter = Some(s.to_string()),
                _ => {}
            }
        }
        Args { quick, filter }
    }
    fn wants(&self, name: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| name.contains(f))
    }
}

/// Rate (per second) of `n` sequential runs of `f`.
fn rate(n: usize, mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn rounds(a: &Args) -> usize {
    if a.quick {
        3
    } else {
        7
    }
}

fn spawn_rates(a: &Args, noop: &Path, vfork: &Path, uid: bool) -> Vec<(&'static str, f64)> {
    use conductor::unix::CommandExt;
    use std::os::unix::process::CommandExt as _;
    // From a 2 GiB parent std and tokio fork (milliseconds a spawn): fewer runs there.
    let n = match (a.quick, uid) {
        (true, true) => 100,
        (false, true) => 300,
        (true, false) => 500,
        (false, false) => 2000,
    };
    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (me_u, me_g) = (
        rustix::process::getuid().as_raw(),
        rustix::process::getgid().as_raw(),
    );
    let mut results: Vec<(&'static str, Vec<f64>)> = vec![
        ("C vfork+exec", vec![]),
        ("conductor blocking", vec![]),
        ("conductor tokio current-thread", vec![]),
        ("conductor tokio multi-thread", vec![]),
        ("std", vec![]),
        ("tokio current-thread", vec![]),
        ("tokio multi-thread", vec![]),
    ];
    for _ in 0..rounds(a) {
        let c = StdCommand::new(vfork)
            .arg(noop)
            .arg(n.to_string())
            .output()
            .unwrap();
        results[0].1.push(
            String::from_utf8_lossy(&c.stdout)
                .trim()
                .parse()
                .unwrap_or(0.0),
        );
        results[1].1.push(rate(n, || {
            let mut c = conductor::blocking::Command::new(noop);
            if uid {
                c.uid(me_u).gid(me_g);
            }
            assert!(c.status().unwrap().success());
        }));
        // The loops run inside a spawned task, where async code lives in a
        // multi-thread runtime (block_on's thread is not a worker).
        let noop_path = noop.to_path_buf();
        let cond_async = |rt: &tokio::runtime::Runtime| {
            let noop = noop_path.clone();
            rt.block_on(rt.spawn(async move {
                let t = Instant::now();
                for _ in 0..n {
                    let mut c = conductor::Command::new(&noop);
                    if uid {
                        c.uid(me_u).gid(me_g);
                    }
                    assert!(c.status().await.unwrap().success());
                }
                n as f64 / t.elapsed().as_secs_f64()
            }))
            .unwrap()
        };
        results[2].1.push(cond_async(&ct));
        results[3].1.push(cond_async(&mt));
        results[4].1.push(rate(n, || {
            let mut c = StdCommand::new(noop);
            if uid {
                c.uid(me_u).gid(me_g);
            }
            assert!(c.status().unwrap().success());
        }));
        let tokio_async = |rt: &tokio::runtime::Runtime| {
            let noop = noop_path.clone();
            rt.block_on(rt.spawn(async move {
                let t = Instant::now();
                for _ in 0..n {
                    let mut c = tokio::process::Command::new(&noop);
                    if uid {
                        c.uid(me_u).gid(me_g);
                    }
                    assert!(c.status().await.unwrap().success());
                }
                n as f64 / t.elapsed().as_secs_f64()
            }))
            .unwrap()
        };
        results[5].1.push(tokio_async(&ct));
        results[6].1.push(tokio_async(&mt));
    }
    results.into_iter().map(|(k, v)| (k, median(v))).collect()
}

fn print_rates(title: &str, rates: &[(&str, f64)]) {
    let base = rates[0].1;
    println!("\n{title}");
    println!("  {:<34} {:>12} {:>12}", "", "spawns/s", "vs C vfork");
    for (k, r) in rates {
        println!("  {k:<34} {r:>12.0} {:>11.2}x", r / base);
    }
}

fn main() {
    let a = Args::parse();
    conductor::unix::raise_fd_limit().unwrap();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-helpers");
    let (noop, vfork) = build_c(&out);

    let small = if a.wants("spawn") || a.wants("bigparent") {
        let r = spawn_rates(&a, &noop, &vfork, false);
        print_rates(
            "1. sequential spawn+wait, static no-op child (median of rounds)",
            &r,
        );
        let get = |k: &str| r.iter().find(|x| x.0 == k).unwrap().1;
        println!(
            "  conductor vs std: blocking {:.2}x; vs tokio multi-thread: current-thread {:.2}x, multi-thread {:.2}x",
            get("conductor blocking") / get("std"),
            get("conductor tokio current-thread") / get("tokio multi-thread"),
            get("conductor tokio multi-thread") / get("tokio multi-thread"),
        );
        Some(r)
    } else {
        None
    };

    if a.wants("bigparent") {
        let gib2 = 2usize << 30;
        let mut big = vec![0u8; gib2];
        for i in (0..gib2).step_by(4096) {
            big[i] = 1;
        }
        let r = spawn_rates(&a, &noop, &vfork, true);
        print_rates("2. same, parent with 2 GiB resident and uid/gid set", &r);
        if let Some(small) = &small {
            println!("  slowdown vs small parent (1.00 = none):");
            for ((k, s), (_, b)) in small.iter().zip(r.iter()) {
                println!("    {k:<32} {:.2}x", s / b);
            }
        }
        std::hint::black_box(&big);
        drop(big);
    }

    if a.wants("concurrent") {
        concurrent(&a);
    }
    if a.wants("capture") {
        capture(&a);
    }
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the zeroed struct.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn concurrent(a: &Args) {
    let n = if a.quick { 1000 } else { 4000 };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut stds = Vec::new();
    for _ in 0..if a.quick { 1 } else { 3 } {
        for which in 0..3 {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap();
            let c0 = cpu_time();
            let t0 = Instant::now();
            match which {
                0 => rt.block_on(async {
                    let mut cs = Vec::with_capacity(n);
                    for _ in 0..n {
                        cs.push(conductor::Command::new("sleep").arg("1").spawn().unwrap());
                    }
                    for mut c in cs {
                        assert!(c.wait().await.unwrap().success());
                    }
                }),
                1 => rt.block_on(async {
                    let mut cs = Vec::with_capacity(n);
                    for _ in 0..n {
                        cs.push(
                            tokio::process::Command::new("sleep")
                                .arg("1")
                                .spawn()
                                .unwrap(),
                        );
                    }
                    for mut c in cs {
                        assert!(c.wait().await.unwrap().success());
                    }
                }),
                _ => {
                    let mut cs = Vec::with_capacity(n);
                    for _ in 0..n {
                        cs.push(StdCommand::new("sleep").arg("1").spawn().unwrap());
                    }
                    for mut c in cs {
                        assert!(c.wait().unwrap().success());
                    }
                }
            }
            let cpu = (cpu_time() - c0).as_secs_f64();
            let _wall = t0.elapsed();
            [&mut ours, &mut theirs, &mut stds][which].push(cpu);
            drop(rt);
        }
    }
    let (o, t, s) = (median(ours), median(theirs), median(stds));
    println!(
        "\n3. {n} concurrent `sleep 1` children, spawned then awaited: parent CPU seconds (median)"
    );
    println!("  conductor (tokio multi-thread) {o:>8.3} s");
    println!(
        "  tokio::process                 {t:>8.3} s   conductor/tokio = {:.2}",
        o / t
    );
    println!(
        "  std (blocking waits in order)  {s:>8.3} s   conductor/std   = {:.2}",
        o / s
    );
}

fn capture(a: &Args) {
    let size: u64 = 1 << 30;
    let arg = format!("-c{size}");
    let gbps = |d: Duration| size as f64 / d.as_secs_f64() / 1e9;
    let mut res: Vec<(&str, Vec<f64>)> = vec![
        ("conductor blocking output()", vec![]),
        ("conductor tokio output()", vec![]),
        ("std output()", vec![]),
        ("tokio output()", vec![]),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..rounds(a) {
        let t = Instant::now();
        let o = conductor::blocking::Command::new("head")
            .arg(&arg)
            .arg("/dev/zero")
            .output()
            .unwrap();
        res[0].1.push(gbps(t.elapsed()));
        assert_eq!(o.stdout.len() as u64, size);
        drop(o);
        let t = Instant::now();
        let o = rt
            .block_on(
                conductor::Command::new("head")
                    .arg(&arg)
                    .arg("/dev/zero")
                    .output(),
            )
            .unwrap();
        res[1].1.push(gbps(t.elapsed()));
        assert_eq!(o.stdout.len() as u64, size);
        drop(o);
        let t = Instant::now();
        let o = StdCommand::new("head")
            .arg(&arg)
            .arg("/dev/zero")
            .output()
            .unwrap();
        res[2].1.push(gbps(t.elapsed()));
        assert_eq!(o.stdout.len() as u64, size);
        drop(o);
        let t = Instant::now();
        let o = rt
            .block_on(async {
                // Built inside the runtime: tokio registers the pipes on creation.
                tokio::process::Command::new("head")
                    .arg(&arg)
                    .arg("/dev/zero")
                    .output()
                    .await
            })
            .unwrap();
        res[3].1.push(gbps(t.elapsed()));
        assert_eq!(o.stdout.len() as u64, size);
        drop(o);
    }
    let m: Vec<(&str, f64)> = res.into_iter().map(|(k, v)| (k, median(v))).collect();
    println!("\n4. capture 1 GiB from `head -c 1G /dev/zero` via output() (median GB/s)");
    for (k, v) in &m {
        println!("  {k:<30} {v:>6.2} GB/s");
    }
    println!(
        "  conductor blocking / std = {:.2}x; conductor tokio / tokio = {:.2}x",
        m[0].1 / m[2].1,
        m[1].1 / m[3].1
    );
}
