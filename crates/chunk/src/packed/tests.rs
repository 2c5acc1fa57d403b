//! Tests of the packed (version 2) chunk codec: round trips of every value and timestamp class,
//! layout choices and sizes, range decoding, the shared entry point with version 1 chunks, and
//! corrupt input.

use proptest::prelude::*;

use super::*;
use crate::{decode_range_into, num_samples, XorEncoder};
use section::put_varint;

fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    encode_packed(samples).unwrap()
}

fn decode(bytes: &[u8]) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    decode_range_into(bytes, i64::MIN, i64::MAX, &mut out).unwrap();
    out
}

fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// Round-trips `samples`, compares value bits, and returns the chunk.
fn check(samples: &[(i64, f64)]) -> Vec<u8> {
    let bytes = encode(samples);
    assert_eq!(bytes[0], PACKED_FORMAT_VERSION);
    assert_eq!(usize::from(num_samples(&bytes).unwrap()), samples.len());
    assert_eq!(bits(&decode(&bytes)), bits(samples));
    bytes
}

fn value_mode(bytes: &[u8]) -> u8 {
    let p = parse(bytes).unwrap();
    match p.values {
        Values::Decimal { .. } => VALUES_DECIMAL,
        Values::Float { .. } => VALUES_FLOAT,
    }
}

fn is_regular(bytes: &[u8]) -> bool {
    matches!(parse(bytes).unwrap().times, Times::Regular { .. })
}

fn regular(values: &[f64]) -> Vec<(i64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (1_700_000_000_000 + i as i64 * 15_000, v))
        .collect()
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
fn special_values_fall_back_to_floats() {
    let all: Vec<f64> = SPECIAL.iter().map(|&b| f64::from_bits(b)).collect();
    let bytes = check(&regular(&all));
    assert_eq!(value_mode(&bytes), VALUES_FLOAT);
    for &b in &SPECIAL {
        let bytes = check(&regular(&[1.0, 2.0, f64::from_bits(b), 4.0]));
        let decimal = as_decimal(f64::from_bits(b), 0).is_some();
        assert_eq!(value_mode(&bytes) == VALUES_DECIMAL, decimal, "{b:#x}");
        check(&regular(&[f64::from_bits(b)]));
    }
}

#[test]
fn single_sample_chunks() {
    for t in [i64::MIN, -1, 0, 1, i64::MAX] {
        check(&[(t, 1.5)]);
        check(&[(t, f64::from_bits(0x7ff0_0000_0000_0002))]);
    }
}

#[test]
fn timestamp_extremes_and_irregular_gaps() {
    check(&[(i64::MIN, 1.0), (i64::MAX, 2.0)]);
    check(&[(i64::MIN, 1.0), (0, 2.0), (i64::MAX, 3.0)]);
    check(&[(i64::MIN, 1.0), (i64::MIN + 1, 2.0), (i64::MAX, 3.0)]);
    check(&[(-1, 1.0), (i64::MAX - 1, 2.0), (i64::MAX, 3.0)]);
    let bytes = check(&[(i64::MAX - 2, 1.0), (i64::MAX - 1, 2.0), (i64::MAX, 3.0)]);
    assert!(is_regular(&bytes));
    // Deltas alternating between tiny and huge: full-width packed deltas.
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
    let bytes = check(&samples);
    assert!(!is_regular(&bytes));
}

#[test]
fn regular_timestamps_cost_nothing_per_sample() {
    let constant = check(&regular(&[1.0; 480]));
    assert!(is_regular(&constant));
    // Header 3 + t0 6 + mode 1 + delta 3 + value mode 1 + decimal header 1 + section 4.
    assert!(constant.len() <= 20, "{} bytes", constant.len());
    let linear: Vec<f64> = (0..480).map(|i| 1000.0 + 7.0 * i as f64).collect();
    let bytes = check(&regular(&linear));
    assert!(bytes.len() <= 24, "{} bytes", bytes.len());
}

#[test]
fn a_missed_scrape_is_an_exception() {
    let mut samples = regular(&[1.0; 480]);
    // Drop one sample: one delta of 30 s among 15 s deltas.
    samples.remove(100);
    let bytes = check(&samples);
    assert!(!is_regular(&bytes));
    assert!(bytes.len() <= 30, "{} bytes", bytes.len());
    // Jittered scrapes: small packed deltas.
    let jittered: Vec<(i64, f64)> = (0..480)
        .map(|i| (i * 15_000 + (i * 7919) % 13, 1.0))
        .collect();
    let bytes = check(&jittered);
    assert!(bytes.len() <= 20 + 479 * 4 / 8 + 8, "{} bytes", bytes.len());
}

/// cAdvisor CPU counter: integer nanoseconds printed as seconds (9 decimals), with a reset.
fn cpu_counter() -> Vec<(i64, f64)> {
    let mut ns: i64 = 123_456_789_012_345;
    let values: Vec<f64> = (0..480i64)
        .map(|i| {
            if i == 300 {
                ns = 1_234_567; // container restart
            }
            ns += 250_000_000 + (i * 7919 % 1000) * 1_000;
            ns as f64 / 1e9
        })
        .collect();
    regular(&values)
}

#[test]
fn cpu_counter_with_a_reset() {
    let samples = cpu_counter();
    let bytes = check(&samples);
    assert_eq!(value_mode(&bytes), VALUES_DECIMAL);
    // Order-1 residuals are 250 ms plus up to 999 steps of 1000 ns: their common trailing
    // zeros are 3 (1000 = 2^3 * 125), leaving at most 17 bits each; the reset is an exception.
    assert!(bytes.len() <= 40 + 479 * 17 / 8, "{} bytes", bytes.len());
    let mut xor = XorEncoder::with_limits(u16::MAX, usize::MAX);
    for &(t, v) in &samples {
        xor.append(t, v).unwrap();
    }
    assert!(
        bytes.len() * 10 < xor.bytes().len() * 6,
        "{} vs XOR {}",
        bytes.len(),
        xor.bytes().len()
    );
}

#[test]
fn memory_gauge_in_pages() {
    let mut v: i64 = 200_000_000 / 4096 * 4096;
    let values: Vec<f64> = (0..480i64)
        .map(|i| {
            v += ((i * 7919) % 200 - 100) * 4096;
            v as f64
        })
        .collect();
    let bytes = check(&regular(&values));
    assert_eq!(value_mode(&bytes), VALUES_DECIMAL);
    // 200 distinct page moves: 8 bits per sample after the 12-bit shift.
    assert!(bytes.len() <= 480 + 30, "{} bytes", bytes.len());
}

#[test]
fn decimal_gauges_and_scales() {
    let gauge: Vec<f64> = (0..300)
        .map(|i| ((i * 37 % 1000) as f64 - 500.0) / 100.0)
        .collect();
    let bytes = check(&regular(&gauge));
    assert_eq!(value_mode(&bytes), VALUES_DECIMAL);
    // Mixed scales: 1, 0.5, 0.25, 0.125, 0.001 and large integers share scale 3.
    check(&regular(&[1.0, 0.5, 0.25, 0.125, 0.001, 1e12, -3.0]));
    // Extremes of the exact range.
    let bytes = check(&regular(&[
        9007199254740992.0,
        -9007199254740992.0,
        9007199254740992.0,
        0.0,
    ]));
    assert_eq!(value_mode(&bytes), VALUES_DECIMAL);
    check(&regular(&[0.1, 0.2, 0.30000000000000004]));
    check(&regular(&[123456789.0, 1.5, 0.1, 1e-15, 7.0]));
}

#[test]
fn every_order_round_trips() {
    // Quadratic growth favours order 2, a random walk order 1, noise around a level order 0.
    let quadratic: Vec<f64> = (0..200).map(|i| (i * i) as f64).collect();
    let walk: Vec<f64> = (0..200).map(|i| ((i * 7919) % 101) as f64).collect();
    for values in [quadratic, walk, vec![3.0, 1.0], vec![3.0, 1.0, 7.0]] {
        let bytes = check(&regular(&values));
        if let Values::Decimal { order, .. } = parse(&bytes).unwrap().values {
            assert!(order <= MAX_ORDER);
        }
    }
}

#[test]
fn encoder_rejects_bad_input() {
    assert_eq!(encode_packed(&[]), Err(EncodeError::Empty));
    assert_eq!(
        encode_packed(&[(5, 1.0), (5, 2.0)]),
        Err(EncodeError::OutOfOrder {
            index: 1,
            prev: 5,
            t: 5
        })
    );
    assert_eq!(
        encode_packed(&[(1, 1.0), (9, 1.0), (3, 2.0)]),
        Err(EncodeError::OutOfOrder {
            index: 2,
            prev: 9,
            t: 3
        })
    );
    let too_many: Vec<(i64, f64)> = (0..65_536).map(|i| (i, 0.0)).collect();
    assert_eq!(
        encode_packed(&too_many),
        Err(EncodeError::TooMany { n: 65_536 })
    );
    let most = check(&too_many[..65_535]);
    assert!(most.len() < 32, "{} bytes", most.len());
}

#[test]
fn range_decoding_skips_and_stops() {
    let samples = cpu_counter();
    let bytes = check(&samples);
    let t = |i: usize| samples[i].0;
    let range = |mint, maxt| {
        let mut out = Vec::new();
        decode_range_into(&bytes, mint, maxt, &mut out).unwrap();
        out
    };
    assert_eq!(bits(&range(t(10), t(20))), bits(&samples[10..=20]));
    assert_eq!(bits(&range(t(10) + 1, t(20) - 1)), bits(&samples[11..20]));
    assert_eq!(bits(&range(t(299), t(479))), bits(&samples[299..]));
    assert!(range(t(20), t(10)).is_empty());
    assert!(range(i64::MIN, t(0) - 1).is_empty());
    assert!(range(t(479) + 1, i64::MAX).is_empty());
    assert_eq!(range(i64::MIN, i64::MAX).len(), 480);
}

#[test]
fn version_1_chunks_go_through_the_same_entry_point() {
    let samples = cpu_counter();
    let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
    for &(t, v) in &samples {
        enc.append(t, v).unwrap();
    }
    assert_eq!(num_samples(enc.bytes()).unwrap(), 480);
    assert_eq!(bits(&decode(enc.bytes())), bits(&samples));
    let mut out = Vec::new();
    decode_range_into(enc.bytes(), samples[5].0, samples[9].0, &mut out).unwrap();
    assert_eq!(bits(&out), bits(&samples[5..=9]));
    // The empty head chunk.
    assert!(decode(XorEncoder::new().bytes()).is_empty());
}

#[test]
fn header_errors() {
    let mut out = Vec::new();
    assert_eq!(
        decode_range_into(&[], 0, 1, &mut out),
        Err(Error::TooShort { len: 0, needed: 3 })
    );
    assert_eq!(
        decode_range_into(&[2, 1], 0, 1, &mut out),
        Err(Error::TooShort { len: 2, needed: 3 })
    );
    assert_eq!(
        decode_range_into(&[9, 1, 0], 0, 1, &mut out),
        Err(Error::UnsupportedVersion {
            version: 9,
            supported: 2
        })
    );
    assert!(matches!(
        decode_range_into(&[2, 0, 0], 0, 1, &mut out),
        Err(Error::Corrupt { offset: 1, .. })
    ));
    assert!(out.is_empty());
}

#[test]
fn every_truncation_is_an_error() {
    let mut jittered = cpu_counter();
    jittered[7].0 += 3;
    let mut floats = regular(&[0.1; 50]);
    floats[3].1 = f64::from_bits(0x7ff0_0000_0000_0002);
    floats[4].1 = 1.0 / 3.0;
    for samples in [cpu_counter(), jittered, floats] {
        let bytes = check(&samples);
        for len in 0..bytes.len() {
            let mut out = Vec::new();
            let result = decode_range_into(&bytes[..len], i64::MIN, i64::MAX, &mut out);
            assert!(result.is_err(), "len {len} of {}", bytes.len());
        }
    }
}

#[test]
fn regression_exception_at_the_end() {
    // Counter reset in the last sample: the exception is the last residual.
    let mut values: Vec<f64> = (0..100).map(|i| (i * 10) as f64).collect();
    values.push(3.0);
    check(&regular(&values));
    // And in the first residual.
    let mut values: Vec<f64> = vec![1e12];
    values.extend((0..100).map(|i| (i * 10) as f64));
    check(&regular(&values));
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

/// Decimal-friendly series: counters with resets, gauges, constants, page multiples.
fn decimal_series() -> impl Strategy<Value = Vec<f64>> {
    let counter = (
        0u32..10,
        prop::collection::vec((0i64..1_000_000, prop::bool::weighted(0.02)), 1..500),
    )
        .prop_map(|(scale, steps)| {
            let mut acc = 0i64;
            steps
                .into_iter()
                .map(|(step, reset)| {
                    acc = if reset { step } else { acc + step };
                    acc as f64 / 10f64.powi(scale as i32)
                })
                .collect()
        });
    let pages = prop::collection::vec(-300i64..300, 1..500).prop_map(|moves| {
        let mut acc = 1i64 << 30;
        moves
            .into_iter()
            .map(|m| {
                acc += m * 4096;
                acc as f64
            })
            .collect()
    });
    let gauge = prop::collection::vec(-10_000i64..10_000, 1..500)
        .prop_map(|xs| xs.into_iter().map(|x| x as f64 / 100.0).collect());
    let constant = (any::<i32>(), 1usize..500).prop_map(|(c, n)| vec![f64::from(c); n]);
    prop_oneof![counter, pages, gauge, constant]
}

fn increasing_timestamps() -> impl Strategy<Value = Vec<i64>> {
    (
        any::<i64>(),
        prop_oneof![
            Just(15_000i64),
            1i64..100,
            1i64..(1 << 40),
            1i64..i64::MAX / 64,
            Just(i64::MAX)
        ],
        prop::collection::vec(
            prop_oneof![
                4 => Just(None),
                1 => (14_990i64..15_010).prop_map(Some),
                1 => (1i64..(1 << 40)).prop_map(Some),
                1 => (1i64..i64::MAX).prop_map(Some),
            ],
            0..300,
        ),
    )
        .prop_map(|(start, usual, deltas)| {
            let mut out = vec![start];
            for d in deltas {
                let Some(next) = out
                    .last()
                    .and_then(|t: &i64| t.checked_add(d.unwrap_or(usual)))
                else {
                    break;
                };
                out.push(next);
            }
            out
        })
}

fn check_range(
    bytes: &[u8],
    samples: &[(i64, f64)],
    mint: i64,
    maxt: i64,
) -> Result<(), TestCaseError> {
    let mut got = Vec::new();
    decode_range_into(bytes, mint, maxt, &mut got).unwrap();
    let want: Vec<(i64, f64)> = samples
        .iter()
        .copied()
        .filter(|s| s.0 >= mint && s.0 <= maxt)
        .collect();
    prop_assert_eq!(bits(&got), bits(&want));
    Ok(())
}

proptest! {
    #[test]
    fn round_trips_any_samples(ts in increasing_timestamps(), values in prop::collection::vec(any_value(), 301)) {
        let samples: Vec<(i64, f64)> = ts.iter().copied().zip(values).collect();
        let bytes = encode(&samples);
        prop_assert_eq!(bits(&decode(&bytes)), bits(&samples));
    }

    #[test]
    fn round_trips_decimal_series(
        start in any::<i32>(),
        step in prop_oneof![Just(15_000i64), Just(30_000i64), 1i64..100_000],
        values in decimal_series(),
    ) {
        let samples: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i64::from(start) + i as i64 * step, v))
            .collect();
        let bytes = encode(&samples);
        // A very short chunk may be smaller as raw floats (no section header).
        if samples.len() >= 16 {
            prop_assert_eq!(value_mode(&bytes), VALUES_DECIMAL);
        }
        prop_assert!(is_regular(&bytes) || samples.len() == 1);
        prop_assert_eq!(bits(&decode(&bytes)), bits(&samples));
    }

    #[test]
    fn decode_range_is_a_filter_of_the_full_decode(
        ts in increasing_timestamps(),
        values in decimal_series(),
        a in any::<u16>(),
        b in any::<u16>(),
        off in -2i64..=2,
    ) {
        let samples: Vec<(i64, f64)> = ts.iter().copied().zip(values).collect();
        prop_assume!(!samples.is_empty());
        let bytes = encode(&samples);
        let pick = |k: u16| samples[usize::from(k) % samples.len()].0;
        let (lo, hi) = (pick(a).saturating_add(off), pick(b).saturating_sub(off));
        check_range(&bytes, &samples, lo, hi)?;
        check_range(&bytes, &samples, lo.min(hi), lo.max(hi))?;
        check_range(&bytes, &samples, i64::MIN, hi)?;
        check_range(&bytes, &samples, lo, i64::MAX)?;
    }

    #[test]
    fn v1_and_v2_agree_through_decode_range(ts in increasing_timestamps(), values in decimal_series(), mint in any::<i64>()) {
        let samples: Vec<(i64, f64)> = ts.iter().copied().zip(values).collect();
        prop_assume!(!samples.is_empty());
        let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
        let mut appended = Vec::new();
        for &(t, v) in &samples {
            if enc.append(t, v).is_err() {
                break; // a delta over i64::MAX ends a v1 chunk
            }
            appended.push((t, v));
        }
        let v2 = encode(&appended);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        decode_range_into(enc.bytes(), mint, i64::MAX, &mut a).unwrap();
        decode_range_into(&v2, mint, i64::MAX, &mut b).unwrap();
        prop_assert_eq!(bits(&a), bits(&b));
    }

    #[test]
    fn flipped_bytes_never_panic(
        values in decimal_series(),
        jitter in any::<bool>(),
        flips in prop::collection::vec((any::<u16>(), any::<u8>()), 1..4),
        mint in any::<i64>(),
    ) {
        let samples: Vec<(i64, f64)> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as i64 * 15_000 + if jitter { (i as i64 * 31) % 7 } else { 0 }, v))
            .collect();
        let mut bytes = encode(&samples);
        for (pos, xor) in flips {
            let idx = usize::from(pos) % bytes.len();
            bytes[idx] ^= xor.max(1);
        }
        let mut out = Vec::new();
        match decode_range_into(&bytes, mint, i64::MAX, &mut out) {
            Ok(()) => {
                prop_assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
                prop_assert!(out.iter().all(|s| s.0 >= mint));
                prop_assert!(out.len() <= usize::from(num_samples(&bytes).unwrap()));
            }
            Err(e) => {
                let typed = matches!(e, Error::Corrupt { .. } | Error::UnsupportedVersion { .. } | Error::TooShort { .. });
                prop_assert!(typed, "{}", e);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..80), n in 0u16..300, version in 1u8..=2) {
        let mut bytes = vec![version];
        bytes.extend_from_slice(&n.to_le_bytes());
        bytes.extend_from_slice(&tail);
        let mut out = Vec::new();
        if decode_range_into(&bytes, i64::MIN, i64::MAX, &mut out).is_ok() {
            prop_assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
            prop_assert_eq!(out.len(), usize::from(n));
        }
    }
}

/// Decodes a chunk built by hand from `docs/format/chunk.md`, independent of the encoder.
fn decode_hand_built(bytes: &[u8]) -> Result<Vec<(i64, f64)>> {
    let mut out = Vec::new();
    decode_range_into(bytes, i64::MIN, i64::MAX, &mut out).map(|()| out)
}

#[test]
fn hand_built_chunks_match_the_documented_layout() {
    // n = 3, t0 = 10 (zigzag 20), regular delta 5; decimal, order 1, scale 1, i0 = 15
    // (zigzag 30); section: base 5 (zigzag 10), shift 0, width 0, no exceptions.
    let regular = [2, 3, 0, 20, 0, 5, 0, 0x11, 30, 10, 0, 0, 0];
    assert_eq!(
        decode_hand_built(&regular).unwrap(),
        vec![(10, 1.5), (15, 2.0), (20, 2.5)]
    );
    // n = 4, t0 = 0; packed deltas: base 10, shift 0, width 1, one exception at index 1 (gap 1)
    // with delta 100, fields [1, 0] in one byte (LSB first); float values: 1.0 then three
    // '0' codes (same value).
    let packed = [
        2, 4, 0, 0, 1, 10, 0, 1, 1, 1, 100, 0b01, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0,
    ];
    assert_eq!(
        decode_hand_built(&packed).unwrap(),
        vec![(0, 1.0), (11, 1.0), (111, 1.0), (121, 1.0)]
    );
    // Order 2 with shifted fields: n = 4, i0 = 0, d1 = 4096 (zigzag 8192 = 0x80 0x40);
    // residuals base -4096 (zigzag 8191 = 0xff 0x3f), shift 12, width 2, fields [1, 2].
    let order2 = [
        2, 4, 0, 0, 0, 1, 0, 0x20, 0, 0x80, 0x40, 0xff, 0x3f, 12, 2, 0, 0b1001,
    ];
    // d: 4096, then 4096 + (-4096 + 4096) = 4096, then 4096 + (-4096 + 8192) = 8192.
    assert_eq!(
        decode_hand_built(&order2).unwrap(),
        vec![(0, 0.0), (1, 4096.0), (2, 8192.0), (3, 16384.0)]
    );
}

#[test]
fn hand_built_corruptions_are_typed_errors() {
    let regular: [u8; 13] = [2, 3, 0, 20, 0, 5, 0, 0x11, 30, 10, 0, 0, 0];
    let corrupt_at = |bytes: &[u8]| match decode_hand_built(bytes) {
        Err(Error::Corrupt { offset, .. }) => offset,
        other => panic!("expected corruption, got {other:?}"),
    };
    let with = |idx: usize, byte: u8| {
        let mut b = regular.to_vec();
        b[idx] = byte;
        b
    };
    assert_eq!(corrupt_at(&with(4, 7)), 5, "unknown timestamp mode");
    assert_eq!(corrupt_at(&with(5, 0)), 6, "regular delta 0");
    assert_eq!(corrupt_at(&with(6, 9)), 7, "unknown value mode");
    assert_eq!(corrupt_at(&with(7, 0x31)), 8, "order 3");
    assert_eq!(corrupt_at(&with(10, 64)), 11, "shift 64");
    assert_eq!(corrupt_at(&with(11, 65)), 12, "width 65");
    assert_eq!(corrupt_at(&with(11, 8)), 13, "width 8 without packed bytes");
    assert_eq!(
        corrupt_at(&with(12, 3)),
        13,
        "three exceptions of two residuals"
    );
    let mut trailing = regular.to_vec();
    trailing.push(0);
    assert_eq!(corrupt_at(&trailing), 13, "trailing byte");
    // Exception index 2 of two residuals.
    let mut exc = regular[..12].to_vec();
    exc.extend_from_slice(&[1, 2, 0]);
    assert!(matches!(
        decode_hand_built(&exc),
        Err(Error::Corrupt {
            detail: "exception index out of range",
            ..
        })
    ));
    // The last regular timestamp would overflow.
    let mut overflow = vec![2, 3, 0];
    put_varint(&mut overflow, i64::MAX - 9);
    overflow.extend_from_slice(&[0, 5, 0, 0x11, 30, 10, 0, 0, 0]);
    assert!(matches!(
        decode_hand_built(&overflow),
        Err(Error::Corrupt { .. })
    ));
    // Packed deltas that overflow i64 are caught while decoding.
    let mut packed_overflow = vec![2, 2, 0];
    put_varint(&mut packed_overflow, i64::MAX);
    packed_overflow.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0x00, 0, 0, 0, 0]);
    assert!(matches!(
        decode_hand_built(&packed_overflow),
        Err(Error::Corrupt { .. })
    ));
}

proptest! {
    #[test]
    fn batches_are_consecutive_and_bounded(ts in increasing_timestamps(), values in decimal_series(), v1 in any::<bool>()) {
        let samples: Vec<(i64, f64)> = ts.iter().copied().zip(values).collect();
        prop_assume!(!samples.is_empty());
        let bytes = if v1 {
            let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
            for &(t, v) in &samples {
                if enc.append(t, v).is_err() {
                    break;
                }
            }
            enc.finish()
        } else {
            encode(&samples)
        };
        let mut batched = Vec::new();
        crate::decode_batches(&bytes, i64::MIN, i64::MAX, |ts, vs| {
            assert_eq!(ts.len(), vs.len());
            assert!(!ts.is_empty() && ts.len() <= 128);
            batched.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)));
        })
        .unwrap();
        prop_assert_eq!(bits(&batched), bits(&samples[..batched.len()]));
        prop_assert_eq!(batched.len(), usize::from(num_samples(&bytes).unwrap()));
    }
}
