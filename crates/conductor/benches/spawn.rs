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

/// `gcc FLAGS -o OUT SRC`.
fn gcc(flags: &[&str], out: &Path, src: &Path) -> std::io::Result<std::process::ExitStatus> {
    StdCommand::new("gcc")
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(src)
        .status()
}

fn build_c(out_dir: &Path) -> (PathBuf, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/c");
    std::fs::create_dir_all(out_dir).unwrap();
    let noop = out_dir.join("noop-static");
    let vfork = out_dir.join("vfork_exec");
    let ok = gcc(&["-O2", "-static"], &noop, &src.join("noop.c"))
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        // No static libc: fall back to a dynamic no-op (rates drop for everyone alike).
        assert!(gcc(&["-O2"], &noop, &src.join("noop.c")).unwrap().success());
        eprintln!("note: static linking unavailable, using a dynamic no-op child");
    }
    assert!(gcc(&["-O2"], &vfork, &src.join("vfork_exec.c"))
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
        9
    }
}

/// One variant's results: median rate, and the median over rounds of its
/// rate divided by C vfork's in the same round (a paired ratio, steadier on a
/// noisy machine than a ratio of medians).
struct Rate {
    name: &'static str,
    rate: f64,
    vs_c: f64,
}

fn spawn_rates(a: &Args, noop: &Path, vfork: &Path, uid: bool) -> Vec<Rate> {
    use conductor::unix::CommandExt;
    use std::os::unix::process::CommandExt as _;
    // From a 2 GiB parent std and tokio fork (milliseconds a spawn): fewer runs there.
    // Many short rounds beat a few long ones for a median on a noisy machine.
    let (n, rounds) = match (a.quick, uid) {
        (true, true) => (100, 3),
        (false, true) => (300, 7),
        (true, false) => (500, 3),
        (false, false) => (1000, 15),
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
    let noop_path = noop.to_path_buf();
    // The async loops run inside a spawned task, where async code lives in a
    // multi-thread runtime (block_on's thread is not a worker).
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
    type Run<'a> = Box<dyn Fn() -> f64 + 'a>;
    let variants: Vec<(&'static str, Run)> = vec![
        (
            "C vfork+exec",
            Box::new(|| {
                let c = StdCommand::new(vfork)
                    .arg(noop)
                    .arg(n.to_string())
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&c.stdout)
                    .trim()
                    .parse()
                    .unwrap_or(0.0)
            }),
        ),
        (
            "conductor blocking",
            Box::new(|| {
                rate(n, || {
                    let mut c = conductor::blocking::Command::new(noop);
                    if uid {
                        c.uid(me_u).gid(me_g);
                    }
                    assert!(c.status().unwrap().success());
                })
            }),
        ),
        (
            "conductor tokio current-thread",
            Box::new(|| cond_async(&ct)),
        ),
        ("conductor tokio multi-thread", Box::new(|| cond_async(&mt))),
        (
            "std",
            Box::new(|| {
                rate(n, || {
                    let mut c = StdCommand::new(noop);
                    if uid {
                        c.uid(me_u).gid(me_g);
                    }
                    assert!(c.status().unwrap().success());
                })
            }),
        ),
        ("tokio current-thread", Box::new(|| tokio_async(&ct))),
        ("tokio multi-thread", Box::new(|| tokio_async(&mt))),
    ];
    // rates[round][variant]. Each round starts at a different variant, so no
    // one variant always runs first (or right after the C program).
    let k = variants.len();
    let mut rates = vec![vec![0.0; k]; rounds];
    for (r, row) in rates.iter_mut().enumerate() {
        for i in 0..k {
            let v = (r + i) % k;
            row[v] = (variants[v].1)();
        }
    }
    (0..k)
        .map(|v| Rate {
            name: variants[v].0,
            rate: median(rates.iter().map(|row| row[v]).collect()),
            vs_c: median(rates.iter().map(|row| row[v] / row[0]).collect()),
        })
        .collect()
}

fn print_rates(title: &str, rates: &[Rate]) {
    println!("\n{title}");
    println!("  {:<34} {:>12} {:>12}", "", "spawns/s", "vs C vfork");
    for r in rates {
        println!("  {:<34} {:>12.0} {:>11.2}x", r.name, r.rate, r.vs_c);
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
            "1. sequential spawn+wait, static no-op child (median rate; median of per-round ratios)",
            &r,
        );
        let get = |k: &str| r.iter().find(|x| x.name == k).unwrap().vs_c;
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
            for (s, b) in small.iter().zip(r.iter()) {
                println!("    {:<32} {:.2}x", s.name, s.rate / b.rate);
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
    // Times one capture into `res[k]` and checks that it got every byte.
    macro_rules! timed {
        ($k:expr, $output:expr) => {{
            let t = Instant::now();
            let o = $output;
            res[$k].1.push(gbps(t.elapsed()));
            assert_eq!(o.stdout.len() as u64, size);
            drop(o);
        }};
    }
    for _ in 0..rounds(a) {
        timed!(
            0,
            conductor::blocking::Command::new("head")
                .arg(&arg)
                .arg("/dev/zero")
                .output()
                .unwrap()
        );
        timed!(
            1,
            rt.block_on(
                conductor::Command::new("head")
                    .arg(&arg)
                    .arg("/dev/zero")
                    .output(),
            )
            .unwrap()
        );
        timed!(
            2,
            StdCommand::new("head")
                .arg(&arg)
                .arg("/dev/zero")
                .output()
                .unwrap()
        );
        timed!(
            3,
            rt.block_on(async {
                // Built inside the runtime: tokio registers the pipes on creation.
                tokio::process::Command::new("head")
                    .arg(&arg)
                    .arg("/dev/zero")
                    .output()
                    .await
            })
            .unwrap()
        );
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
