//! Fuzz target: arbitrary bytes through `promlite_chunk::XorDecoder` (iterator, seek and bulk
//! paths). Decoding must return samples or an error, never panic; whatever decodes has strictly
//! increasing timestamps, and re-encoding it reproduces the same samples bit for bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promlite_chunk::{XorDecoder, XorEncoder};

fuzz_target!(|data: &[u8]| {
    let Ok(mut dec) = XorDecoder::new(data) else { return };
    let mut samples = Vec::new();
    let complete = dec.decode_into(&mut samples).is_ok();
    for pair in samples.windows(2) {
        assert!(pair[0].0 < pair[1].0, "decoded timestamps do not increase: {pair:?}");
    }
    // The iterator agrees with the bulk path up to the first error.
    let iterated: Vec<(i64, f64)> = XorDecoder::new(data).unwrap().map_while(Result::ok).collect();
    assert_eq!(iterated.len(), samples.len());
    // Seeking to a decoded timestamp finds it.
    if let Some(&(t, _)) = samples.get(samples.len() / 2) {
        let found = XorDecoder::new(data).unwrap().seek(t).ok().flatten();
        assert_eq!(found.map(|s| s.0), Some(t));
    }
    if complete {
        let mut enc = XorEncoder::with_limits(u16::MAX, usize::MAX);
        for &(t, v) in &samples {
            enc.append(t, v).expect("decoded samples re-encode");
        }
        let mut again = Vec::new();
        XorDecoder::new(enc.bytes()).unwrap().decode_into(&mut again).unwrap();
        let bits = |s: &[(i64, f64)]| s.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&again), bits(&samples));
    }
});
