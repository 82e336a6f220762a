//! Byte counts written for people: the one format the pool's messages (a
//! memory limit) and the CLI use.

use std::fmt;

/// A byte count that displays as `200 MiB`, `1.5 GiB` or `512 bytes`: in
/// the largest binary unit it reaches, whole or with one decimal.
///
/// ```
/// use conductor::pool::ByteSize;
///
/// assert_eq!(ByteSize(64 << 20).to_string(), "64 MiB");
/// assert_eq!(ByteSize(3 << 29).to_string(), "1.5 GiB");
/// assert_eq!(ByteSize(1536).to_string(), "1.5 KiB");
/// assert_eq!(ByteSize(100).to_string(), "100 bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        for (scale, unit) in [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")] {
            if bytes >= scale {
                let v = bytes as f64 / scale as f64;
                return if v.fract() == 0.0 {
                    write!(f, "{v:.0} {unit}")
                } else {
                    write!(f, "{v:.1} {unit}")
                };
            }
        }
        write!(f, "{bytes} bytes")
    }
}
