//! The digest a checkpoint keeps of the bytes it describes, so that a
//! resumed export can tell its own file from an emptied, shortened, edited
//! or different one.
//!
//! 64-bit FNV-1a: a few lines, stable across Rust versions and platforms
//! (a checkpoint written by one build is read by the next), streaming, and
//! about 1 GB/s here. It guards against accidents (another job's rows, a
//! truncated or edited file), not against someone forging a file to match:
//! a file the user controls needs no forgery to be wrong.

use std::io::{self, Read};

/// A running FNV-1a 64 digest.
///
/// ```ignore
/// let mut digest = Digest::default();
/// digest.update(b"a");
/// assert_eq!(digest.hex(), "af63dc4c8601ec8c");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(u64);

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for Digest {
    fn default() -> Self {
        Digest(OFFSET_BASIS)
    }
}

impl Digest {
    /// Adds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut state = self.0;
        for byte in bytes {
            state ^= u64::from(*byte);
            state = state.wrapping_mul(PRIME);
        }
        self.0 = state;
    }

    /// The digest as 16 lowercase hex digits, as the checkpoint stores it.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    /// The digest of the first `length` bytes of `reader`, or `None` when it
    /// holds fewer.
    pub fn of_prefix(reader: &mut impl Read, length: u64) -> io::Result<Option<Digest>> {
        let mut digest = Digest::default();
        let mut left = length;
        let mut buffer = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = usize::try_from(left.min(buffer.len() as u64)).unwrap_or(buffer.len());
            let read = match reader.read(&mut buffer[..want]) {
                Ok(0) => return Ok(None),
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            digest.update(&buffer[..read]);
            left -= read as u64;
        }
        Ok(Some(digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_fnv_1a_64_test_vectors() {
        let hex = |bytes: &[u8]| {
            let mut digest = Digest::default();
            digest.update(bytes);
            digest.hex()
        };
        // From the FNV reference (Fowler, Noll, Vo; draft-eastlake-fnv).
        assert_eq!(hex(b""), "cbf29ce484222325");
        assert_eq!(hex(b"a"), "af63dc4c8601ec8c");
        assert_eq!(hex(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn streaming_equals_one_shot_and_a_short_input_has_no_prefix() {
        let data: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
        let mut whole = Digest::default();
        whole.update(&data[..150_000]);
        let mut parts = Digest::default();
        for chunk in data[..150_000].chunks(777) {
            parts.update(chunk);
        }
        assert_eq!(whole, parts);
        let prefix = Digest::of_prefix(&mut &data[..], 150_000).unwrap();
        assert_eq!(prefix, Some(whole));
        assert_eq!(Digest::of_prefix(&mut &data[..10], 11).unwrap(), None);
        assert_eq!(
            Digest::of_prefix(&mut &data[..], 0).unwrap(),
            Some(Digest::default())
        );
    }

    /// Reads `data`, after one `Interrupted` (as a signal can cause), then
    /// fails with `then` once it is read.
    struct Flaky<'a> {
        data: &'a [u8],
        interrupted: bool,
    }

    impl Read for Flaky<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            if self.data.is_empty() {
                return Err(io::Error::other("the disk went away"));
            }
            self.data.read(buffer)
        }
    }

    #[test]
    fn an_interrupted_read_is_retried_and_another_error_is_returned() {
        let mut whole = Digest::default();
        whole.update(b"abc");
        let mut flaky = Flaky {
            data: b"abc",
            interrupted: false,
        };
        assert_eq!(Digest::of_prefix(&mut flaky, 3).unwrap(), Some(whole));
        let mut failing = Flaky {
            data: b"",
            interrupted: true,
        };
        assert!(Digest::of_prefix(&mut failing, 3).is_err());
    }
}
