//! End-to-end checks of `conductor::winargs` against real Windows processes,
//! run under Wine by `.ci/windows.sh` (or natively on Windows).
//!
//! Children are launched with `std::process::Command` plus
//! `CommandExt::raw_arg(<our command line>)`, so std adds only the program
//! name and everything after it is our quoting:
//!
//! - `examples/print_argv.exe` (Rust; std's parser, the ucrt rules) and
//!   `examples/print_argv_c.exe` (mingw C, built by `.ci/windows.sh`: the
//!   platform's msvcrt argv and `CommandLineToArgvW`) must receive exactly
//!   the list sent;
//! - a batch file run as `cmd.exe /e:ON /v:OFF /d /c ""script" args"` must
//!   forward exactly the list (`%*`, `%1`…, `"%~1"`…) to print_argv.exe, and
//!   injection attempts must never create a canary file.
//!
//! On other operating systems this file compiles to nothing.
#![cfg(windows)]

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::windows::ffi::{OsStrExt, OsStringExt};
use std::os::windows::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use conductor::winargs::{build_batch_command_line_wide, build_command_line_wide, quote_arg_wide};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Longest any child may run before it is killed and the test fails.
const DEADLINE: Duration = Duration::from_secs(30);
/// Win32 `ERROR_INTERNAL_ERROR`.
const ERROR_INTERNAL_ERROR: i32 = 1359;
/// Maximum arguments per batch-file case: `%1`..`%9` are written out in the script.
const MAX_BATCH_ARGS: usize = 8;

fn wide(s: impl AsRef<OsStr>) -> Vec<u16> {
    s.as_ref().encode_wide().collect()
}

fn show(units: &[u16]) -> String {
    format!("{:?}", String::from_utf16_lossy(units))
}

fn show_list(list: &[Vec<u16>]) -> Vec<String> {
    list.iter().map(|a| show(a)).collect()
}

/// Runs `cmd` to completion, killing it (and failing) after [`DEADLINE`].
///
/// The pipes are drained on threads while the child is polled with a short
/// sleep, so a chatty child cannot block on a full pipe.
fn run_bounded(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        let hint = if e.raw_os_error() == Some(ERROR_INTERNAL_ERROR) && under_wine() {
            " (Wine: a new process could not map its fixed addresses; run the \
             tests through .ci/windows.sh, which turns off address randomisation)"
        } else {
            ""
        };
        panic!("spawn {cmd:?}: {e}{hint}")
    });
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child did not exit within {DEADLINE:?}, killed: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Decodes one line of print_argv output: a JSON string of ASCII with `\"`,
/// `\\` and `\uXXXX` escapes, into UTF-16 code units.
fn decode_json(line: &str) -> Vec<u16> {
    let inner = line
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a JSON string: {line:?}"));
    let bytes = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(u16::from(bytes[i]));
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'"') => out.push(u16::from(b'"')),
            Some(b'\\') => out.push(u16::from(b'\\')),
            Some(b'u') => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 6]).unwrap();
                out.push(u16::from_str_radix(hex, 16).unwrap());
                i += 4;
            }
            other => panic!("bad escape {other:?} in {line:?}"),
        }
        i += 2;
    }
    out
}

/// Lines of a child's stdout, without `\r`.
fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

fn examples_dir() -> PathBuf {
    // target/<triple>/debug/deps/winargs_wine-*.exe -> target/<triple>/debug/examples
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("examples"))
        .expect("test exe directory")
}

fn print_argv() -> PathBuf {
    let path = examples_dir().join("print_argv.exe");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p conductor --examples --target <windows triple>` (see .ci/windows.sh)",
        path.display()
    );
    path
}

/// The mingw C child, if built. `.ci/windows.sh` builds it and sets
/// CONDUCTOR_REQUIRE_C_CHILD=1, which makes a missing one an error.
fn print_argv_c() -> Option<PathBuf> {
    let path = examples_dir().join("print_argv_c.exe");
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CONDUCTOR_REQUIRE_C_CHILD").is_none(),
        "{} is missing (built by .ci/windows.sh)",
        path.display()
    );
    eprintln!(
        "note: {} not built; C-runtime/CommandLineToArgvW checks skipped",
        path.display()
    );
    None
}

/// The part of our command line after the program, for `raw_arg`.
fn args_part(program: &Path, args: &[Vec<u16>]) -> Option<OsString> {
    let full = build_command_line_wide(&wide(program), args).expect("build_command_line");
    let prefix = build_command_line_wide(&wide(program), [] as [&[u16]; 0]).unwrap();
    let rest = full
        .strip_prefix(prefix.as_slice())
        .expect("line starts with the program");
    match rest.split_first() {
        None => None,
        Some((&sp, tail)) => {
            assert_eq!(sp, u16::from(b' '));
            Some(OsString::from_wide(tail))
        }
    }
}

/// Sends `args` to both print_argv children with our quoting; each parser
/// must give back exactly `args` after argv[0].
fn check_exe_round_trip(args: &[Vec<u16>]) {
    let mut children = vec![print_argv()];
    children.extend(print_argv_c());
    for child in children {
        let mut cmd = Command::new(&child);
        if let Some(raw) = args_part(&child, args) {
            cmd.raw_arg(raw);
        }
        let out = run_bounded(&mut cmd);
        assert!(out.status.success(), "{cmd:?}: {out:?}");
        let lines = lines(&out);
        let is_c = child.ends_with("print_argv_c.exe");
        let groups: Vec<(&str, Vec<Vec<u16>>)> = if is_c {
            ["crt", "cl2a"]
                .iter()
                .map(|tag| {
                    let prefix = format!("{tag} ");
                    let got = lines
                        .iter()
                        .filter_map(|l| l.strip_prefix(&prefix))
                        .map(decode_json)
                        .collect();
                    (*tag, got)
                })
                .collect()
        } else {
            vec![("rust-std", lines.iter().map(|l| decode_json(l)).collect())]
        };
        for (parser, got) in groups {
            assert!(!got.is_empty(), "{parser}: no argv[0] in {out:?}");
            assert_eq!(
                show_list(&got[1..]),
                show_list(args),
                "{parser} in {} split our line differently; raw: {:?}",
                child.display(),
                args_part(&child, args)
            );
            assert_eq!(&got[1..], args, "{parser}: code units differ");
        }
    }
}

/// Known hard argument lists for executables.
fn hard_exe_cases() -> Vec<Vec<Vec<u16>>> {
    let s = |list: &[&str]| list.iter().map(wide).collect::<Vec<_>>();
    let mut cases = vec![
        s(&[]),
        s(&[""]),
        s(&["", "", ""]),
        s(&[" "]),
        s(&["\t"]),
        s(&["a b", "c\td"]),
        s(&["\""]),
        s(&["\"\""]),
        s(&["\"\"\""]),
        s(&["\\"]),
        s(&["\\\\"]),
        s(&["a\\"]),
        s(&["a b\\"]),
        s(&["a b\\\\"]),
        s(&["\\\"", "\\\\\"", "\\\\\\\""]),
        s(&["a\\\"b c", "\"a b\"", "\" \""]),
        s(&[r"C:\Program Files\", r"\\server\share\", r"C:\x\"]),
        s(&["%PATH%", "^", "&", "|", "<", ">", "(", ")", "!x!"]),
        s(&["a&b|c<d>e(f)g^h!i%j%"]),
        s(&["é", "日本語", "😀", "a\u{3000}b", "\u{85}", "\u{feff}"]),
        s(&["line\nbreak", "cr\rlf", "\u{b}\u{c}"]),
        s(&[
            "-Dkey=\"value with spaces\"",
            "--json={\"a\": [1, \"b\\\\\"]}",
        ]),
    ];
    // Unpaired surrogates: valid in a Windows command line, not in UTF-8.
    cases.push(vec![
        vec![0xd800],
        vec![u16::from(b'a'), 0xdc00, u16::from(b' ')],
    ]);
    cases
}

#[test]
fn exe_hard_cases_round_trip() {
    for args in hard_exe_cases() {
        check_exe_round_trip(&args);
    }
}

/// Characters special to some parser, plus non-ASCII.
const TRICKY: &[char] = &[
    '\\', '"', ' ', '\t', '%', '^', '&', '|', '<', '>', '(', ')', '!', ',', ';', '=', 'a', 'Z',
    '0', 'é', '✓', '😀', '\u{3000}',
];

fn arg_list(max_args: usize) -> impl Strategy<Value = Vec<Vec<u16>>> {
    let arg = prop::collection::vec(prop::sample::select(TRICKY), 0..10).prop_map(|chars| {
        String::from_iter(chars)
            .encode_utf16()
            .collect::<Vec<u16>>()
    });
    prop::collection::vec(arg, 0..=max_args)
}

fn wine_config(cases: u32) -> Config {
    Config {
        cases,
        // Shrinking spawns processes; keep a failure's report quick.
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(wine_config(128))]

    #[test]
    fn exe_random_lists_round_trip(args in arg_list(8)) {
        check_exe_round_trip(&args);
    }
}

// ---------------------------------------------------------------- batch files

/// A scratch directory with the test batch script; the directory name holds
/// characters cmd.exe treats specially, to exercise script-path quoting.
struct BatchEnv {
    dir: PathBuf,
    script: PathBuf,
}

const SECTION: &str = "---";

fn batch_env() -> &'static BatchEnv {
    static ENV: OnceLock<BatchEnv> = OnceLock::new();
    ENV.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "conductor winargs {} 100% & (x)",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        let exe = print_argv();
        let exe = exe.to_str().expect("UTF-8 path");
        let tilde: Vec<String> = (1..=9).map(|i| format!("\"%~{i}\"")).collect();
        let script_text = [
            "@echo off".to_string(),
            format!("\"{exe}\" %*"),
            format!("echo {SECTION}"),
            format!("\"{exe}\" %1 %2 %3 %4 %5 %6 %7 %8 %9"),
            format!("echo {SECTION}"),
            format!("\"{exe}\" {}", tilde.join(" ")),
        ]
        .join("\r\n")
            + "\r\n";
        let script = dir.join("forward args.bat");
        std::fs::write(&script, script_text).expect("write batch script");
        BatchEnv { dir, script }
    })
}

fn cmd_exe() -> PathBuf {
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
    PathBuf::from(root).join("System32").join("cmd.exe")
}

/// Runs the batch `script` with our command line in `cwd`.
fn run_batch(script: &Path, args: &[Vec<u16>], cwd: &Path, envs: &[(&str, &str)]) -> Output {
    let line =
        build_batch_command_line_wide(&wide(script), args).expect("build_batch_command_line");
    let tail = line
        .strip_prefix(wide("cmd.exe ").as_slice())
        .expect("line starts with cmd.exe");
    let mut cmd = Command::new(cmd_exe());
    cmd.raw_arg(OsString::from_wide(tail)).current_dir(cwd);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run_bounded(&mut cmd)
}

/// Runs our batch command line with print_argv.exe itself in the script's
/// place: `cmd.exe /e:ON /v:OFF /d /c ""print_argv.exe" args"`. This checks
/// exactly the stage the builder controls, cmd.exe's parsing of the `/c`
/// line (percent expansion, quoting, special characters), and the C runtime
/// must then give back `args` exactly.
fn check_cmd_line_round_trip(args: &[Vec<u16>], envs: &[(&str, &str)]) {
    let env = batch_env();
    let out = run_batch(&print_argv(), args, &env.dir, envs);
    assert!(out.status.success(), "{out:?}");
    let got: Vec<Vec<u16>> = lines(&out).iter().map(|l| decode_json(l)).collect();
    assert!(!got.is_empty(), "no output: {out:?}");
    assert_eq!(
        show_list(&got[1..]),
        show_list(args),
        "cmd.exe /c line split differently: {out:?}"
    );
    assert_eq!(&got[1..], args, "code units differ");
}

/// The arguments to check through the forwarding script here.
///
/// Wine 8's cmd.exe re-expands the text it substitutes for `%*` and `%1`..
/// inside a batch script (its `handleExpansion` rescans from the start of the
/// substitution), so an argument containing `%` is expanded a second time:
/// `%FOO%` arrives as FOO's value. Real cmd.exe never rescans substituted
/// parameters. The `/c` line itself is handled correctly by Wine (see
/// [`check_cmd_line_round_trip`], which runs on the full lists), so under
/// Wine only the script-internal step drops the `%` characters from the
/// arguments; on Windows the lists are used unchanged.
/// [`batch_script_parameter_rescan`] pins the Wine behaviour down.
fn for_script(args: &[Vec<u16>]) -> Vec<Vec<u16>> {
    if !under_wine() {
        return args.to_vec();
    }
    args.iter()
        .map(|a| {
            a.iter()
                .copied()
                .filter(|&u| u != u16::from(b'%'))
                .collect()
        })
        .collect()
}

/// Runs the forwarding script: print_argv must see exactly `args` via `%*`,
/// via `%1 %2 …`, and (first `args.len()` entries) via `"%~1" "%~2" …`.
fn check_batch_round_trip(args: &[Vec<u16>], envs: &[(&str, &str)]) -> Output {
    assert!(args.len() <= MAX_BATCH_ARGS);
    let env = batch_env();
    let out = run_batch(&env.script, args, &env.dir, envs);
    let all = lines(&out);
    let sections: Vec<&[String]> = all.split(|l| l == SECTION).collect();
    assert_eq!(sections.len(), 3, "script output: {out:?}");
    for (name, section) in ["%*", "%1..%9", "\"%~1\"..\"%~9\""].iter().zip(&sections) {
        let got: Vec<Vec<u16>> = section.iter().map(|l| decode_json(l)).collect();
        assert!(!got.is_empty(), "{name}: no output in {out:?}");
        if name.contains('~') {
            assert_eq!(got.len(), 10, "{name}: {:?}", show_list(&got));
            assert!(
                got[1 + args.len()..].iter().all(Vec::is_empty),
                "{name}: {:?}",
                show_list(&got)
            );
            for (i, (got, arg)) in got[1..=args.len()].iter().zip(args).enumerate() {
                let ok = got == arg || (under_wine() && *got == wine_tilde_forwarded(arg));
                assert!(
                    ok,
                    "batch {name}: args[{i}] forwarded as {} instead of {}",
                    show(got),
                    show(arg)
                );
            }
        } else {
            assert_eq!(
                show_list(&got[1..]),
                show_list(args),
                "batch {name} forwarded differently; stderr {:?}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    out
}

/// Whether the tests run under Wine (`.ci/windows.sh` says so).
fn under_wine() -> bool {
    std::env::var_os("CONDUCTOR_UNDER_WINE").is_some()
}

/// What `"%~n"` forwards under Wine's cmd.exe, which differs from Windows.
///
/// Real cmd.exe's `%~n` removes only the surrounding quotes of the argument
/// token, so `"%~n"` rebuilds the token and a C program gets the argument
/// back exactly. Wine 8's cmd.exe removes *every* `"` in the token (its
/// `WCMD_parameter(.., raw = FALSE, ..)` strips internal quotes too), so for
/// an argument containing `"` the quotes are lost. This models that: the
/// token our builder produced, all quotes removed, re-quoted by the script
/// and split by the C runtime's rules. Arguments without `"` must still come
/// back exactly, under Wine too.
fn wine_tilde_forwarded(arg: &[u16]) -> Vec<u16> {
    let line = build_batch_command_line_wide(&wide("s.bat"), [arg]).unwrap();
    let token_start = wide("cmd.exe /e:ON /v:OFF /d /c \"\"s.bat\" ").len();
    // The token, minus the closing quote of the whole /c command.
    let token = &line[token_start..line.len() - 1];
    let token = String::from_utf16(token).unwrap();
    // cmd.exe's own percent expansion turns `%%cd:~,%` back into `%`.
    let token = token.replace("%%cd:~,%", "%");
    let stripped: String = token.chars().filter(|&c| c != '"').collect();
    let parsed = conductor::winargs::parse_msvcrt(&format!("x \"{stripped}\""));
    wide(&parsed[1])
}

fn hard_batch_cases() -> Vec<Vec<Vec<u16>>> {
    let s = |list: &[&str]| list.iter().map(wide).collect::<Vec<_>>();
    vec![
        s(&[]),
        s(&[""]),
        s(&["", "x", ""]),
        s(&["plain", "C:\\dir\\file.txt", "-flag", "/opt"]),
        s(&["a b", "\t", "a,b", "a;b", "a=b", "  "]),
        s(&["dir\\", "a b\\\\", "\\"]),
        s(&["\"", "\"\"", "a\"b", "a\\\"b", "\"a b\""]),
        s(&["%", "%%", "%PATH%", "%cd%", "%~1", "100%"]),
        s(&["^", "^^", "&", "|", "<", ">", "(", ")"]),
        s(&["!PATH!", "!", "a!b!c"]),
        s(&["é", "日本語", "😀 x"]),
    ]
}

#[test]
fn batch_hard_cases_round_trip() {
    let env = batch_env();
    for args in hard_batch_cases() {
        check_cmd_line_round_trip(&args, &[]);
        check_batch_round_trip(&for_script(&args), &[]);
        assert!(!env.dir.join("canary.txt").exists());
    }
}

/// Pins down the Wine difference [`for_script`] works around: on
/// Windows the script's `%*` hands `%FOO%` on literally; Wine 8 expands it.
/// If this fails under a newer Wine, the rescan is fixed: drop the exclusion.
#[test]
fn batch_script_parameter_rescan() {
    let env = batch_env();
    let out = run_batch(&env.script, &[wide("%FOO%")], &env.dir, &[("FOO", "bar")]);
    let first = lines(&out)
        .get(1)
        .map(|l| decode_json(l))
        .expect("script output");
    if under_wine() {
        assert_eq!(
            show(&first),
            show(&wide("bar")),
            "Wine's cmd.exe no longer rescans %*: {out:?}"
        );
    } else {
        assert_eq!(show(&first), show(&wide("%FOO%")), "{out:?}");
    }
}

proptest! {
    #![proptest_config(wine_config(64))]

    #[test]
    fn batch_random_lists_round_trip(args in arg_list(MAX_BATCH_ARGS)) {
        check_cmd_line_round_trip(&args, &[]);
        check_batch_round_trip(&for_script(&args), &[]);
        prop_assert!(!batch_env().dir.join("canary.txt").exists(), "canary created by {:?}", show_list(&args));
    }
}

/// Value of `INJ` in the children's environment: expanding `%INJ%` or `!INJ!`
/// anywhere in the command line would break out of the quotes.
const INJ: &str = "x\"&echo pwned>canary.txt&\"";

fn injection_attempts() -> Vec<&'static str> {
    vec![
        "\"&echo pwned>canary.txt",
        "&echo pwned>canary.txt",
        "\"&echo pwned>canary.txt&\"",
        "\\\"&echo pwned>canary.txt",
        "\\\\\"&echo pwned>canary.txt",
        "^\"&echo pwned>canary.txt",
        "\"^&echo pwned>canary.txt",
        ")&echo pwned>canary.txt&(",
        "|echo pwned>canary.txt",
        ">canary.txt",
        "\">canary.txt",
        "x\" >canary.txt \"",
        "%INJ%",
        "\"%INJ%\"",
        "%%INJ%%",
        "!INJ!",
        "\"!INJ!\"",
        "%INJ",
        "INJ%",
        "\"\"&echo pwned>canary.txt",
        "a\" ^& echo pwned>canary.txt & \"",
    ]
}

#[test]
fn batch_injection_never_creates_canary() {
    let env = batch_env();
    let canary = env.dir.join("canary.txt");
    let _ = std::fs::remove_file(&canary);
    let noop = env.dir.join("noop.bat");
    std::fs::write(&noop, "@echo off\r\nrem ignores its arguments\r\n").unwrap();
    let envs = [("INJ", INJ)];
    for attempt in injection_attempts() {
        // Alone, and surrounded by other quoted and bare arguments.
        for args in [
            vec![attempt],
            vec!["a b", attempt, "c"],
            vec![attempt, attempt],
        ] {
            let args: Vec<Vec<u16>> = args.iter().map(wide).collect();
            // The /c line alone, with a program and with a real batch file.
            check_cmd_line_round_trip(&args, &envs);
            assert!(!canary.exists(), "canary created by {attempt:?} (program)");
            let out = run_batch(&noop, &args, &env.dir, &envs);
            assert!(out.status.success(), "{out:?}");
            assert!(!canary.exists(), "canary created by {attempt:?} (noop.bat)");
            // A script that forwards its arguments.
            check_batch_round_trip(&for_script(&args), &envs);
            assert!(
                !canary.exists(),
                "canary created by {attempt:?} (forwarding script)"
            );
        }
    }
}

/// Positive control: with C-runtime quoting (wrong for cmd.exe) the same
/// attempt does inject, so the canary check above can see an injection.
#[test]
fn batch_canary_detects_naive_quoting() {
    let dir =
        std::env::temp_dir().join(format!("conductor winargs control {}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("noop.bat");
    std::fs::write(&script, "@echo off\r\nrem nothing\r\n").unwrap();
    let canary = dir.join("canary.txt");
    let _ = std::fs::remove_file(&canary);
    let mut naive: Vec<u16> = wide("/d /c \"\"");
    naive.extend(wide(&script));
    naive.extend(wide("\" "));
    naive.extend(quote_arg_wide(&wide("\"&echo pwned>canary.txt")).unwrap());
    naive.push(u16::from(b'"'));
    let mut cmd = Command::new(cmd_exe());
    cmd.raw_arg(OsString::from_wide(&naive)).current_dir(&dir);
    let out = run_bounded(&mut cmd);
    assert!(canary.exists(), "naive quoting did not inject: {out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn batch_errors_are_reported_not_run() {
    let env = batch_env();
    for bad in ["a\nb", "a\rb", "a\0b"] {
        let err =
            build_batch_command_line_wide(&wide(&env.script), [wide("ok"), wide(bad)]).unwrap_err();
        assert!(err.to_string().contains("args[1]"), "{err}");
    }
}
