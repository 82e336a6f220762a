//! Issue 15, "done when": the behaviours tokio's process tests check
//! (tokio/tests/process_*.rs), written once and compiled twice: against
//! `tokio::process` and against `conductor::Command`, with only the `use`
//! lines differing (tokio code imports std's `Stdio`, conductor code its own:
//! std's `Stdio` is opaque, so it cannot be converted).
#![cfg(unix)]

mod common;

macro_rules! tokio_process_tests {
    ($($imports:item)*) => {
        $($imports)*
        use std::time::Duration;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        fn block_on<F: std::future::Future>(fut: F) -> F::Output {
            crate::common::run_async(60, fut)
        }

        #[test]
        fn simple_exit_code() {
            block_on(async {
                let mut child = Command::new("sh").args(["-c", "exit 2"]).spawn().unwrap();
                let status = child.wait().await.unwrap();
                assert_eq!(status.code(), Some(2));
                // Waiting again gives the same status.
                assert_eq!(child.wait().await.unwrap().code(), Some(2));
            });
        }

        #[test]
        fn arg0() {
            block_on(async {
                let mut cmd = Command::new("sh");
                cmd.arg0("test_string").arg("-c").arg("echo $0");
                let output = cmd.output().await.unwrap();
                assert_eq!(output.stdout, b"test_string\n");
            });
        }

        #[test]
        fn kill_on_drop_kills_the_child() {
            let pid = block_on(async {
                let child = Command::new("sleep")
                    .arg("300")
                    .kill_on_drop(true)
                    .spawn()
                    .unwrap();
                pid_of(&child)
            });
            crate::common::assert_reaped(pid);
        }

        #[test]
        fn write_to_a_killed_childs_stdin_fails_without_hanging() {
            block_on(async {
                let mut child = Command::new("cat")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut input = child.stdin.take().unwrap();
                child.start_kill().unwrap();
                child.wait().await.unwrap();
                let chunk = vec![b'x'; 64 << 10];
                let err = loop {
                    if let Err(e) = input.write_all(&chunk).await {
                        break e;
                    }
                };
                assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
            });
        }

        #[test]
        fn many_children_at_once() {
            block_on(async {
                let mut tasks = Vec::new();
                for i in 0..20 {
                    tasks.push(tokio::spawn(async move {
                        let out = Command::new("echo")
                            .arg(i.to_string())
                            .stdout(Stdio::piped())
                            .spawn()
                            .unwrap()
                            .wait_with_output()
                            .await
                            .unwrap();
                        assert_eq!(out.stdout, format!("{i}\n").as_bytes());
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            });
        }

        #[test]
        fn stdin_and_stdout_round_trip() {
            block_on(async {
                let mut child = Command::new("cat")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(b"hello tokio").await.unwrap();
                drop(stdin);
                let mut got = String::new();
                child.stdout.take().unwrap().read_to_string(&mut got).await.unwrap();
                assert_eq!(got, "hello tokio");
                assert!(child.wait().await.unwrap().success());
            });
        }

        #[test]
        fn try_wait_then_kill() {
            block_on(async {
                let mut child = Command::new("sleep").arg("300").spawn().unwrap();
                assert!(child.try_wait().unwrap().is_none());
                child.kill().await.unwrap();
                let status = child.try_wait().unwrap().expect("exited after kill");
                assert_eq!(status.signal(), Some(9));
            });
        }

        #[test]
        fn wait_is_cancel_safe() {
            block_on(async {
                let mut child = Command::new("sleep").arg("300").spawn().unwrap();
                let waited = tokio::time::timeout(Duration::from_millis(50), child.wait()).await;
                assert!(waited.is_err(), "still running");
                child.start_kill().unwrap();
                assert_eq!(child.wait().await.unwrap().signal(), Some(9));
            });
        }

        #[test]
        fn output_and_status_with_env_and_dir() {
            block_on(async {
                let out = Command::new("sh")
                    .args(["-c", "echo $GREETING; pwd; echo err >&2"])
                    .env("GREETING", "hi")
                    .current_dir("/")
                    .output()
                    .await
                    .unwrap();
                assert_eq!(out.stdout, b"hi\n/\n");
                assert_eq!(out.stderr, b"err\n");
                let status = Command::new("false").status().await.unwrap();
                assert_eq!(status.code(), Some(1));
            });
        }

        #[test]
        fn spawn_failure_is_an_error() {
            block_on(async {
                let err = Command::new("/definitely/not/a/program").spawn().unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
            });
        }

        #[test]
        #[allow(clippy::unnecessary_fallible_conversions)]
        fn pipe_between_two_children() {
            block_on(async {
                let mut first = Command::new("echo")
                    .arg("through")
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let stdin: Stdio = first.stdout.take().unwrap().try_into().expect("into Stdio");
                let out = Command::new("tr")
                    .args(["a-z", "A-Z"])
                    .stdin(stdin)
                    .output()
                    .await
                    .unwrap();
                first.wait().await.unwrap();
                assert_eq!(out.stdout, b"THROUGH\n");
            });
        }

        #[test]
        fn pre_exec_and_kill_on_drop_getter() {
            block_on(async {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", "echo ran"]).kill_on_drop(true);
                assert!(cmd.get_kill_on_drop());
                // SAFETY: write(2) is async-signal-safe; nothing is allocated.
                unsafe {
                    cmd.pre_exec(|| {
                        let msg = b"hook\n";
                        libc::write(1, msg.as_ptr().cast(), msg.len());
                        Ok(())
                    });
                }
                let out = cmd.output().await.unwrap();
                assert_eq!(out.stdout, b"hook\nran\n");
            });
        }

        #[test]
        fn std_command_converts() {
            block_on(async {
                let mut std_cmd = std::process::Command::new("echo");
                std_cmd.arg("converted");
                let out = Command::from(std_cmd).output().await.unwrap();
                assert_eq!(out.stdout, b"converted\n");
            });
        }
    };
}

mod with_tokio {
    tokio_process_tests! {
        use std::os::unix::process::ExitStatusExt;
        use std::process::Stdio;
        use tokio::process::Command;
    }

    /// tokio's `Child::id` is an `Option` (`None` once reaped).
    fn pid_of(child: &tokio::process::Child) -> u32 {
        child.id().expect("running")
    }
}

mod with_conductor {
    tokio_process_tests! {
        #[allow(unused_imports)]
        use conductor::unix::ExitStatusExt;
        use conductor::{Command, Stdio};
    }

    /// conductor's `Child::id` is std's `u32` (valid for the handle's life).
    fn pid_of(child: &conductor::Child) -> u32 {
        child.id()
    }
}
