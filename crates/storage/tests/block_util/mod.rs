//! Helpers shared by the block integration tests: building chunked series, reading a whole
//! block back through `BlockReader`, and a brute-force matcher model.
#![allow(dead_code)]

use std::collections::BTreeMap;

use promlite_chunk::{decode_range_into, XorEncoder};
use promlite_model::{Labels, Matcher};
use promlite_storage::bytes::SharedBytes;
use promlite_storage::reader::{BlockReader, ChunkMeta};

/// Series in label order with their samples.
pub type Model = BTreeMap<Labels, Vec<(i64, f64)>>;

/// Series read back from a block, in ref order.
pub type SeriesList = Vec<(Labels, Vec<(i64, f64)>)>;

/// Encodes samples into chunks of at most `per_chunk` samples.
pub fn chunks_of(samples: &[(i64, f64)], per_chunk: u16) -> Vec<ChunkMeta> {
    let mut out = Vec::new();
    for group in samples.chunks(per_chunk as usize) {
        let mut enc = XorEncoder::with_limits(per_chunk, usize::MAX);
        for &(t, v) in group {
            enc.append(t, v).expect("test samples are increasing");
        }
        out.push(ChunkMeta {
            min_time: group[0].0,
            max_time: group[group.len() - 1].0,
            data: SharedBytes::from_vec(enc.finish()),
        });
    }
    out
}

/// The model as block-writer input.
pub fn source(model: &Model, per_chunk: u16) -> Vec<(Labels, Vec<ChunkMeta>)> {
    model
        .iter()
        .map(|(l, s)| (l.clone(), chunks_of(s, per_chunk)))
        .collect()
}

/// Decodes every chunk into samples.
pub fn decode_all(chunks: &[ChunkMeta]) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    for c in chunks {
        decode_range_into(c.data.as_slice(), i64::MIN, i64::MAX, &mut out).unwrap();
    }
    out
}

/// Reads every series of a reader back into a model, in `sorted_postings` order.
pub fn read_all(reader: &dyn BlockReader) -> SeriesList {
    let refs = reader
        .sorted_postings(&reader.postings(&[]).unwrap())
        .unwrap();
    refs.into_iter()
        .map(|r| {
            let mut chunks = Vec::new();
            reader
                .series_chunks(r, i64::MIN, i64::MAX, &mut chunks)
                .unwrap();
            (reader.series_labels(r).unwrap(), decode_all(&chunks))
        })
        .collect()
}

/// Sample lists compared by value bits.
pub fn bits(samples: &[(i64, f64)]) -> Vec<(i64, u64)> {
    samples.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// Brute force: labels of the model's series that match every matcher.
pub fn matching<'a>(model: &'a Model, matchers: &[Matcher]) -> Vec<&'a Labels> {
    model
        .keys()
        .filter(|l| {
            matchers
                .iter()
                .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
        })
        .collect()
}

/// Opens the block in `dir` and reads everything through the public API: every label name and
/// value, the postings of every pair, every series' labels and decoded samples. Returns the
/// first error as text, or the series.
pub fn read_everything(dir: &std::path::Path) -> Result<SeriesList, String> {
    let block = promlite_storage::block::Block::open(dir).map_err(|e| e.to_string())?;
    let err = |e: promlite_storage::Error| e.to_string();
    for name in block.label_names(&[]).map_err(err)? {
        for value in block.label_values(&name, &[]).map_err(err)? {
            let p = block
                .postings(&[Matcher::equal(name.clone(), value.clone())])
                .map_err(err)?;
            if p.is_empty() {
                return Err(format!("no postings for {name}={value}"));
            }
        }
    }
    let refs = block
        .sorted_postings(&block.postings(&[]).map_err(err)?)
        .map_err(err)?;
    let mut out = Vec::new();
    for r in refs {
        let labels = block.series_labels(r).map_err(err)?;
        let mut chunks = Vec::new();
        block
            .series_chunks(r, i64::MIN, i64::MAX, &mut chunks)
            .map_err(err)?;
        let mut samples = Vec::new();
        for c in &chunks {
            decode_range_into(c.data.as_slice(), i64::MIN, i64::MAX, &mut samples)
                .map_err(|e| e.to_string())?;
        }
        out.push((labels, samples));
    }
    Ok(out)
}

/// A small deterministic data set: counters, gauges, a staleness marker and odd values.
pub fn fixture_model() -> Model {
    let mut m = Model::new();
    for pod in 0..4i64 {
        for (metric, kind) in [
            ("container_cpu_usage_seconds_total", 0),
            ("container_memory_working_set_bytes", 1),
        ] {
            let labels = Labels::from_pairs([
                ("__name__", metric.to_string()),
                ("namespace", format!("ns-{}", pod % 2)),
                ("pod", format!("web-{pod}")),
            ]);
            let samples: Vec<(i64, f64)> = (0..200)
                .map(|i| {
                    let t = 1_700_000_000_000 + i * 15_000;
                    let v = if kind == 0 {
                        (pod * 100 + i) as f64 * 0.25
                    } else {
                        (1 << 20) as f64 * (pod + 1) as f64
                    };
                    (t, v)
                })
                .collect();
            m.insert(labels, samples);
        }
    }
    m.insert(
        Labels::from_pairs([("__name__", "odd"), ("kind", "specials")]),
        vec![
            (-5_000, f64::from_bits(0x7ff0_0000_0000_0002)),
            (0, -0.0),
            (1, f64::INFINITY),
            (2, f64::from_bits(1)),
            (3, f64::NAN),
            (i64::MAX, 0.1 + 0.2),
        ],
    );
    m
}
