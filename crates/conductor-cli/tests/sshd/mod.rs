//! Real OpenSSH servers on loopback for the ssh tests: one `sshd -D` per
//! "host", each on its own port, with host and user keys generated in a
//! temporary directory, and an ssh client config naming the hosts
//! (`h0`, `h1`, ... and `down`, a port nobody listens on). Needs root (sshd
//! privilege separation) and `/usr/sbin/sshd` (`.ci/ssh.sh` installs it);
//! [`Cluster::start`] returns the reason when it cannot run.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

/// Several sshd instances and the client config that reaches them.
pub struct Cluster {
    pub dir: PathBuf,
    servers: Vec<Child>,
    logs: Vec<Arc<Mutex<Vec<String>>>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Cluster {
    /// Starts `hosts` sshd instances; `Err(reason)` when they cannot run here.
    pub fn start(hosts: usize) -> Result<Cluster, String> {
        if !Path::new(SSHD).exists() {
            return Err(format!("{SSHD} is missing (run .ci/ssh.sh)"));
        }
        if !rustix::process::geteuid().is_root() {
            return Err("sshd needs root here".into());
        }
        let dir = std::env::temp_dir().join(format!(
            "conductor-sshd-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::create_dir_all("/run/sshd").map_err(|e| e.to_string())?;
        // The remote side's temporary files (the guard's FIFOs) stay in here.
        std::fs::create_dir_all(dir.join("remote-tmp")).map_err(|e| e.to_string())?;
        for key in ["host_key", "id"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key)))?;
        }
        std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys"))
            .map_err(|e| e.to_string())?;
        let mut cluster = Cluster {
            dir: dir.clone(),
            servers: Vec::new(),
            logs: Vec::new(),
        };
        let user = "root";
        let mut client = String::new();
        for h in 0..hosts {
            let port = free_port();
            let conf = dir.join(format!("sshd_{h}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                     PidFile {d}/sshd_{h}.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nPermitRootLogin yes\nLogLevel INFO\nMaxSessions 200\nMaxStartups 100\n\
                     SetEnv TMPDIR={d}/remote-tmp\n",
                    d = dir.display()
                ),
            )
            .map_err(|e| e.to_string())?;
            let mut child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("{SSHD}: {e}"))?;
            let log = Arc::new(Mutex::new(Vec::new()));
            let (tx, rx) = std::sync::mpsc::channel();
            let stderr = child.stderr.take().unwrap();
            let sink = log.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    if line.contains("Server listening") {
                        let _ = tx.send(());
                    }
                    sink.lock().unwrap().push(line);
                }
            });
            cluster.servers.push(child);
            cluster.logs.push(log.clone());
            if rx.recv_timeout(Duration::from_secs(30)).is_err() {
                return Err(format!("sshd {h} did not start: {:?}", log.lock().unwrap()));
            }
            client.push_str(&format!(
                "Host h{h}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n"
            ));
        }
        client.push_str(&format!(
            "Host down\n  HostName 127.0.0.1\n  Port {}\n  User {user}\n\
             Host *\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
             UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n  ConnectTimeout 20\n",
            free_port(),
            d = dir.display()
        ));
        std::fs::write(dir.join("ssh_config"), client).map_err(|e| e.to_string())?;
        // One plain connection proves the set-up before any test relies on it.
        run(Command::new("ssh")
            .args(["-F"])
            .arg(dir.join("ssh_config"))
            .args(["h0", "true"]))?;
        Ok(cluster)
    }

    /// The `--ssh` value: the client with this cluster's config.
    pub fn ssh(&self) -> String {
        format!("ssh -F {}", self.dir.join("ssh_config").display())
    }

    /// Connections host `h` accepted so far (one per TCP connection, not per channel).
    pub fn accepted(&self, h: usize) -> usize {
        self.logs[h]
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("Accepted publickey"))
            .count()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for s in &mut self.servers {
            let _ = s.kill();
            let _ = s.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    /// Host `h` crashes: its sshd and every process under it (connections,
    /// sessions, remote commands) get SIGKILL; new connections are refused.
    pub fn crash(&mut self, h: usize) {
        let root = self.servers[h].id() as i32;
        let mut doomed = vec![root];
        // Descendants, by walking the parent links in /proc until no new ones appear.
        loop {
            let before = doomed.len();
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    continue;
                };
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, r)| r.split_whitespace().nth(1)?.parse::<i32>().ok());
                if ppid.is_some_and(|p| doomed.contains(&p)) && !doomed.contains(&pid) {
                    doomed.push(pid);
                }
            }
            if doomed.len() == before {
                break;
            }
        }
        for pid in doomed {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let _ = self.servers[h].wait();
    }
}

/// A cluster of `hosts` sshd servers, or `None` (the test skipped, saying
/// why) where one cannot start here. The test crate declares `mod skip;`.
pub fn cluster(hosts: usize) -> Option<Cluster> {
    match Cluster::start(hosts) {
        Ok(c) => Some(c),
        Err(why) => {
            crate::skip::skipped(why);
            None
        }
    }
}

/// Waits (at most `limit`) until `cond` holds; false on time-out.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// Whether process `pid` is alive (not gone, not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Items a shell would interpret (substitutions, quotes, a glob, a newline,
/// the empty string): a command that runs one touches `x` or `y`.
pub fn hostile_items(x: &Path, y: &Path) -> Vec<String> {
    vec![
        format!("$(touch {})", x.display()),
        format!("`touch {}`", y.display()),
        format!("; touch {}", x.display()),
        "it's \"quoted\" \\ back".to_string(),
        "two\nlines".to_string(),
        "*".to_string(),
        String::new(),
    ]
}

/// A shell command that starts a grandchild (`sleep 1000`), records its pid
/// in `dir/pid` (written aside, then renamed) and waits for it.
pub fn recorded_sleeper(dir: &Path) -> String {
    format!(
        "sleep 1000 & echo $! > {d}/pid.tmp; mv {d}/pid.tmp {d}/pid; wait",
        d = dir.display()
    )
}

/// The pid [`recorded_sleeper`] wrote in `dir/pid`, once it is there (the
/// test fails after 60 s).
pub fn recorded_pid(dir: &Path) -> i32 {
    let f = dir.join("pid");
    assert!(
        wait_until(Duration::from_secs(60), || f.exists()),
        "the remote task never started"
    );
    std::fs::read_to_string(f).unwrap().trim().parse().unwrap()
}

/// Asserts that process `pid` is gone within 60 s: "`who` PID outlived
/// `what`" otherwise.
pub fn assert_outlived_not(pid: i32, who: &str, what: &str) {
    assert!(
        wait_until(Duration::from_secs(60), || !alive(pid)),
        "{who} {pid} outlived {what}"
    );
}

/// Starts `conductor ARGS` (stdin: `input`, or none) with TMPDIR in
/// `/tmp/TMP_NAME<our pid>` (a SIGKILLed conductor cannot remove its control
/// directory: keep it in ours), waits for the remote task to record its pid
/// in `c.dir` (see [`recorded_sleeper`]), SIGKILLs conductor, and asserts
/// the recorded process (`who`) goes too.
pub fn sigkill_conductor_mid_task(
    c: &Cluster,
    tmp_name: &str,
    args: &[&str],
    input: Option<&[u8]>,
    who: &str,
) {
    use std::io::Write;
    let tmp = PathBuf::from(format!("/tmp/{tmp_name}{}", std::process::id()));
    let tmp = tmp.as_path();
    std::fs::create_dir_all(tmp).unwrap();
    let mut child = crate::cli_support::conductor()
        .args(args)
        .env("TMPDIR", tmp)
        .stdin(match input {
            Some(_) => conductor::Stdio::piped(),
            None => conductor::Stdio::null(),
        })
        .stdout(conductor::Stdio::null())
        .stderr(conductor::Stdio::null())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        child.stdin.as_mut().unwrap().write_all(input).unwrap();
    }
    let pid = recorded_pid(&c.dir);
    assert!(alive(pid));
    child.kill().unwrap();
    let _ = child.wait();
    assert_outlived_not(pid, who, "a SIGKILLed conductor");
    let _ = std::fs::remove_dir_all(tmp);
}
