//! Test helper: prints its arguments, one per line, as JSON string literals.
//!
//! Used by `tests/winargs_wine.rs` to see exactly what a child received from
//! a built Windows command line. Output is pure ASCII: `"` and `\` are
//! escaped, and every other code unit outside printable ASCII is written as
//! `\uXXXX` (UTF-16, so unpaired surrogates survive), which keeps it free of
//! console code-page conversions. The first line is argv\[0\].
//!
//! Run it with `cargo run --example print_argv -- a "b c"`.

use std::io::Write;

fn units(arg: &std::ffi::OsStr) -> Vec<u16> {
    #[cfg(windows)]
    {
        use std::os::windows::ffi::OsStrExt;
        arg.encode_wide().collect()
    }
    #[cfg(not(windows))]
    {
        arg.to_string_lossy().encode_utf16().collect()
    }
}

fn json_line(arg: &std::ffi::OsStr) -> String {
    let mut out = String::from("\"");
    for u in units(arg) {
        match u {
            0x22 => out.push_str("\\\""),
            0x5c => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(u as u8)),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out.push('"');
    out
}

fn main() {
    let mut text = String::new();
    for arg in std::env::args_os() {
        text.push_str(&json_line(&arg));
        text.push('\n');
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).expect("write stdout");
    stdout.flush().expect("flush stdout");
}
