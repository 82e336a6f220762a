//! One OpenSSH ControlMaster per host, so that a remote task costs a new
//! channel on an open connection rather than a TCP and key-exchange
//! handshake.
//!
//! The control sockets live in a private directory (mode 0700) made at
//! start and removed, with every master closed (`ssh -O exit`), when the
//! [`ControlDir`] is dropped. Each master is started once, with
//! `ControlPersist`, and `-f`: ssh goes to the background once it is
//! connected and authenticated, so its exit status tells at once whether
//! the host is reachable (255: it is not). Every later ssh command names
//! the same `ControlPath` with `ControlMaster=auto`: it uses the master
//! when there is one, and a host that was down at start becomes the master
//! of its own first successful connection. Should conductor be SIGKILLed,
//! a master ends by itself after `ControlPersist` seconds without channels.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

/// How long a master stays up without channels (also after conductor died).
pub const PERSIST: Duration = Duration::from_secs(30);

/// Longest name of the directory made under `$TMPDIR`.
const MAX_NAME: usize = "conductor-ssh-4294967295-ffffffff".len();

/// The private directory of control sockets; closes every master on drop.
#[derive(Debug)]
pub struct ControlDir {
    path: PathBuf,
    /// ssh commands (client and options, host last) of the masters started;
    /// `None` once closed.
    masters: Mutex<Option<Vec<Vec<OsString>>>>,
}

impl ControlDir {
    /// Makes a new private directory under `$TMPDIR` (or `/tmp` when
    /// `$TMPDIR` is too long for a socket path).
    ///
    /// ```ignore
    /// let dir = ControlDir::new()?;
    /// assert!(dir.path().is_dir());
    /// ```
    pub fn new() -> std::io::Result<ControlDir> {
        use std::os::unix::fs::DirBuilderExt;
        // A socket path must fit in sun_path (108 bytes): ssh makes it as
        // DIR/<40-hex %C>.<16 random>, so a long $TMPDIR falls back to /tmp.
        let mut base = std::env::temp_dir();
        if base.as_os_str().len() + MAX_NAME + 1 + 40 + 17 >= 104 {
            base = PathBuf::from("/tmp");
        }
        let mut n = 0u32;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!("conductor-ssh-{}-{nanos:x}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    return Ok(ControlDir {
                        path,
                        masters: Mutex::new(Some(Vec::new())),
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The directory.
    #[allow(dead_code)] // tests and `conductor each`
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ssh options that make a command use (or become) this directory's
    /// master for its host.
    ///
    /// ```ignore
    /// assert_eq!(dir.options().len(), 6);
    /// ```
    pub fn options(&self) -> Vec<OsString> {
        let mut path = OsString::from("ControlPath=");
        // %C: a hash of the connection (host, port, user): short, one per host.
        path.push(self.path.join("%C"));
        vec![
            "-o".into(),
            path,
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPersist={}", PERSIST.as_secs()).into(),
        ]
    }

    /// Starts the master for one host: `ssh` is the client with its options,
    /// the host last. Returns ssh's complaint when the host cannot be reached.
    pub async fn start(&self, ssh: &[OsString]) -> Result<(), String> {
        let (client, rest) = ssh.split_first().ok_or("empty ssh command")?;
        let (host, options) = rest.split_last().ok_or("no host")?;
        let mut cmd = conductor::Command::new(client);
        cmd.args(options)
            .args(self.options())
            .args([
                "-o",
                "ControlMaster=yes",
                "-o",
                "BatchMode=yes",
                "-f",
                "-N",
                "-T",
            ])
            .arg(host)
            .stdin(conductor::Stdio::null())
            .stdout(conductor::Stdio::null())
            .stderr(conductor::Stdio::piped())
            .timeout(Duration::from_secs(60));
        let out = cmd.output().await.map_err(|e| e.to_string())?;
        if out.status.success() {
            if let Some(m) = self.lock().as_mut() {
                m.push(ssh.to_vec());
            }
            Ok(())
        } else {
            let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(if why.is_empty() {
                out.status.to_string()
            } else {
                why
            })
        }
    }
}

impl ControlDir {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Vec<OsString>>>> {
        self.masters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes every master (`ssh -O exit`) and removes the directory; the
    /// second and later calls do nothing. Called on drop.
    pub fn close(&self) {
        let Some(masters) = self.lock().take() else {
            return;
        };
        for ssh in &masters {
            let Some((client, rest)) = ssh.split_first() else {
                continue;
            };
            let Some((host, options)) = rest.split_last() else {
                continue;
            };
            let _ = std::process::Command::new(client)
                .args(options)
                .args(self.options())
                .args(["-O", "exit"])
                .arg(host)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl Drop for ControlDir {
    fn drop(&mut self) {
        self.close();
    }
}
