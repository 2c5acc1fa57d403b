//! Fuzz target: chunks of both format versions through the dispatching decoder
//! `promlite_chunk::decode_batches` / `decode_range` (what storage calls), plus `XorDecoder`.
//!
//! Input byte 0 chooses the mode. 1 or 2: the input *is* a chunk (v1 XOR or v2 packed).
//! Anything else: the rest is turned into samples, packed with `encode_packed`, round-tripped,
//! then corrupted (a byte xor chosen by the input) and decoded again, so that near-valid packed
//! chunks reach deep into the decoder. Decoding must return samples or an error, never panic;
//! whatever decodes has strictly increasing timestamps, range decoding is a filter of the full
//! decode, and a complete decode re-encodes to the same samples bit for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite_chunk::{decode_batches, decode_range, encode_packed, XorDecoder, XorEncoder};

fn bits(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// Decodes `chunk` fully through every entry point and checks they agree. Returns the samples
/// and whether the decode completed without error.
fn check_chunk(chunk: &[u8]) -> (Vec<(i64, f64)>, bool) {
    let mut batched = Vec::new();
    let complete = decode_batches(chunk, i64::MIN, i64::MAX, |ts, vs| {
        assert_eq!(ts.len(), vs.len());
        assert!(!ts.is_empty() && ts.len() <= 128, "batch of {}", ts.len());
        batched.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)));
    })
    .is_ok();
    for pair in batched.windows(2) {
        assert!(
            pair[0].0 < pair[1].0,
            "decoded timestamps do not increase: {pair:?}"
        );
    }
    let mut single = Vec::new();
    let single_ok = decode_range(chunk, i64::MIN, i64::MAX, |t, v| single.push((t, v))).is_ok();
    assert_eq!(single_ok, complete);
    assert_eq!(bits(&single), bits(&batched));
    if complete {
        assert_eq!(
            batched.len(),
            usize::from(promlite_chunk::num_samples(chunk).unwrap())
        );
        // Range decoding is a filter of the full decode.
        if !batched.is_empty() {
            let lo = batched[batched.len() / 3].0;
            let hi = batched[batched.len() * 2 / 3].0;
            for (mint, maxt) in [
                (lo, hi),
                (lo.saturating_add(1), hi),
                (i64::MIN, lo),
                (hi, i64::MAX),
                (hi, lo),
            ] {
                let mut got = Vec::new();
                decode_range(chunk, mint, maxt, |t, v| got.push((t, v))).unwrap();
                let want: Vec<(i64, f64)> = batched
                    .iter()
                    .copied()
                    .filter(|s| s.0 >= mint && s.0 <= maxt)
                    .collect();
                assert_eq!(bits(&got), bits(&want), "range [{mint}, {maxt}]");
            }
        }
    }
    // Version 1: the iterator and seek paths of `XorDecoder` agree with the dispatcher.
    if chunk.first() == Some(&1) {
        if let Ok(dec) = XorDecoder::new(chunk) {
            let iterated: Vec<(i64, f64)> = dec.map_while(Result::ok).collect();
            if complete {
                assert_eq!(bits(&iterated), bits(&batched));
            } else {
                // On error, the last partial batch may not have been delivered.
                assert!(bits(&iterated).starts_with(&bits(&batched)));
            }
            if let Some(&(t, _)) = batched.get(batched.len() / 2) {
                let found = XorDecoder::new(chunk).unwrap().seek(t).ok().flatten();
                assert_eq!(found.map(|s| s.0), Some(t));
            }
        }
    }
    (batched, complete)
}

/// Re-encodes decoded samples both ways and checks they come back bit for bit.
fn check_reencode(samples: &[(i64, f64)]) {
    // A few header bytes can announce 65 535 regular samples; re-encoding those on every input
    // would slow the fuzzer down a hundredfold for no new coverage.
    if samples.is_empty() || samples.len() > 2_000 {
        return;
    }
    let packed = encode_packed(samples).expect("decoded samples are increasing");
    let mut again = Vec::new();
    decode_range(&packed, i64::MIN, i64::MAX, |t, v| again.push((t, v))).unwrap();
    assert_eq!(bits(&again), bits(samples));
    let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
    if samples.iter().all(|&(t, v)| enc.append(t, v).is_ok()) {
        let mut back = Vec::new();
        decode_range(enc.bytes(), i64::MIN, i64::MAX, |t, v| back.push((t, v))).unwrap();
        assert_eq!(bits(&back), bits(samples));
    }
}

fuzz_target!(|data: &[u8]| {
    match data.first() {
        None => {}
        Some(1 | 2) => {
            let (samples, complete) = check_chunk(data);
            if complete {
                check_reencode(&samples);
            }
        }
        Some(&mode) => {
            // Samples from 9-byte records: a delta byte class and 8 value bytes.
            let body = &data[1..];
            let mut samples = Vec::new();
            let mut t: i64 = i64::from(mode).wrapping_mul(1_000_003) - 500_000;
            for rec in body.chunks_exact(9) {
                let raw = u64::from_le_bytes(rec[1..9].try_into().unwrap());
                // Mostly decimal-friendly values so the decimal layout is exercised.
                let v = match rec[0] % 4 {
                    0 => f64::from_bits(raw),
                    1 => (raw as i32) as f64 / 1e9,
                    2 => ((raw as u16) as f64) * 4096.0,
                    _ => (raw % 1000) as f64,
                };
                let step: i64 = match rec[0] >> 5 {
                    0 => 15_000,
                    1 => 15_000 + i64::from(rec[0] & 7),
                    2 => 1,
                    3 => 1 << 40,
                    _ => 15_000,
                };
                samples.push((t, v));
                let Some(next) = t.checked_add(step) else {
                    break;
                };
                t = next;
            }
            if samples.is_empty() {
                return;
            }
            let packed = encode_packed(&samples).unwrap();
            let (back, complete) = check_chunk(&packed);
            assert!(complete);
            assert_eq!(bits(&back), bits(&samples));
            // Corrupt one byte, chosen by the input's tail, and decode again.
            if let [.., pos, xor] = data {
                let mut bad = packed.clone();
                let idx = usize::from(*pos) % bad.len();
                bad[idx] ^= (*xor).max(1);
                let (decoded, complete) = check_chunk(&bad);
                if complete {
                    check_reencode(&decoded);
                }
            }
        }
    }
});
