//! Decoding how a Unix child ended, and what it used, into the public types.

use crate::status::ResourceUsage;
use std::time::Duration;

/// Builds a status from `waitid`'s `si_code` and `si_status`.
#[cfg(target_os = "linux")]
pub(crate) fn from_siginfo(code: i32, status: i32) -> crate::status::ExitStatus {
    let raw = match code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    };
    crate::status::ExitStatus::from_raw(raw)
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(
        t.tv_sec.max(0) as u64,
        (t.tv_usec.clamp(0, 999_999) as u32) * 1000,
    )
}

/// Converts `struct rusage` (ru_maxrss is in KiB on Linux and the BSDs, bytes on macOS).
pub(crate) fn from_rusage(ru: &libc::rusage) -> ResourceUsage {
    let rss = ru.ru_maxrss.max(0) as u64;
    ResourceUsage {
        user_time: tv(ru.ru_utime),
        system_time: tv(ru.ru_stime),
        max_rss_bytes: if cfg!(target_os = "macos") {
            rss
        } else {
            rss * 1024
        },
        ..ResourceUsage::default()
    }
}
