//! Signal names from the platform's own constants (libc), so the numbering is
//! right on every Linux architecture, the BSDs and macOS.

/// The conventional name of signal `sig` (`"SIGKILL"`), if it has one here.
pub(crate) fn name(sig: i32) -> Option<&'static str> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(not(any(
            target_arch = "mips",
            target_arch = "mips32r6",
            target_arch = "mips64",
            target_arch = "mips64r6",
            target_arch = "sparc",
            target_arch = "sparc64"
        )))]
        if sig == libc::SIGSTKFLT {
            return Some("SIGSTKFLT");
        }
        if sig == libc::SIGPWR {
            return Some("SIGPWR");
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        match sig {
            libc::SIGEMT => return Some("SIGEMT"),
            libc::SIGINFO => return Some("SIGINFO"),
            _ => {}
        }
    }
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_follow_the_platform_numbering() {
        assert_eq!(super::name(libc::SIGKILL), Some("SIGKILL"));
        assert_eq!(super::name(libc::SIGUSR1), Some("SIGUSR1"));
        assert_eq!(super::name(libc::SIGCHLD), Some("SIGCHLD"));
        assert_eq!(super::name(libc::SIGSYS), Some("SIGSYS"));
        assert_eq!(super::name(0), None);
        assert_eq!(super::name(200), None);
    }
}
