//! Writes an index file (format v2) from series sorted by label set.

use std::collections::{BTreeMap, BTreeSet};

use crate::encoding::{crc32c, Encbuf};
use crate::error::{Error, Result};

use super::{IndexSeries, INDEX_MAGIC, INDEX_VERSION};

/// Pads `buf` with zeros to a multiple of `align`.
fn pad_to(buf: &mut Encbuf, align: usize) {
    let rem = buf.len() % align;
    if rem != 0 {
        buf.bytes.resize(buf.len() + align - rem, 0);
    }
}

/// Appends `len <be32> | body | crc32c(body) <be32>`.
fn put_be32_section(buf: &mut Encbuf, body: &[u8]) -> Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| Error::InvalidInput("index section larger than 4 GiB".into()))?;
    buf.put_be32(len);
    buf.bytes.extend_from_slice(body);
    buf.put_be32(crc32c(body));
    Ok(())
}

/// The bytes of an index file for `series`, which must be sorted by label set with no
/// duplicates and have chunks in time order. The postings include the all-series list under
/// the empty label pair, as Prometheus's do.
pub fn write_index(series: &[IndexSeries]) -> Result<Vec<u8>> {
    for pair in series.windows(2) {
        if let [a, b] = pair {
            if a.labels >= b.labels {
                return Err(Error::InvalidInput(format!(
                    "index series must be sorted and distinct: {} before {}",
                    a.labels, b.labels
                )));
            }
        }
    }
    // Symbols: every name and value, and the empty string (the all-postings key).
    let mut symbol_set: BTreeSet<&str> = BTreeSet::new();
    symbol_set.insert("");
    for s in series {
        for l in s.labels.iter() {
            symbol_set.insert(l.name);
            symbol_set.insert(l.value);
        }
    }
    let symbols: Vec<&str> = symbol_set.into_iter().collect();
    let symbol_ref = |s: &str| -> u32 {
        // Every label string was inserted above, so the search always finds it.
        symbols.binary_search(&s).map(|i| i as u32).unwrap_or(0)
    };

    let mut buf = Encbuf::new();
    buf.put_be32(INDEX_MAGIC);
    buf.put_byte(INDEX_VERSION);

    // Symbol table.
    let toc_symbols = buf.len() as u64;
    let mut body = Encbuf::new();
    body.put_be32(symbols.len() as u32);
    for s in &symbols {
        body.put_uvarint_str(s);
    }
    put_be32_section(&mut buf, &body.bytes)?;

    // Series, each 16-byte aligned; its reference is offset / 16.
    let toc_series = buf.len() as u64;
    let mut refs: Vec<u32> = Vec::with_capacity(series.len());
    let mut postings: BTreeMap<(&str, &str), Vec<u32>> = BTreeMap::new();
    for s in series {
        pad_to(&mut buf, 16);
        let series_ref = u32::try_from(buf.len() / 16)
            .map_err(|_| Error::InvalidInput("index series section past 64 GiB".into()))?;
        refs.push(series_ref);
        let mut body = Encbuf::new();
        body.put_uvarint(s.labels.len() as u64);
        for l in s.labels.iter() {
            body.put_uvarint(u64::from(symbol_ref(l.name)));
            body.put_uvarint(u64::from(symbol_ref(l.value)));
            postings
                .entry((l.name, l.value))
                .or_default()
                .push(series_ref);
        }
        body.put_uvarint(s.chunks.len() as u64);
        let mut prev: Option<super::ChunkMeta> = None;
        for c in &s.chunks {
            if c.max_time < c.min_time {
                return Err(Error::InvalidInput(format!(
                    "chunk of {} ends before it starts",
                    s.labels
                )));
            }
            match prev {
                None => {
                    body.put_varint(c.min_time);
                    body.put_uvarint(c.max_time.wrapping_sub(c.min_time) as u64);
                    body.put_uvarint(c.chunk_ref);
                }
                Some(p) => {
                    if c.min_time <= p.max_time {
                        return Err(Error::InvalidInput(format!(
                            "chunks of {} overlap or are out of order",
                            s.labels
                        )));
                    }
                    body.put_uvarint(c.min_time.wrapping_sub(p.max_time) as u64);
                    body.put_uvarint(c.max_time.wrapping_sub(c.min_time) as u64);
                    body.put_varint(c.chunk_ref.wrapping_sub(p.chunk_ref) as i64);
                }
            }
            prev = Some(*c);
        }
        buf.put_uvarint(body.len() as u64);
        buf.bytes.extend_from_slice(&body.bytes);
        buf.put_be32(crc32c(&body.bytes));
    }

    // Label indices (one per name; Prometheus no longer reads them, but writes them).
    let mut values_by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in postings.keys() {
        values_by_name.entry(name).or_default().push(value);
    }
    pad_to(&mut buf, 4);
    let toc_label_indices = buf.len() as u64;
    let mut label_index_offsets: Vec<(&str, u64)> = Vec::with_capacity(values_by_name.len());
    for (name, values) in &values_by_name {
        pad_to(&mut buf, 4);
        label_index_offsets.push((name, buf.len() as u64));
        let mut body = Encbuf::new();
        body.put_be32(1);
        body.put_be32(values.len() as u32);
        for v in values {
            body.put_be32(symbol_ref(v));
        }
        put_be32_section(&mut buf, &body.bytes)?;
    }

    // Postings: the all-series list first (key "", ""), then one per label pair in order.
    pad_to(&mut buf, 4);
    let toc_postings = buf.len() as u64;
    let mut postings_offsets: Vec<(&str, &str, u64)> = Vec::with_capacity(postings.len() + 1);
    let write_list = |buf: &mut Encbuf, list: &[u32]| -> Result<()> {
        let mut body = Encbuf::new();
        body.put_be32(list.len() as u32);
        for r in list {
            body.put_be32(*r);
        }
        put_be32_section(buf, &body.bytes)
    };
    postings_offsets.push(("", "", buf.len() as u64));
    write_list(&mut buf, &refs)?;
    for ((name, value), list) in &postings {
        pad_to(&mut buf, 4);
        postings_offsets.push((name, value, buf.len() as u64));
        write_list(&mut buf, list)?;
    }

    // Label offset table.
    let toc_label_offsets = buf.len() as u64;
    let mut body = Encbuf::new();
    body.put_be32(label_index_offsets.len() as u32);
    for (name, offset) in &label_index_offsets {
        body.put_byte(1);
        body.put_uvarint_str(name);
        body.put_uvarint(*offset);
    }
    put_be32_section(&mut buf, &body.bytes)?;

    // Postings offset table.
    let toc_postings_offsets = buf.len() as u64;
    let mut body = Encbuf::new();
    body.put_be32(postings_offsets.len() as u32);
    for (name, value, offset) in &postings_offsets {
        body.put_byte(2);
        body.put_uvarint_str(name);
        body.put_uvarint_str(value);
        body.put_uvarint(*offset);
    }
    put_be32_section(&mut buf, &body.bytes)?;

    // Table of contents.
    let mut toc = Encbuf::new();
    for offset in [
        toc_symbols,
        toc_series,
        toc_label_indices,
        toc_label_offsets,
        toc_postings,
        toc_postings_offsets,
    ] {
        toc.put_be64(offset);
    }
    buf.bytes.extend_from_slice(&toc.bytes);
    buf.put_be32(crc32c(&toc.bytes));
    Ok(buf.bytes)
}
