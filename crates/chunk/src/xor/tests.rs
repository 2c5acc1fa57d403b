//! Tests of the XOR chunk codec: round trips of every value class, timestamp extremes, limits,
//! seeking, and corrupt input.

use proptest::prelude::*;

use super::*;

fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
    for &(t, v) in samples {
        enc.append(t, v).unwrap();
    }
    enc.finish()
}

fn decode(bytes: &[u8]) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    XorDecoder::new(bytes)
        .unwrap()
        .decode_into(&mut out)
        .unwrap();
    out
}

/// Round-trips `samples` and compares value *bits*.
fn check(samples: &[(i64, f64)]) {
    let bytes = encode(samples);
    let got = decode(&bytes);
    assert_eq!(got.len(), samples.len());
    for (g, w) in got.iter().zip(samples) {
        assert_eq!(g.0, w.0);
        assert_eq!(
            g.1.to_bits(),
            w.1.to_bits(),
            "value {} decoded as {}",
            w.1,
            g.1
        );
    }
    // The iterator path agrees with the bulk path.
    let iterated: Vec<(i64, f64)> = XorDecoder::new(&bytes)
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(iterated.len(), samples.len());
}

const SPECIAL: [u64; 14] = [
    0x7ff0_0000_0000_0002, // staleness marker
    0x7ff8_0000_0000_0001, // Go's NaN
    0x7ff8_0000_0000_0000, // Rust's NaN
    0xfff8_dead_beef_0001, // negative NaN with payload
    0x7ff0_0000_0000_0000, // +Inf
    0xfff0_0000_0000_0000, // -Inf
    0x8000_0000_0000_0000, // -0.0
    0x0000_0000_0000_0000, // +0.0
    0x0000_0000_0000_0001, // smallest subnormal
    0x800f_ffff_ffff_ffff, // largest negative subnormal
    0x7fef_ffff_ffff_ffff, // f64::MAX
    0x3ff0_0000_0000_0000, // 1.0
    0x4340_0000_0000_0001, // 2^53 + 2: even integer beyond exact range
    0x3fd3_3333_3333_3334, // 0.30000000000000004
];

#[test]
fn special_values_round_trip_bit_for_bit() {
    let samples: Vec<(i64, f64)> = SPECIAL
        .iter()
        .enumerate()
        .map(|(i, &b)| (i as i64 * 1000, f64::from_bits(b)))
        .collect();
    check(&samples);
    // Each special value after a run of decimals (forces the escape to float mode) and first.
    for &b in &SPECIAL {
        check(&[
            (0, 1.0),
            (1, 2.0),
            (2, 3.0),
            (3, f64::from_bits(b)),
            (4, 5.0),
        ]);
        check(&[(0, f64::from_bits(b)), (1, 2.0)]);
    }
}

#[test]
fn timestamp_extremes() {
    check(&[(i64::MIN, 1.0)]);
    check(&[(i64::MAX, 1.0)]);
    check(&[(i64::MIN, 1.0), (-1, 2.0)]);
    check(&[(-1, 1.0), (i64::MAX - 1, 2.0), (i64::MAX, 3.0)]);
    check(&[
        (-5_000, 0.5),
        (-4_000, 0.25),
        (0, 0.125),
        (1, 1.0),
        (1_000_000_000_000, 2.0),
    ]);
    // Deltas alternating between tiny and huge exercise every dod bucket.
    let mut t = -(1i64 << 62);
    let mut samples = Vec::new();
    for i in 0..40 {
        samples.push((t, i as f64));
        t += if i % 2 == 0 {
            1
        } else {
            1i64 << (i + 20).min(61)
        };
    }
    check(&samples);
}

#[test]
fn delta_overflow_is_an_error_and_leaves_the_chunk_intact() {
    let mut enc = XorEncoder::new();
    enc.append(i64::MIN, 1.0).unwrap();
    assert_eq!(
        enc.append(1, 2.0),
        Err(AppendError::DeltaOverflow {
            prev: i64::MIN,
            t: 1
        })
    );
    enc.append(-1, 2.0).unwrap();
    assert_eq!(
        enc.append(-1, 2.0),
        Err(AppendError::OutOfOrder { prev: -1, t: -1 })
    );
    assert_eq!(
        enc.append(-3, 2.0),
        Err(AppendError::OutOfOrder { prev: -1, t: -3 })
    );
    assert_eq!(decode(enc.bytes()), vec![(i64::MIN, 1.0), (-1, 2.0)]);
}

#[test]
fn full_at_sample_limit_and_byte_limit() {
    let mut enc = XorEncoder::new();
    for i in 0..120 {
        assert!(!enc.is_full());
        enc.append(i * 15_000, i as f64).unwrap();
    }
    assert!(enc.is_full());
    assert_eq!(enc.append(120 * 15_000, 0.0), Err(AppendError::Full));
    assert_eq!(enc.num_samples(), 120);

    let mut enc = XorEncoder::with_limits(1000, 64);
    let mut n = 0i64;
    while enc
        .append(
            n,
            f64::from_bits(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(n as u64 + 1)),
        )
        .is_ok()
    {
        n += 1;
    }
    assert!(
        enc.bytes().len() >= 64 && enc.bytes().len() < 64 + 23,
        "{} bytes",
        enc.bytes().len()
    );
    assert_eq!(decode(enc.bytes()).len() as i64, n);
}

#[test]
fn every_prefix_of_the_encoder_is_decodable() {
    let mut enc = XorEncoder::new();
    for i in 0..50i64 {
        enc.append(i * 15_000 + (i % 3), (i * i) as f64 / 4.0)
            .unwrap();
        let got = decode(enc.bytes());
        assert_eq!(got.len() as i64, i + 1);
        assert_eq!(
            got.last().copied(),
            Some((i * 15_000 + (i % 3), (i * i) as f64 / 4.0))
        );
    }
}

#[test]
fn regular_counters_take_two_bits_per_sample() {
    let samples: Vec<(i64, f64)> = (0..120)
        .map(|i| (1_700_000_000_000 + i * 15_000, 1000.0 + 7.0 * i as f64))
        .collect();
    let bytes = encode(&samples);
    // Header 3 + t0 6 + first value ~3 + second delta 3 + ~118 * 2 bits.
    assert!(bytes.len() <= 50, "{} bytes", bytes.len());
    check(&samples);
}

#[test]
fn decimal_rescale_mid_chunk() {
    check(&[
        (0, 1.0),
        (1, 2.0),
        (2, 2.5),
        (3, 2.75),
        (4, 2.125),
        (5, 0.001),
        (6, 1e15),
        (7, 3.0),
    ]);
    check(&[
        (0, 123456789.0),
        (1, 1.5),
        (2, 0.1),
        (3, 0.2),
        (4, 0.30000000000000004),
        (5, 7.0),
    ]);
    check(&[(0, 9007199254740992.0), (1, -9007199254740992.0), (2, 0.5)]);
}

#[test]
fn seek_follows_the_cursor_rule() {
    let bytes = encode(&[(10, 1.0), (20, 2.0), (30, 3.0)]);
    let mut dec = XorDecoder::new(&bytes).unwrap();
    assert_eq!(dec.seek(15).unwrap(), Some((20, 2.0)));
    assert_eq!(dec.seek(5).unwrap(), Some((20, 2.0)));
    assert_eq!(dec.seek(20).unwrap(), Some((20, 2.0)));
    assert_eq!(dec.next_sample().unwrap(), Some((30, 3.0)));
    assert_eq!(dec.seek(31).unwrap(), None);
    assert_eq!(dec.next_sample().unwrap(), None);
}

#[test]
fn empty_chunk() {
    let enc = XorEncoder::new();
    assert_eq!(enc.bytes(), &[FORMAT_VERSION, 0, 0]);
    assert!(decode(enc.bytes()).is_empty());
}

#[test]
fn header_errors() {
    assert_eq!(
        XorDecoder::new(&[]).unwrap_err(),
        Error::TooShort { len: 0, needed: 3 }
    );
    assert_eq!(
        XorDecoder::new(&[1, 0]).unwrap_err(),
        Error::TooShort { len: 2, needed: 3 }
    );
    assert_eq!(
        XorDecoder::new(&[7, 0, 0]).unwrap_err(),
        Error::UnsupportedVersion {
            version: 7,
            supported: 1
        }
    );
}

#[test]
fn truncated_chunks_are_errors() {
    let samples: Vec<(i64, f64)> = (0..60)
        .map(|i| (i * 1000 + i * i, (i as f64).sin()))
        .collect();
    let bytes = encode(&samples);
    for len in HEADER_LEN..bytes.len() {
        let result: Result<Vec<_>> = XorDecoder::new(&bytes[..len]).unwrap().collect();
        let err = result.unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "len {len}: {err}");
    }
}

#[test]
fn a_count_larger_than_the_stream_is_an_error() {
    let mut bytes = encode(&[(1, 1.0), (2, 2.0)]);
    bytes[1] = 200;
    let result: Result<Vec<_>> = XorDecoder::new(&bytes).unwrap().collect();
    assert!(matches!(result, Err(Error::Corrupt { .. })));
}

#[test]
fn decoder_stops_after_an_error() {
    let mut dec = XorDecoder::new(&[1, 5, 0, 0xff]).unwrap();
    assert!(dec.next().unwrap().is_err());
    assert!(dec.next().is_none());
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        prop::sample::select(SPECIAL.to_vec()).prop_map(f64::from_bits),
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
        (-1_000_000i64..1_000_000, 0u32..6).prop_map(|(i, k)| i as f64 / 10f64.powi(k as i32)),
        any::<f64>(),
    ]
}

fn increasing_timestamps() -> impl Strategy<Value = Vec<i64>> {
    (
        any::<i64>(),
        prop::collection::vec(
            prop_oneof![
                Just(15_000i64),
                14_990i64..15_010,
                1i64..100,
                1i64..(1 << 40),
                1i64..i64::MAX / 64
            ],
            0..200,
        ),
    )
        .prop_map(|(start, deltas)| {
            let mut out = vec![start / 2];
            for d in deltas {
                let Some(next) = out.last().and_then(|t: &i64| t.checked_add(d)) else {
                    break;
                };
                out.push(next);
            }
            out
        })
}

proptest! {
    #[test]
    fn round_trips_any_samples(ts in increasing_timestamps(), values in prop::collection::vec(any_value(), 201)) {
        let samples: Vec<(i64, f64)> = ts.iter().copied().zip(values.iter().copied()).collect();
        let bytes = encode(&samples);
        let got = decode(&bytes);
        prop_assert_eq!(got.len(), samples.len());
        for (g, w) in got.iter().zip(&samples) {
            prop_assert_eq!(g.0, w.0);
            prop_assert_eq!(g.1.to_bits(), w.1.to_bits());
        }
    }

    #[test]
    fn seek_finds_the_first_sample_at_or_after_target(ts in increasing_timestamps(), target in any::<i64>()) {
        let samples: Vec<(i64, f64)> = ts.iter().map(|&t| (t, 1.0)).collect();
        let bytes = encode(&samples);
        let want = samples.iter().find(|s| s.0 >= target).map(|s| s.0);
        let got = XorDecoder::new(&bytes).unwrap().seek(target).unwrap().map(|s| s.0);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(mut bulk) = XorDecoder::new(&bytes) {
            let mut out = Vec::new();
            if let Err(e) = bulk.decode_into(&mut out) {
                let corrupt = matches!(e, Error::Corrupt { .. });
                prop_assert!(corrupt, "{}", e);
            }
            prop_assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        }
        if let Ok(dec) = XorDecoder::new(&bytes) {
            let mut prev = None;
            for item in dec {
                match item {
                    Ok((t, _)) => {
                        // Whatever decodes is still strictly increasing in time.
                        if let Some(p) = prev { prop_assert!(t > p); }
                        prev = Some(t);
                    }
                    Err(e) => { let corrupt = matches!(e, Error::Corrupt { .. }); prop_assert!(corrupt, "{}", e); }
                }
            }
        }
    }

    #[test]
    fn flipped_bits_never_panic(i in 0usize..400, bit in 0u8..8) {
        let samples: Vec<(i64, f64)> = (0..100).map(|k| (k * 15_000 + (k % 7), (k as f64 * 0.37).sin())).collect();
        let mut bytes = encode(&samples);
        let idx = i % bytes.len();
        bytes[idx] ^= 1 << bit;
        if let Ok(dec) = XorDecoder::new(&bytes) {
            for item in dec { let _ = item; }
        }
    }
}

#[test]
fn float_only_encoder_round_trips_and_skips_decimal_mode() {
    let samples: Vec<(i64, f64)> = (0..50).map(|i| (i * 1000, i as f64)).collect();
    let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX).float_only();
    for &(t, v) in &samples {
        enc.append(t, v).unwrap();
    }
    let bytes = enc.finish();
    assert_eq!(decode(&bytes), samples);
    // The first value's mode bit follows the 6-byte varint of t0 = 0 (1 byte): bit 7 of byte 4.
    assert_eq!(bytes[4] & 0x80, 0, "float mode");
    assert_ne!(encode(&samples)[4] & 0x80, 0, "decimal mode by default");
}
