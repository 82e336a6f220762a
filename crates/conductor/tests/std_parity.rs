//! Issue 15, "done when": the behaviours std's own process tests check
//! (library/std/src/process/tests.rs), written once as a body that is compiled
//! twice: against `std::process` and against `conductor::blocking`, with only
//! the `use` lines differing. Each test runs against both, so a difference
//! from std fails here.
#![cfg(unix)]

macro_rules! std_process_tests {
    ($($imports:item)*) => {
        $($imports)*
        #[allow(unused_imports)]
        use std::io::prelude::*;
        #[allow(unused_imports)]
        use std::io::ErrorKind;
        #[allow(unused_imports)]
        use std::os::unix::process::ExitStatusExt;
        use std::str;

        fn known_command() -> Command {
            Command::new("echo")
        }

        fn shell_cmd() -> Command {
            Command::new("/bin/sh")
        }

        fn env_cmd() -> Command {
            Command::new("env")
        }

        /// Spawns `cmd`, reads its piped stdout to the end, checks it succeeded.
        fn run_output(mut cmd: Command) -> String {
            let mut p = cmd.spawn().expect("spawn");
            assert!(p.stdout.is_some());
            let mut ret = String::new();
            p.stdout.as_mut().unwrap().read_to_string(&mut ret).unwrap();
            assert!(p.wait().unwrap().success());
            ret
        }

        #[test]
        fn smoke() {
            let p = shell_cmd().arg("-c").arg("true").spawn();
            assert!(p.is_ok());
            let mut p = p.unwrap();
            assert!(p.wait().unwrap().success());
        }

        #[test]
        fn smoke_failure() {
            assert!(Command::new("if-this-is-a-binary-then-the-world-has-ended")
                .spawn()
                .is_err());
        }

        #[test]
        fn exit_reported_right() {
            let mut p = shell_cmd().arg("-c").arg("false").spawn().unwrap();
            assert_eq!(p.wait().unwrap().code(), Some(1));
            drop(p.wait());
        }

        #[test]
        fn signal_reported_right() {
            let mut p = shell_cmd()
                .arg("-c")
                .arg("read a")
                .stdin(Stdio::piped())
                .spawn()
                .unwrap();
            p.kill().unwrap();
            let status = p.wait().unwrap();
            assert_eq!(status.signal(), Some(9), "{status:?}");
            assert_eq!(status.to_string(), "signal: 9 (SIGKILL)");
        }

        #[test]
        fn stdout_works() {
            let mut cmd = shell_cmd();
            cmd.arg("-c").arg("echo foobar").stdout(Stdio::piped());
            assert_eq!(run_output(cmd), "foobar\n");
        }

        #[test]
        fn set_current_dir_works() {
            let mut cmd = shell_cmd();
            cmd.arg("-c").arg("pwd").current_dir("/").stdout(Stdio::piped());
            assert_eq!(run_output(cmd), "/\n");
        }

        #[test]
        fn stdin_works() {
            let mut p = shell_cmd()
                .arg("-c")
                .arg("read line; echo $line")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            p.stdin.as_mut().unwrap().write_all(b"foobar").unwrap();
            drop(p.stdin.take());
            let mut out = String::new();
            p.stdout.as_mut().unwrap().read_to_string(&mut out).unwrap();
            assert!(p.wait().unwrap().success());
            assert_eq!(out, "foobar\n");
        }

        #[test]
        fn child_stdout_read_into_a_buffer() {
            let mut cmd = shell_cmd();
            cmd.arg("-c").arg("echo abc");
            cmd.stdin(Stdio::null());
            cmd.stdout(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let mut stdout = child.stdout.take().unwrap();
            let mut buf = [0u8; 128];
            let mut got = 0;
            loop {
                let n = stdout.read(&mut buf[got..]).unwrap();
                if n == 0 {
                    break;
                }
                got += n;
            }
            assert_eq!(&buf[..got], b"abc\n");
            child.wait().unwrap();
        }

        #[test]
        fn test_process_status() {
            let mut status = shell_cmd().arg("-c").arg("false").status().unwrap();
            assert_eq!(status.code(), Some(1));
            status = shell_cmd().arg("-c").arg("true").status().unwrap();
            assert!(status.success());
        }

        #[test]
        fn test_process_output_fail_to_start() {
            match Command::new("/no-binary-by-this-name-should-exist").output() {
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
                Ok(..) => panic!(),
            }
        }

        #[test]
        fn test_process_output_output() {
            let Output { status, stdout, stderr } =
                shell_cmd().arg("-c").arg("echo hello").output().unwrap();
            let output_str = str::from_utf8(&stdout).unwrap();
            assert!(status.success());
            assert_eq!(output_str.trim(), "hello");
            assert_eq!(stderr, Vec::<u8>::new());
        }

        #[test]
        fn test_process_output_error() {
            let Output { status, stdout, stderr } =
                Command::new("mkdir").arg("./").output().unwrap();
            assert!(status.code().is_some());
            assert_ne!(status.code(), Some(0));
            assert_eq!(stdout, Vec::<u8>::new());
            assert!(!stderr.is_empty());
        }

        #[test]
        fn test_finish_once() {
            let mut prog = shell_cmd().arg("-c").arg("false").spawn().unwrap();
            assert_eq!(prog.wait().unwrap().code(), Some(1));
        }

        #[test]
        fn test_finish_twice() {
            let mut prog = shell_cmd().arg("-c").arg("false").spawn().unwrap();
            assert_eq!(prog.wait().unwrap().code(), Some(1));
            assert_eq!(prog.wait().unwrap().code(), Some(1));
        }

        #[test]
        fn test_wait_with_output_once() {
            let prog = shell_cmd()
                .arg("-c")
                .arg("echo hello")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let Output { status, stdout, stderr } = prog.wait_with_output().unwrap();
            assert!(status.success());
            assert_eq!(str::from_utf8(&stdout).unwrap().trim(), "hello");
            assert_eq!(stderr, Vec::<u8>::new());
        }

        #[test]
        fn test_override_env() {
            let mut cmd = env_cmd();
            cmd.env_clear().env("RUN_TEST_NEW_ENV", "123");
            if let Some(p) = std::env::var_os("PATH") {
                cmd.env("PATH", &p);
            }
            let result = cmd.output().unwrap();
            let output = String::from_utf8_lossy(&result.stdout).to_string();
            assert!(output.contains("RUN_TEST_NEW_ENV=123"), "{output}");
            assert!(!output.contains("HOME="), "cleared: {output}");
        }

        #[test]
        fn test_add_to_env() {
            let result = env_cmd().env("RUN_TEST_NEW_ENV", "123").output().unwrap();
            let output = String::from_utf8_lossy(&result.stdout).to_string();
            assert!(output.contains("RUN_TEST_NEW_ENV=123"), "{output}");
        }

        #[test]
        fn test_capture_env_at_spawn() {
            // The parent's environment is read at spawn, not when the
            // command is built. (A variable name unique to this copy of the
            // body: the std and conductor copies run in parallel.)
            let name = format!("RUN_TEST_NEW_ENV2_{}", module_path!().replace("::", "_"));
            let mut cmd = env_cmd();
            cmd.env("RUN_TEST_NEW_ENV1", "123");
            // SAFETY: no other test reads or writes this variable.
            unsafe { std::env::set_var(&name, "456") };
            let result = cmd.output().unwrap();
            // SAFETY: as above.
            unsafe { std::env::remove_var(&name) };
            let output = String::from_utf8_lossy(&result.stdout).to_string();
            assert!(output.contains("RUN_TEST_NEW_ENV1=123"), "{output}");
            assert!(output.contains(&format!("{name}=456")), "{output}");
        }

        #[test]
        fn test_interior_nul_in_progname_is_error() {
            let e = Command::new("has-some-\0\0s-inside").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }

        #[test]
        fn test_interior_nul_in_arg_is_error() {
            let e = known_command().arg("has-some-\0\0s-inside").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }

        #[test]
        fn test_interior_nul_in_args_is_error() {
            let e = known_command().args(["has-some-\0\0s-inside"]).spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }

        #[test]
        fn test_interior_nul_in_current_dir_is_error() {
            let e = known_command().current_dir("has-some-\0\0s-inside").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }

        #[test]
        fn test_interior_nul_in_env_key_is_error() {
            let e = env_cmd().env("has-some-\0\0s-inside", "value").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }

        #[test]
        fn test_interior_nul_in_env_value_is_error() {
            let e = env_cmd().env("key", "has-some-\0\0s-inside").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        }

        #[test]
        fn test_command_implements_send_sync() {
            fn take_send_sync_type<T: Send + Sync>(_: T) {}
            take_send_sync_type(Command::new(""))
        }

        #[test]
        fn empty_program_is_not_found() {
            let e = Command::new("").spawn().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound);
        }

        #[test]
        fn debug_print() {
            let mut command = Command::new("some-boring-name");
            assert_eq!(format!("{command:?}"), r#""some-boring-name""#);
            command.args(["1", "2", "3"]);
            assert_eq!(format!("{command:?}"), r#""some-boring-name" "1" "2" "3""#);
            CommandExt::arg0(&mut command, "exciting-name");
            assert_eq!(
                format!("{command:?}"),
                r#"["some-boring-name"] "exciting-name" "1" "2" "3""#
            );
            let mut with_env_and_cwd = Command::new("boring-name");
            with_env_and_cwd.current_dir("/some/path").env("FOO", "bar");
            assert_eq!(
                format!("{with_env_and_cwd:?}"),
                r#"cd "/some/path" && FOO="bar" "boring-name""#
            );
            let mut removed = Command::new("boring-name");
            removed.env_remove("FOO").env_remove("BAR");
            assert_eq!(format!("{removed:?}"), r#"env -u BAR -u FOO "boring-name""#);
            let mut cleared = Command::new("boring-name");
            cleared.env_clear().env("BAR", "val").env_remove("FOO");
            assert_eq!(format!("{cleared:?}"), r#"env -i BAR="val" "boring-name""#);
            assert!(format!("{cleared:#?}").starts_with("Command {\n    program: \"boring-name\""));
        }

        #[test]
        fn terminate_exited_process() {
            let mut p = known_command().stdout(Stdio::null()).spawn().unwrap();
            p.wait().unwrap();
            assert!(p.kill().is_ok());
            assert!(p.kill().is_ok());
        }

        #[test]
        fn exit_status_round_trips_through_raw() {
            let status = shell_cmd().arg("-c").arg("exit 3").status().unwrap();
            let raw = status.into_raw();
            assert_eq!(ExitStatus::from_raw(raw), status);
            assert_eq!(status.to_string(), "exit status: 3");
            assert_eq!(format!("{status:?}"), "ExitStatus(unix_wait_status(768))");
            assert_eq!(ExitStatus::default().code(), Some(0));
        }

        #[test]
        fn try_wait_and_id() {
            let mut child = Command::new("sleep").arg("300").spawn().unwrap();
            assert!(child.id() > 0);
            assert!(child.try_wait().unwrap().is_none());
            child.kill().unwrap();
            assert_eq!(child.wait().unwrap().signal(), Some(9));
            assert!(child.try_wait().unwrap().is_some());
        }

        #[test]
        fn pipe_between_two_children() {
            let mut producer = Command::new("echo")
                .arg("hello")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let out = Command::new("tr")
                .args(["a-z", "A-Z"])
                .stdin(Stdio::from(producer.stdout.take().unwrap()))
                .output()
                .unwrap();
            producer.wait().unwrap();
            assert_eq!(out.stdout, b"HELLO\n");
        }

        #[test]
        fn stdio_from_file_and_io_stderr() {
            let f = std::fs::File::open("/dev/null").unwrap();
            let out = Command::new("cat").stdin(f).output().unwrap();
            assert!(out.stdout.is_empty() && out.status.success());
            let status = Command::new("true").stderr(std::io::stderr()).status().unwrap();
            assert!(status.success());
        }

        #[test]
        fn get_accessors() {
            let mut cmd = Command::new("prog");
            cmd.args(["a", "b"]).env("K", "V").env_remove("R").current_dir("/tmp");
            assert_eq!(cmd.get_program(), "prog");
            assert_eq!(cmd.get_args().collect::<Vec<_>>(), ["a", "b"]);
            assert_eq!(cmd.get_args().len(), 2);
            let envs: Vec<_> = cmd.get_envs().collect();
            assert_eq!(cmd.get_envs().len(), 2);
            assert!(envs.contains(&(std::ffi::OsStr::new("R"), None)));
            assert_eq!(cmd.get_current_dir(), Some(std::path::Path::new("/tmp")));
        }
    };
}

mod with_std {
    std_process_tests! {
        use std::os::unix::process::CommandExt;
        use std::process::{Command, ExitStatus, Output, Stdio};
    }
}

mod with_conductor {
    std_process_tests! {
        use conductor::blocking::Command;
        use conductor::unix::CommandExt;
        use conductor::{ExitStatus, Output, Stdio};
    }
}
