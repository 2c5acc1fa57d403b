//! Compaction helpers: merge any number of [`BlockReader`]s (blocks, the head) into one new
//! block, re-encoding chunks to the block chunk size and dropping samples outside a time range.
//! The caller (the database's compaction and retention logic) decides when to call it.

use std::path::{Path, PathBuf};

use promlite_chunk::{decode_batches, encode_packed, XorEncoder};
use promlite_model::{Labels, Timestamp};

use super::writer::{BlockWriter, WriteOptions};
use super::BlockMeta;
use crate::bytes::SharedBytes;
use crate::reader::{BlockReader, ChunkMeta, SeriesRef};
use crate::{Error, Result};

/// Options for [`compact`].
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Keep only samples with `min <= t <= max`; everything if `None`.
    pub time_range: Option<(Timestamp, Timestamp)>,
    /// Sample limit of the re-encoded chunks. Larger than the head's 120 because per-chunk
    /// overhead (header, first timestamp and value, index entry) dominates highly compressible
    /// series; 480 samples is two hours at a 15 s interval.
    pub max_samples_per_chunk: u16,
    /// Byte limit of the re-encoded chunks.
    pub max_bytes_per_chunk: usize,
    /// Id, level and sources of the new block.
    pub write: WriteOptions,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            time_range: None,
            max_samples_per_chunk: 480,
            max_bytes_per_chunk: 4096,
            write: WriteOptions::default(),
        }
    }
}

/// One source's position in the merge: its series refs in label order and the current one.
struct Cursor<'a> {
    source: &'a dyn BlockReader,
    refs: Vec<SeriesRef>,
    next: usize,
    current: Option<(Labels, SeriesRef)>,
}

impl Cursor<'_> {
    fn advance(&mut self) -> Result<()> {
        self.current = match self.refs.get(self.next) {
            Some(&r) => Some((self.source.series_labels(r)?, r)),
            None => None,
        };
        self.next += 1;
        Ok(())
    }
}

/// Merges every series of `sources` into one new block in `parent` and returns its metadata, or
/// `None` if no sample survives (nothing is written then).
///
/// Series are matched by labels across sources. Their samples are merged by timestamp; when
/// two sources hold the same timestamp, the sample of the *later* source in `sources` wins.
/// Samples outside `opts.time_range` are dropped. Chunks are re-encoded to
/// `opts.max_samples_per_chunk`. Each source must return all its series for `postings(&[])`.
pub fn compact(
    parent: &Path,
    sources: &[&dyn BlockReader],
    opts: &CompactOptions,
) -> Result<Option<BlockMeta>> {
    let (mint, maxt) = opts.time_range.unwrap_or((Timestamp::MIN, Timestamp::MAX));
    let mut cursors = Vec::with_capacity(sources.len());
    for &source in sources {
        let (smin, smax) = source.time_range();
        if smin > smax || smax < mint || smin > maxt {
            continue; // empty, or entirely outside the range
        }
        let refs = source.sorted_postings(&source.postings(&[])?)?;
        let mut c = Cursor {
            source,
            refs,
            next: 0,
            current: None,
        };
        c.advance()?;
        cursors.push(c);
    }

    let mut writer = BlockWriter::create(parent, opts.write.clone())?;
    let mut wrote_any = false;
    let mut chunks: Vec<ChunkMeta> = Vec::new();
    let mut samples: Vec<(i64, f64)> = Vec::new();
    // Each round takes the smallest current labels across sources.
    while let Some(labels) = cursors
        .iter()
        .filter_map(|c| c.current.as_ref().map(|(l, _)| l))
        .min()
        .cloned()
    {
        samples.clear();
        for (source_idx, c) in cursors.iter_mut().enumerate() {
            let Some((l, series)) = &c.current else {
                continue;
            };
            if *l != labels {
                continue;
            }
            chunks.clear();
            c.source.series_chunks(*series, mint, maxt, &mut chunks)?;
            for chunk in &chunks {
                decode_chunk(chunk, source_idx, &labels, &mut samples)?;
            }
            c.advance()?;
        }
        // Stable sort keeps source order among equal timestamps; keep the last of each run.
        samples.sort_by_key(|s| s.0);
        samples.retain(|s| s.0 >= mint && s.0 <= maxt);
        dedup_keep_last(&mut samples);
        if samples.is_empty() {
            continue;
        }
        let encoded = encode_chunks(
            &samples,
            opts.max_samples_per_chunk,
            opts.max_bytes_per_chunk,
        );
        writer.add_series(&labels, &encoded)?;
        wrote_any = true;
    }
    if !wrote_any {
        return Ok(None); // dropping the writer removes its temporary directory
    }
    writer.finish().map(Some)
}

fn decode_chunk(
    chunk: &ChunkMeta,
    source_idx: usize,
    labels: &Labels,
    out: &mut Vec<(i64, f64)>,
) -> Result<()> {
    let corrupt = |e: promlite_chunk::Error| Error::Corruption {
        path: PathBuf::from(format!("<compaction source {source_idx}>")),
        offset: 0,
        detail: format!(
            "chunk [{}, {}] of series {labels} does not decode: {e}",
            chunk.min_time, chunk.max_time
        ),
        checksum: None,
    };
    let bytes = chunk.data.as_slice();
    out.reserve(usize::from(
        promlite_chunk::num_samples(bytes).map_err(corrupt)?,
    ));
    decode_batches(bytes, Timestamp::MIN, Timestamp::MAX, |ts, vs| {
        out.extend(ts.iter().zip(vs).map(|(&t, &v)| (t, v)))
    })
    .map_err(corrupt)
}

/// Removes all but the last sample of every run of equal timestamps (input sorted by time).
fn dedup_keep_last(samples: &mut Vec<(i64, f64)>) {
    let mut write = 0usize;
    for read in 0..samples.len() {
        let Some(&s) = samples.get(read) else { break };
        if write > 0 && samples.get(write - 1).is_some_and(|p| p.0 == s.0) {
            if let Some(slot) = samples.get_mut(write - 1) {
                *slot = s;
            }
        } else {
            if let Some(slot) = samples.get_mut(write) {
                *slot = s;
            }
            write += 1;
        }
    }
    samples.truncate(write);
}

/// Encodes strictly increasing samples into chunks of at most `max_samples` samples (or about
/// `max_bytes` of XOR encoding). Each chunk is encoded three ways and the smallest kept: XOR
/// (format version 1) in the default mode and in XOR-float-only mode, and packed (version 2),
/// which is usually both smaller and several times faster to decode. The compactor sees every
/// sample up front, unlike the head, so it can afford to try all three.
pub(crate) fn encode_chunks(
    samples: &[(i64, f64)],
    max_samples: u16,
    max_bytes: usize,
) -> Vec<ChunkMeta> {
    let mut out = Vec::new();
    let mut start = 0usize;
    while start < samples.len() {
        let mut enc = XorEncoder::with_limits(max_samples, max_bytes);
        let mut end = start;
        // An append fails when the chunk is full or the gap overflows i64 (cut either way); the
        // input is sorted and deduplicated, so nothing else can fail.
        while let Some(&(t, v)) = samples.get(end) {
            if enc.append(t, v).is_err() {
                break;
            }
            end += 1;
        }
        if end == start {
            // Limits too small for even one sample: give the sample a chunk of its own.
            enc = XorEncoder::with_limits(1, usize::MAX);
            if let Some(&(t, v)) = samples.get(start) {
                let _ = enc.append(t, v);
            }
            end = start + 1;
        }
        let group = samples.get(start..end).unwrap_or(&[]);
        if let Some(chunk) = seal_chunk(enc, group) {
            out.push(chunk);
        }
        start = end;
    }
    out
}

/// The chunk of `group` (strictly increasing, 1..=u16::MAX samples), of which `enc` holds the
/// default-mode XOR encoding: the smallest of that, the XOR-float encoding and the packed one
/// (see [`encode_chunks`], which cuts groups as an appending caller does: where `enc` reports
/// full or refuses a sample).
pub(crate) fn seal_chunk(enc: XorEncoder, group: &[(i64, f64)]) -> Option<ChunkMeta> {
    let mut alt = XorEncoder::with_limits(u16::MAX, usize::MAX).float_only();
    for &(t, v) in group {
        let _ = alt.append(t, v);
    }
    let mut data =
        if alt.num_samples() == enc.num_samples() && alt.bytes().len() < enc.bytes().len() {
            alt.finish()
        } else {
            enc.finish()
        };
    // The group is strictly increasing and has 1..=u16::MAX samples, so packing succeeds;
    // were it to fail, the XOR chunk is kept.
    if let Ok(packed) = encode_packed(group) {
        if packed.len() < data.len() {
            data = packed;
        }
    }
    let (first, last) = (group.first()?, group.last()?);
    Some(ChunkMeta {
        min_time: first.0,
        max_time: last.0,
        data: SharedBytes::from_vec(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_the_last_sample_of_each_timestamp() {
        let mut s = vec![(1, 1.0), (1, 2.0), (2, 3.0), (3, 4.0), (3, 5.0), (3, 6.0)];
        dedup_keep_last(&mut s);
        assert_eq!(s, vec![(1, 2.0), (2, 3.0), (3, 6.0)]);
        let mut empty: Vec<(i64, f64)> = Vec::new();
        dedup_keep_last(&mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn encode_chunks_cuts_at_the_limit_and_on_overflowing_gaps() {
        let samples: Vec<(i64, f64)> = (0..1000).map(|i| (i * 15_000, i as f64)).collect();
        let chunks = encode_chunks(&samples, 480, 4096);
        assert_eq!(chunks.len(), 3);
        assert_eq!((chunks[0].min_time, chunks[0].max_time), (0, 479 * 15_000));
        assert_eq!(chunks[2].max_time, 999 * 15_000);
        let gap = encode_chunks(&[(i64::MIN, 1.0), (i64::MAX, 2.0)], 480, 4096);
        assert_eq!(gap.len(), 2);
        assert_eq!((gap[1].min_time, gap[1].max_time), (i64::MAX, i64::MAX));
        assert_eq!(encode_chunks(&[(1, 1.0), (2, 2.0)], 480, 0).len(), 2);
    }

    /// Bytes of the three candidate encodings of `samples` (one chunk): XOR default, XOR
    /// float-only, packed.
    fn candidate_sizes(samples: &[(i64, f64)]) -> [usize; 3] {
        let mut auto = XorEncoder::with_limits(u16::MAX, usize::MAX);
        let mut float = XorEncoder::with_limits(u16::MAX, usize::MAX).float_only();
        for &(t, x) in samples {
            auto.append(t, x).unwrap();
            float.append(t, x).unwrap();
        }
        [
            auto.bytes().len(),
            float.bytes().len(),
            encode_packed(samples).unwrap().len(),
        ]
    }

    fn decode_all(chunk: &ChunkMeta) -> Vec<(i64, f64)> {
        let mut back = Vec::new();
        promlite_chunk::decode_range(chunk.data.as_slice(), i64::MIN, i64::MAX, |t, v| {
            back.push((t, v))
        })
        .unwrap();
        back
    }

    #[test]
    fn encode_chunks_keeps_the_smallest_encoding() {
        // Page-sized moves of a memory gauge, a CPU counter in nanoseconds with a reset, and
        // computed floats (where the XOR stream of version 1 is as small as any).
        let mut v = 2.0e8;
        let pages: Vec<(i64, f64)> = (0..480i64)
            .map(|i| {
                v += (((i * 7919) % 200) - 100) as f64 * 4096.0;
                (i * 15_000, v)
            })
            .collect();
        let mut ns = 5_000_000_000_000i64;
        let cpu: Vec<(i64, f64)> = (0..480i64)
            .map(|i| {
                ns = if i == 240 {
                    777
                } else {
                    ns + 100_000_000 + (i * 31 % 97) * 1_000
                };
                (i * 15_000 + i % 3, ns as f64 / 1e9)
            })
            .collect();
        let floats: Vec<(i64, f64)> = (0..480i64)
            .map(|i| (i * 15_000, (i as f64 * 0.37).sin()))
            .collect();
        for samples in [pages, cpu, floats] {
            let chosen = encode_chunks(&samples, 480, usize::MAX);
            assert_eq!(chosen.len(), 1);
            let sizes = candidate_sizes(&samples);
            assert_eq!(chosen[0].data.len(), *sizes.iter().min().unwrap());
            let back = decode_all(&chosen[0]);
            let bits =
                |s: &[(i64, f64)]| s.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&samples));
        }
    }

    #[test]
    fn compaction_writes_packed_chunks_for_scraped_counters() {
        let samples: Vec<(i64, f64)> = (0..1000i64)
            .map(|i| (1_700_000_000_000 + i * 15_000, (i * 1_234_567) as f64 / 1e9))
            .collect();
        let chunks = encode_chunks(&samples, 480, 4096);
        assert_eq!(chunks.len(), 3);
        let mut back = Vec::new();
        for c in &chunks {
            assert_eq!(c.data.as_slice()[0], promlite_chunk::PACKED_FORMAT_VERSION);
            back.extend(decode_all(c));
        }
        assert_eq!(back, samples);
    }
}
