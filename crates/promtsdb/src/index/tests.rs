//! Index writer/reader round trips against a model (postings recomputed from the series).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use promlite_model::Labels;
use proptest::prelude::*;

use super::*;

fn series_strategy() -> impl Strategy<Value = Vec<IndexSeries>> {
    let label = (
        prop::sample::select(vec!["__name__", "job", "pod", "a b", "ü"]),
        "[a-c]{1,3}",
    );
    let labels = prop::collection::btree_map(label.0, label.1, 1..5);
    let chunks = prop::collection::vec((0i64..1000, 0i64..1000, 0u64..1 << 40), 0..4);
    prop::collection::vec((labels, chunks), 0..30).prop_map(|raw| {
        let mut by_labels: BTreeMap<Labels, Vec<ChunkMeta>> = BTreeMap::new();
        for (pairs, chunks) in raw {
            let labels = Labels::from_pairs(pairs.iter().map(|(n, v)| (*n, v.as_str())));
            let mut t = -500i64;
            let mut metas = Vec::new();
            for (gap, span, r) in chunks {
                let min_time = t + gap + 1;
                metas.push(ChunkMeta {
                    min_time,
                    max_time: min_time + span,
                    chunk_ref: r,
                });
                t = min_time + span;
            }
            by_labels.insert(labels, metas);
        }
        by_labels
            .into_iter()
            .map(|(labels, chunks)| IndexSeries { labels, chunks })
            .collect()
    })
}

proptest! {
    #[test]
    fn index_round_trips(series in series_strategy()) {
        let bytes = write_index(&series).unwrap();
        let reader = IndexReader::from_bytes(Path::new("index"), bytes).unwrap();
        let refs = reader.all_series().unwrap();
        prop_assert_eq!(refs.len(), series.len());
        let mut by_pair: BTreeMap<(String, String), BTreeSet<u32>> = BTreeMap::new();
        for (r, want) in refs.iter().zip(&series) {
            let got = reader.series(*r).unwrap();
            prop_assert_eq!(&got, want);
            for l in want.labels.iter() {
                by_pair.entry((l.name.to_string(), l.value.to_string())).or_default().insert(*r);
            }
        }
        for ((name, value), want) in &by_pair {
            let got: BTreeSet<u32> = reader.postings(name, value).unwrap().into_iter().collect();
            prop_assert_eq!(&got, want);
        }
        prop_assert!(reader.postings("nope", "x").unwrap().is_empty());
        // Every pair with postings, and the all-series key.
        let pairs: Vec<(String, String)> =
            reader.label_pairs().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        let mut expected: Vec<(String, String)> = vec![(String::new(), String::new())];
        expected.extend(by_pair.keys().cloned());
        prop_assert_eq!(pairs, expected);
    }

    #[test]
    fn arbitrary_index_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(reader) = IndexReader::from_bytes(Path::new("index"), bytes) {
            if let Ok(refs) = reader.all_series() {
                for r in refs {
                    let _ = reader.series(r);
                }
            }
        }
    }
}

#[test]
fn unsorted_series_are_refused() {
    let a = IndexSeries {
        labels: Labels::from_pairs([("__name__", "b")]),
        chunks: vec![],
    };
    let b = IndexSeries {
        labels: Labels::from_pairs([("__name__", "a")]),
        chunks: vec![],
    };
    assert!(write_index(&[a, b]).is_err());
}

#[test]
fn version_1_is_reported_as_unsupported() {
    let mut bytes = write_index(&[]).unwrap();
    bytes[4] = 1;
    let err = IndexReader::from_bytes(Path::new("idx"), bytes).unwrap_err();
    assert!(
        matches!(err, crate::Error::Unsupported { offset: 4, .. }),
        "{err}"
    );
}
