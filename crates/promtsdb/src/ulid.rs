//! ULIDs for block names: 48 bits of Unix milliseconds and 80 random bits in Crockford base32,
//! 26 characters, so that names sort by creation time as Prometheus's do.

use std::hash::{BuildHasher, Hasher};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The 26-character ULID of `ms` and `random` (only its low 80 bits are used).
pub fn encode_ulid(ms: u64, random: u128) -> String {
    let value: u128 = (u128::from(ms & 0xffff_ffff_ffff) << 80) | (random & ((1u128 << 80) - 1));
    // 26 characters of 5 bits hold 130 bits; the top character carries only 3.
    (0..26)
        .map(|i| {
            let shift = 5 * (25 - i);
            char::from(
                ALPHABET
                    .get(((value >> shift) & 0x1f) as usize)
                    .copied()
                    .unwrap_or(b'0'),
            )
        })
        .collect()
}

/// The timestamp (ms) of a ULID, `None` if the text is not a ULID.
pub fn decode_ulid_time(ulid: &str) -> Option<u64> {
    if ulid.len() != 26 {
        return None;
    }
    let mut value: u128 = 0;
    for b in ulid.bytes() {
        let digit = ALPHABET.iter().position(|a| *a == b.to_ascii_uppercase())?;
        value = (value << 5) | digit as u128;
    }
    Some((value >> 80) as u64)
}

/// A new ULID for now, with randomness from the standard library's per-process random keys.
pub fn new_ulid() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    a.write_u64(ms);
    let mut b = state.build_hasher();
    b.write_u64(!ms);
    b.write_u64(a.finish());
    let random = (u128::from(a.finish()) << 64) | u128::from(b.finish());
    encode_ulid(ms, random)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulids_decode_to_their_time() {
        // The block promtool wrote in testdata (ULID from its meta.json) was created in 2026.
        let t = decode_ulid_time("01M8TV682G1F4MG2H3VM78AER9").unwrap();
        assert_eq!(encode_ulid(t, 0).get(..10), Some("01M8TV682G"));
        let now = new_ulid();
        assert_eq!(now.len(), 26);
        let a = new_ulid();
        let b = new_ulid();
        assert_ne!(a, b);
        assert!(decode_ulid_time(&a).is_some());
        assert_eq!(decode_ulid_time("not-a-ulid"), None);
    }
}
