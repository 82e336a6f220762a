//! A minimal pool worker in Rust: upper-cases each task body.
//!
//! Speaks the frame protocol of `docs/protocol.md` on stdin/stdout. Try it
//! without a pool by piping in a task and a shutdown frame:
//!
//! ```sh
//! printf '\0\0\0\x0b\x01\0\0\0\0\0\0\0\0\0\0\x01abc\0\0\0\0\x06\0\0\0' \
//!     | cargo run -q --example upper_worker | xxd
//! ```

use std::convert::Infallible;

fn main() -> std::io::Result<()> {
    conductor::worker::serve(|body: &[u8]| Ok::<_, Infallible>(body.to_ascii_uppercase()))
}
