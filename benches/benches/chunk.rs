//! Chunk codec benchmark: encode and decode throughput (samples/s) and bytes per sample of
//! promlite-chunk on seeded, realistic series: integer counters, decimal float counters (as
//! parsed from the text format), gauges, constants, and random bit patterns (worst case).
//!
//! Run: `cargo bench -p promlite-benches --bench chunk`. Bytes per sample of each data set are
//! printed to stderr before the measurements (chunk bytes / samples): 120-sample XOR chunks (the
//! head's default); 480-sample XOR chunks in the smaller of the two value modes (format version
//! 1 as blocks held it before version 2); 480-sample packed chunks (version 2); and the smallest
//! of the three, what block compaction writes. Next to them, what Prometheus's XOR encoding would
//! take for the same samples (computed from its layout).
//!
//! `encode/*` encodes head chunks (120, XOR); `encode_block_packed/*` packs 480-sample chunks.
//! Decode benches: `decode/*` decodes head chunks (120, XOR) with `XorDecoder`;
//! `decode_block_xor/*` and `decode_block_packed/*` decode 480-sample block chunks of each
//! format through the one entry point readers use, `promlite_chunk::decode_batches` (what the
//! querier calls; `decode_range` is its per-sample form);
//! `decode_range_packed/*` decodes a quarter of each packed chunk's time range.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promlite_chunk::{decode_batches, decode_range, encode_packed, XorDecoder, XorEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Samples per data set (split into series of `SERIES_LEN` samples).
const N_SAMPLES: usize = 120_000;
/// One series is a day of 15 s scrapes.
const SERIES_LEN: usize = 5760;
const START: i64 = 1_700_000_000_000;
const STEP: i64 = 15_000;

/// Parses a decimal string, as the exposition parser would.
fn decimal(v: f64, digits: usize) -> f64 {
    format!("{v:.digits$}").parse().unwrap_or(v)
}

fn series(kind: &str, rng: &mut ChaCha8Rng) -> Vec<(i64, f64)> {
    let mut out = Vec::with_capacity(SERIES_LEN);
    let mut value: f64 = match kind {
        "gauge_bytes" => 2.0e8,
        "gauge_decimal" => 50.0,
        _ => 0.0,
    };
    for i in 0..SERIES_LEN {
        let t = START + i as i64 * STEP;
        let v = match kind {
            // Requests counter: integer increments of 0..50 per scrape.
            "counter_int" => {
                value += f64::from(rng.gen_range(0..50u32));
                value
            }
            // CPU seconds counter with nanosecond resolution, printed with 9 decimals.
            "counter_cpu_seconds" => {
                value += rng.gen_range(0.0..1.5);
                decimal(value, 9)
            }
            // Memory bytes gauge: page-sized moves.
            "gauge_bytes" => {
                value += f64::from(rng.gen_range(-100i32..100)) * 4096.0;
                value
            }
            // Temperature-like gauge with two decimals.
            "gauge_decimal" => {
                value += rng.gen_range(-0.5..0.5);
                decimal(value, 2)
            }
            "constant" => 1.0,
            // Computed floats with full 17-digit mantissas (recording-rule output).
            "ratio_float" => rng.gen::<f64>(),
            _ => f64::from_bits(rng.gen()),
        };
        out.push((t, v));
    }
    out
}

const KINDS: [&str; 7] = [
    "counter_int",
    "counter_cpu_seconds",
    "gauge_bytes",
    "gauge_decimal",
    "constant",
    "ratio_float",
    "random_bits",
];

fn dataset(kind: &str) -> Vec<Vec<(i64, f64)>> {
    let mut rng = ChaCha8Rng::seed_from_u64(0xc4_0c);
    (0..N_SAMPLES / SERIES_LEN + 1)
        .map(|_| series(kind, &mut rng))
        .collect()
}

fn encode(data: &[Vec<(i64, f64)>], per_chunk: u16) -> Vec<Vec<u8>> {
    encode_with(data, per_chunk, false)
}

/// Encodes each series in chunks of `per_chunk` samples; with `best`, each chunk is also encoded
/// XOR-float-only and the smaller kept (what block compaction does).
fn encode_with(data: &[Vec<(i64, f64)>], per_chunk: u16, best: bool) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    for s in data {
        for group in s.chunks(usize::from(per_chunk)) {
            let mut enc = XorEncoder::with_limits(per_chunk, usize::MAX);
            let mut alt = XorEncoder::with_limits(per_chunk, usize::MAX).float_only();
            for &(t, v) in group {
                // Timestamps increase, so appends succeed.
                let _ = enc.append(t, v);
                if best {
                    let _ = alt.append(t, v);
                }
            }
            chunks.push(if best && alt.bytes().len() < enc.bytes().len() {
                alt.finish()
            } else {
                enc.finish()
            });
        }
    }
    chunks
}

/// Encodes each series in packed (version 2) chunks of `per_chunk` samples; with `smallest`,
/// keeps the XOR chunk instead where it is smaller (what block compaction writes).
fn encode_packed_chunks(data: &[Vec<(i64, f64)>], per_chunk: u16, smallest: bool) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    for s in data {
        for group in s.chunks(usize::from(per_chunk)) {
            // Groups are non-empty, increasing and at most u16::MAX long.
            chunks.push(encode_packed(group).unwrap_or_default());
        }
    }
    if smallest {
        for (packed, xor) in chunks.iter_mut().zip(encode_with(data, per_chunk, true)) {
            if xor.len() < packed.len() {
                *packed = xor;
            }
        }
    }
    chunks
}

/// Decodes every chunk through `decode_batches` into `out`, as the querier does.
fn decode_all(chunks: &[Vec<u8>], mint: i64, maxt: i64, out: &mut Vec<(i64, f64)>) {
    out.clear();
    for chunk in chunks {
        let _ = decode_batches(chunk, mint, maxt, |ts, vs| {
            out.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)))
        });
    }
}

/// Size in bytes that Prometheus's XOR chunk encoding (2.x `chunkenc`) would need for one chunk
/// of `samples`, including its on-disk framing in a chunk segment (length uvarint, encoding
/// byte, CRC32). Computed from the published layout (bit counts only), for comparison.
fn prometheus_xor_bytes(samples: &[(i64, f64)]) -> usize {
    fn varint_len(v: u64) -> u64 {
        (64 - v.leading_zeros() as u64).max(1).div_ceil(7)
    }
    let mut bits: u64 = 16; // sample count header
    let (mut prev_t, mut prev_delta, mut prev_v) = (0i64, 0i64, 0u64);
    let (mut leading, mut trailing) = (0xffu32, 0u32);
    for (i, &(t, v)) in samples.iter().enumerate() {
        let vb = v.to_bits();
        match i {
            0 => bits += 8 * varint_len(((t << 1) ^ (t >> 63)) as u64) + 64,
            _ => {
                let delta = t - prev_t;
                if i == 1 {
                    bits += 8 * varint_len(delta as u64);
                } else {
                    let dod = delta - prev_delta;
                    bits += match dod {
                        0 => 1,
                        -8191..=8192 => 2 + 14,
                        -65535..=65536 => 3 + 17,
                        -524287..=524288 => 4 + 20,
                        _ => 4 + 64,
                    };
                }
                prev_delta = delta;
                let xor = vb ^ prev_v;
                if xor == 0 {
                    bits += 1;
                } else {
                    let lead = xor.leading_zeros().min(31);
                    let trail = xor.trailing_zeros();
                    if leading != 0xff && lead >= leading && trail >= trailing {
                        bits += 2 + u64::from(64 - leading - trailing);
                    } else {
                        leading = lead;
                        trailing = trail;
                        bits += 2 + 5 + 6 + u64::from(64 - lead - trail);
                    }
                }
            }
        }
        prev_t = t;
        prev_v = vb;
    }
    let data = bits.div_ceil(8);
    (data + varint_len(data) + 1 + 4) as usize
}

fn n_samples(data: &[Vec<(i64, f64)>]) -> usize {
    data.iter().map(Vec::len).sum()
}

fn bench_chunk(c: &mut Criterion) {
    for kind in KINDS {
        let data = dataset(kind);
        let n = n_samples(&data);
        let prometheus: usize = data
            .iter()
            .flat_map(|s| s.chunks(120))
            .map(prometheus_xor_bytes)
            .sum();
        let sizes = [
            ("head v1 120", encode_with(&data, 120, false)),
            ("block v1 480", encode_with(&data, 480, true)),
            ("block v2 480", encode_packed_chunks(&data, 480, false)),
            ("block best 480", encode_packed_chunks(&data, 480, true)),
        ];
        let ours: Vec<String> = sizes
            .iter()
            .map(|(what, chunks)| {
                let bytes: usize = chunks.iter().map(Vec::len).sum();
                format!("{what}: {:.3}", bytes as f64 / n as f64)
            })
            .collect();
        eprintln!(
            "bytes/sample {kind:>20}: promlite {} | Prometheus XOR, 120-sample chunks with segment framing: {:.3}",
            ours.join(", "),
            prometheus as f64 / n as f64
        );
    }
    let mut group = c.benchmark_group("chunk");
    for kind in KINDS {
        let data = dataset(kind);
        let n = n_samples(&data);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("encode/{kind}"), |b| {
            b.iter(|| black_box(encode(black_box(&data), 120)))
        });
        let chunks = encode(&data, 120);
        let mut out: Vec<(i64, f64)> = Vec::with_capacity(n);
        group.bench_function(format!("decode/{kind}"), |b| {
            b.iter(|| {
                out.clear();
                for chunk in &chunks {
                    if let Ok(mut d) = XorDecoder::new(chunk) {
                        let _ = d.decode_into(&mut out);
                    }
                }
                black_box(out.len())
            })
        });
        group.bench_function(format!("encode_block_packed/{kind}"), |b| {
            b.iter(|| black_box(encode_packed_chunks(black_box(&data), 480, false)))
        });
        let xor_blocks = encode_with(&data, 480, true);
        group.bench_function(format!("decode_block_xor/{kind}"), |b| {
            b.iter(|| {
                decode_all(black_box(&xor_blocks), i64::MIN, i64::MAX, &mut out);
                black_box(out.len())
            })
        });
        let packed_blocks = encode_packed_chunks(&data, 480, false);
        group.bench_function(format!("decode_block_packed/{kind}"), |b| {
            b.iter(|| {
                decode_all(black_box(&packed_blocks), i64::MIN, i64::MAX, &mut out);
                black_box(out.len())
            })
        });
    }
    // Range decoding: the second quarter of every 480-sample chunk's time range. Throughput
    // counts the samples returned.
    for kind in ["counter_cpu_seconds", "gauge_bytes", "constant"] {
        let data = dataset(kind);
        let chunks = encode_packed_chunks(&data, 480, false);
        let span = 480 * STEP;
        // The window of each chunk, from its first timestamp (a querier knows it from the index).
        let windows: Vec<(i64, i64)> = chunks
            .iter()
            .map(|chunk| {
                let mut first = None;
                let _ = decode_range(chunk, i64::MIN, i64::MAX, |t, _| {
                    first.get_or_insert(t);
                });
                let mint = first.unwrap_or(0) + span / 4;
                (mint, mint + span / 4 - 1)
            })
            .collect();
        let mut out: Vec<(i64, f64)> = Vec::new();
        let mut returned = 0usize;
        for (chunk, &(mint, maxt)) in chunks.iter().zip(&windows) {
            let _ = decode_range(chunk, mint, maxt, |_, _| returned += 1);
        }
        group.throughput(Throughput::Elements(returned as u64));
        group.bench_function(format!("decode_range_packed/{kind}"), |b| {
            b.iter(|| {
                out.clear();
                for (chunk, &(mint, maxt)) in chunks.iter().zip(&windows) {
                    let _ = decode_batches(chunk, mint, maxt, |ts, vs| {
                        out.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)))
                    });
                }
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_chunk);
criterion_main!(benches);
