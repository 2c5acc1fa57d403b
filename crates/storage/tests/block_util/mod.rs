//! Helpers shared by the block integration tests: building chunked series, reading a whole
//! block back through `BlockReader`, and a brute-force matcher model.
#![allow(dead_code)]

use std::collections::BTreeMap;

use promlite_chunk::{XorDecoder, XorEncoder};
use promlite_model::{Labels, Matcher};
use promlite_storage::bytes::SharedBytes;
use promlite_storage::reader::{BlockReader, ChunkMeta};

/// Series in label order with their samples.
pub type Model = BTreeMap<Labels, Vec<(i64, f64)>>;

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
    model.iter().map(|(l, s)| (l.clone(), chunks_of(s, per_chunk))).collect()
}

/// Decodes every chunk into samples.
pub fn decode_all(chunks: &[ChunkMeta]) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    for c in chunks {
        XorDecoder::new(c.data.as_slice()).unwrap().decode_into(&mut out).unwrap();
    }
    out
}

/// Reads every series of a reader back into a model, in `sorted_postings` order.
pub fn read_all(reader: &dyn BlockReader) -> Vec<(Labels, Vec<(i64, f64)>)> {
    let refs = reader.sorted_postings(&reader.postings(&[]).unwrap()).unwrap();
    refs.into_iter()
        .map(|r| {
            let mut chunks = Vec::new();
            reader.series_chunks(r, i64::MIN, i64::MAX, &mut chunks).unwrap();
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
    model.keys().filter(|l| matchers.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")))).collect()
}
