//! Issue 15, types and traits: what a porting user writes against std (and
//! tokio) compiles and behaves the same against conductor; merged output and
//! checked runs.
#![cfg(unix)]

mod common;
use common::run_async;
use conductor::blocking::Command;
use conductor::{ExitStatus, Output, Stdio};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt as _;

#[test]
fn output_has_exactly_stds_three_fields() {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new("sh")
        .args(["-c", "echo out; echo err >&2"])
        .output()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        (stdout.as_slice(), stderr.as_slice()),
        (&b"out\n"[..], &b"err\n"[..])
    );
    let out = Output {
        status,
        stdout,
        stderr,
    };
    let std_out: std::process::Output = out.clone().into();
    assert_eq!(std_out.stdout, b"out\n");
    assert_eq!(Output::from(std_out), out);
    // Debug as std's, UTF-8 or not, plain and pretty.
    for (o, e) in [(&b"text\n"[..], &b"\xff\xfe"[..]), (&b""[..], &b"err"[..])] {
        let ours = Output {
            status: ExitStatus::from_raw(256),
            stdout: o.to_vec(),
            stderr: e.to_vec(),
        };
        let std: std::process::Output = ours.clone().into();
        assert_eq!(format!("{ours:?}"), format!("{std:?}"));
        assert_eq!(format!("{ours:#?}"), format!("{std:#?}"));
    }
    // Truncation is reported by `capture()`.
    let got = Command::new("echo")
        .arg("hello")
        .capture_limit(2)
        .capture()
        .unwrap();
    assert_eq!(got.output.stdout, b"he");
    assert!(got.stdout_truncated && !got.stderr_truncated);
}

/// Raw statuses worth checking: exits, every signal with and without core,
/// stopped, continued, and unrecognised ones (which printed "signal: 0").
fn interesting_raw_statuses() -> Vec<i32> {
    let mut raws = vec![
        0,
        1 << 8,
        255 << 8,
        0xffff,
        0x7f,
        0x17f,
        0x137f,
        0x80,
        0xff,
        0x1_0000,
    ];
    for sig in 1..0x7f {
        raws.push(sig);
        raws.push(sig | 0x80);
        raws.push((sig << 8) | 0x7f);
    }
    raws
}

#[test]
fn exit_status_display_and_debug_are_stds_for_every_raw_status() {
    for raw in interesting_raw_statuses() {
        let ours = ExitStatus::from_raw(raw);
        let std = std::process::ExitStatus::from_raw(raw);
        assert_eq!(ours.to_string(), std.to_string(), "raw {raw:#x}");
        assert_eq!(format!("{ours:?}"), format!("{std:?}"), "raw {raw:#x}");
        assert_eq!(ours.code(), std.code(), "raw {raw:#x}");
        assert_eq!(ours.signal(), std.signal(), "raw {raw:#x}");
        assert_eq!(ours.core_dumped(), std.core_dumped(), "raw {raw:#x}");
        assert_eq!(ours.stopped_signal(), std.stopped_signal(), "raw {raw:#x}");
        assert_eq!(ours.continued(), std.continued(), "raw {raw:#x}");
        assert_eq!(ours.success(), std.success(), "raw {raw:#x}");
        assert_eq!(ExitStatus::from(std), ours);
        assert_eq!(std::process::ExitStatus::from(ours), std);
        assert!(ours == std);
    }
    // The three raw statuses that printed "signal: 0".
    for raw in [0x137f, 0xffff, 0x7f] {
        assert!(!ExitStatus::from_raw(raw)
            .to_string()
            .starts_with("signal: 0"));
    }
}

#[test]
fn exit_status_ext_trait_and_default() {
    use conductor::unix::ExitStatusExt;
    assert!(ExitStatus::default().success());
    assert_eq!(ExitStatus::default(), ExitStatus::from_raw(0));
    let s = <ExitStatus as ExitStatusExt>::from_raw(0x137f);
    assert_eq!(ExitStatusExt::stopped_signal(&s), Some(0x13));
    assert!(ExitStatusExt::continued(
        &<ExitStatus as ExitStatusExt>::from_raw(0xffff)
    ));
    assert_eq!(ExitStatusExt::into_raw(s), 0x137f);
    assert!(ExitStatusExt::core_dumped(&ExitStatus::from_raw(0x8b)));
    assert_eq!(ExitStatusExt::signal(&ExitStatus::from_raw(0x8b)), Some(11));
}

#[test]
fn exit_ok_carries_the_status_and_works_with_question_mark() {
    let status = Command::new("sh").args(["-c", "exit 5"]).status().unwrap();
    let err = status.exit_ok().unwrap_err();
    assert_eq!(err.status(), status);
    assert_eq!(err.code(), Some(5));
    assert_eq!(err.code_nonzero().map(|c| c.get()), Some(5));
    assert_eq!(
        err.to_string(),
        "process exited unsuccessfully: exit status: 5"
    );
    assert!(Command::new("true").status().unwrap().exit_ok().is_ok());
    fn io_fn() -> std::io::Result<()> {
        Command::new("false").status()?.exit_ok()?;
        Ok(())
    }
    assert!(io_fn().is_err());
    fn conductor_fn() -> conductor::Result<()> {
        Command::new("false").status()?.exit_ok()?;
        Ok(())
    }
    let e = conductor_fn().unwrap_err();
    assert_eq!(e.exit_status().and_then(|s| s.code()), Some(1));
}

#[test]
fn error_into_io_error_keeps_kind_and_raw_os_error() {
    let err = Command::new("/no/such/program").spawn().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), ErrorKind::NotFound);
    assert_eq!(io.raw_os_error(), Some(libc::ENOENT));
    fn io_fn() -> std::io::Result<()> {
        Command::new("/no/such/program").spawn()?;
        Ok(())
    }
    assert_eq!(io_fn().unwrap_err().raw_os_error(), Some(libc::ENOENT));
    // Without an OS error, the kind survives and the conductor error is inside.
    let err = Command::new("a\0b").spawn().unwrap_err();
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), ErrorKind::InvalidInput);
    assert!(io.get_ref().unwrap().is::<conductor::Error>());
}

#[test]
fn empty_program_is_not_found_like_std() {
    let std_err = std::process::Command::new("").spawn().unwrap_err();
    let err = Command::new("").spawn().unwrap_err();
    assert_eq!(err.kind(), std_err.kind());
    assert_eq!(err.kind(), ErrorKind::NotFound);
    run_async(30, async {
        let err = conductor::Command::new("").output().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn command_debug_prints_like_std() {
    let mut ours = Command::new("prog");
    let mut std = std::process::Command::new("prog");
    {
        std.arg("a b")
            .arg("x\"y")
            .env("A", "1")
            .env_remove("B")
            .current_dir("/tmp");
    }
    ours.arg("a b")
        .arg("x\"y")
        .env("A", "1")
        .env_remove("B")
        .current_dir("/tmp");
    assert_eq!(format!("{ours:?}"), format!("{std:?}"));
    assert_eq!(
        format!("{ours:?}"),
        r#"cd "/tmp" && env -u B A="1" "prog" "a b" "x\"y""#
    );
    let mut ours = conductor::Command::new("p");
    ours.env_clear().env("Z", "2");
    let mut std = std::process::Command::new("p");
    std.env_clear().env("Z", "2");
    assert_eq!(format!("{ours:?}"), format!("{std:?}"));
    use conductor::unix::CommandExt as _;
    use std::os::unix::process::CommandExt as _;
    let (mut ours, mut std) = (Command::new("p"), std::process::Command::new("p"));
    ours.arg0("zero").arg("1");
    std.arg0("zero").arg("1");
    assert_eq!(format!("{ours:?}"), format!("{std:?}"));
}

#[test]
fn command_from_std_command() {
    let mut std = std::process::Command::new("sh");
    std.args(["-c", "echo $A; pwd"])
        .env("A", "from-std")
        .current_dir("/");
    let mut ours = Command::from(std);
    assert_eq!(ours.get_program(), "sh");
    assert_eq!(ours.get_args().len(), 2);
    let out = ours.output().unwrap();
    assert_eq!(out.stdout, b"from-std\n/\n");
    let ours: conductor::Command = std::process::Command::new("true").into();
    assert_eq!(ours.get_program(), "true");
}

#[test]
fn command_envs_is_exact_size() {
    let mut cmd = Command::new("env");
    cmd.env("A", "1").env("B", "2").env_remove("C");
    let envs = cmd.get_envs();
    assert_eq!(envs.len(), 3);
}

#[test]
fn stdio_from_std_types() {
    // io::PipeWriter / PipeReader.
    let (mut rd, wr) = std::io::pipe().unwrap();
    let mut child = Command::new("echo")
        .arg("piped")
        .stdout(wr)
        .spawn()
        .unwrap();
    child.wait().unwrap();
    let mut got = String::new();
    rd.read_to_string(&mut got).unwrap();
    assert_eq!(got, "piped\n");
    let (rd, mut wr) = std::io::pipe().unwrap();
    wr.write_all(b"in").unwrap();
    drop(wr);
    assert_eq!(
        Command::new("cat").stdin(rd).output().unwrap().stdout,
        b"in"
    );
    // A std child's stdout.
    let mut producer = std::process::Command::new("echo")
        .arg("from std")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = Command::new("cat")
        .stdin(producer.stdout.take().unwrap())
        .output()
        .unwrap();
    producer.wait().unwrap();
    assert_eq!(out.stdout, b"from std\n");
    // io::Stdout / io::Stderr are accepted (the child writes to ours).
    assert!(Command::new("true")
        .stdout(std::io::stdout())
        .stderr(std::io::stderr())
        .status()
        .unwrap()
        .success());
}

#[test]
fn async_pipes_convert_into_stdio_and_raw_fds() {
    run_async(30, async {
        let mut a = conductor::Command::new("echo")
            .arg("hop")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe: Stdio = Stdio::from(a.stdout.take().unwrap());
        let out = conductor::Command::new("cat")
            .stdin(pipe)
            .output()
            .await
            .unwrap();
        a.wait().await.unwrap();
        assert_eq!(out.stdout, b"hop\n");
        // IntoRawFd on an async pipe: a blocking descriptor we own.
        let mut a = conductor::Command::new("echo")
            .arg("raw")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let raw = a.stdout.take().unwrap().into_raw_fd();
        // SAFETY: into_raw_fd gave us ownership of `raw`.
        let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
        let mut got = String::new();
        file.read_to_string(&mut got).unwrap();
        assert_eq!(got, "raw\n");
        a.wait().await.unwrap();
    });
}

#[test]
fn blocking_pipes_into_raw_fd_and_write_through_shared_ref() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    (&stdin).write_all(b"shared").unwrap();
    let mut by_ref = &stdin;
    by_ref.write_all(b" ref").unwrap();
    drop(stdin);
    let raw = child.stdout.take().unwrap().into_raw_fd();
    // SAFETY: into_raw_fd gave us ownership of `raw`.
    let mut file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
    let mut got = String::new();
    file.read_to_string(&mut got).unwrap();
    assert_eq!(got, "shared ref");
    child.wait().unwrap();
}

#[test]
fn signal_names_come_from_the_platform() {
    assert_eq!(conductor::signal_name(libc::SIGKILL), Some("SIGKILL"));
    assert_eq!(conductor::signal_name(libc::SIGUSR1), Some("SIGUSR1"));
    assert_eq!(conductor::signal_name(libc::SIGUSR2), Some("SIGUSR2"));
    assert_eq!(conductor::signal_name(libc::SIGCHLD), Some("SIGCHLD"));
    assert_eq!(conductor::signal_name(0), None);
}

// ------------------------------------------------------------ merged output

const INTERLEAVED: &str = "echo 1; echo 2 >&2; echo 3; echo 4 >&2";

#[test]
fn merged_stderr_shares_the_stdout_pipe_in_order() {
    let out = Command::new("sh")
        .args(["-c", INTERLEAVED])
        .stderr(Stdio::merged_with_stdout())
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"1\n2\n3\n4\n");
    assert!(out.stderr.is_empty());
    let out = Command::new("sh")
        .args(["-c", INTERLEAVED])
        .combined_output()
        .unwrap();
    assert_eq!(out.stdout, b"1\n2\n3\n4\n");
    run_async(30, async {
        let out = conductor::Command::new("sh")
            .args(["-c", INTERLEAVED])
            .combined_output()
            .await
            .unwrap();
        assert_eq!(out.stdout, b"1\n2\n3\n4\n");
        let child = conductor::Command::new("sh")
            .args(["-c", INTERLEAVED])
            .stdout(Stdio::piped())
            .stderr(Stdio::merged_with_stdout())
            .spawn()
            .unwrap();
        assert!(child.stderr.is_none());
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.stdout, b"1\n2\n3\n4\n");
    });
    // Into a file: 2>&1 > file.
    let dir = std::env::temp_dir().join(format!("conductor-merge-{}", std::process::id()));
    let file = std::fs::File::create(&dir).unwrap();
    Command::new("sh")
        .args(["-c", INTERLEAVED])
        .stdout(file)
        .stderr(Stdio::merged_with_stdout())
        .status()
        .unwrap();
    assert_eq!(std::fs::read(&dir).unwrap(), b"1\n2\n3\n4\n");
    std::fs::remove_file(&dir).unwrap();
    // Only for stderr.
    let err = Command::new("true")
        .stdout(Stdio::merged_with_stdout())
        .status()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

// ------------------------------------------------------------ checked runs

#[test]
fn checked_runs_carry_program_args_status_and_stderr_tail() {
    let script = "for i in $(seq 1 2000); do echo line$i >&2; done; exit 3";
    let err = Command::new("sh")
        .args(["-c", script])
        .checked(true)
        .output()
        .unwrap_err();
    assert_eq!(err.operation(), conductor::Operation::ExitStatus);
    assert_eq!(err.program().unwrap(), "sh");
    assert_eq!(err.args(), ["-c", script]);
    assert_eq!(err.exit_status().unwrap().code(), Some(3));
    let tail = err.stderr_tail().unwrap();
    assert!(tail.ends_with("line2000\n"), "{tail}");
    assert!(
        tail.starts_with("line"),
        "tail starts at a line: {tail:.20}"
    );
    assert!(tail.len() <= 4096);
    let msg = err.to_string();
    assert!(
        msg.contains("exit status: 3") && msg.contains("line2000"),
        "{msg}"
    );
    assert_eq!(
        err.partial_output().unwrap().stderr.len(),
        (1..=2000)
            .map(|i: i32| 5 + i.to_string().len())
            .sum::<usize>()
    );
    // status() too, and success passes through.
    let err = Command::new("false").checked(true).status().unwrap_err();
    assert_eq!(err.exit_status().unwrap().code(), Some(1));
    assert!(Command::new("true").checked(true).output().is_ok());
    // A signal is unsuccessful too.
    let err = Command::new("sh")
        .args(["-c", "kill -9 $$"])
        .checked(true)
        .status()
        .unwrap_err();
    assert_eq!(err.exit_status().unwrap().signal(), Some(9));
    run_async(30, async {
        let err = conductor::Command::new("sh")
            .args(["-c", "echo oops >&2; exit 2"])
            .checked(true)
            .output()
            .await
            .unwrap_err();
        assert_eq!(err.exit_status().unwrap().code(), Some(2));
        assert_eq!(err.stderr_tail().as_deref(), Some("oops\n"));
        // output().await?.exit_ok()
        let err = conductor::Command::new("sh")
            .args(["-c", "echo bad >&2; exit 4"])
            .output()
            .await
            .unwrap()
            .exit_ok()
            .unwrap_err();
        assert_eq!(err.exit_status().unwrap().code(), Some(4));
        assert!(err.to_string().contains("bad"));
    });
}

// ------------------------------------------------------------ inherit_fd

#[test]
fn inherit_fd_copy_is_closed_after_spawn() {
    use conductor::unix::CommandExt;
    let (mut rd, wr) = std::io::pipe().unwrap();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo x >&3"]).inherit_fd(3, wr.into());
    let mut child = cmd.spawn().unwrap();
    child.wait().unwrap();
    // The Command is alive; the reader must still see EOF. Bounded: a hang
    // here fails through the reader thread's timeout below.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut got = String::new();
        let _ = rd.read_to_string(&mut got);
        let _ = tx.send(got);
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("EOF on the inherited pipe while the Command lives");
    assert_eq!(got, "x\n");
    drop(cmd);
}
