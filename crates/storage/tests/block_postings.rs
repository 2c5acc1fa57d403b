//! Postings of a block against a brute-force model: for random label sets and random matchers
//! (every operator, set/prefix/regex shapes, matchers that match the empty string), the refs
//! `BlockReader::postings` returns are exactly the series that `Matcher::matches` accepts, and
//! label names/values under matchers agree with the model.

mod block_util;

use std::collections::BTreeSet;

use block_util::{matching, source, Model};
use promlite_model::{Labels, MatchOp, Matcher};
use promlite_storage::block::{write_block, Block, WriteOptions};
use promlite_storage::reader::BlockReader;
use proptest::prelude::*;

fn open(model: &Model) -> (tempfile::TempDir, Block) {
    let dir = tempfile::tempdir().unwrap();
    let meta = write_block(dir.path(), source(model, 120), WriteOptions::default()).unwrap();
    let block = Block::open(&dir.path().join(meta.ulid.to_string())).unwrap();
    (dir, block)
}

/// Checks postings, label names and label values under `matchers` against the model.
fn check(model: &Model, block: &Block, matchers: &[Matcher]) -> Result<(), TestCaseError> {
    let want = matching(model, matchers);
    let refs = block
        .sorted_postings(&block.postings(matchers).unwrap())
        .unwrap();
    let got: Vec<Labels> = refs
        .iter()
        .map(|&r| block.series_labels(r).unwrap())
        .collect();
    let want_owned: Vec<Labels> = want.iter().map(|l| (*l).clone()).collect();
    prop_assert_eq!(&got, &want_owned, "matchers {:?}", matchers);

    if !matchers.is_empty() {
        let names: BTreeSet<String> = want
            .iter()
            .flat_map(|l| l.iter().map(|x| x.name.to_string()))
            .collect();
        prop_assert_eq!(
            block.label_names(matchers).unwrap(),
            names.into_iter().collect::<Vec<_>>()
        );
        for name in ["a", "b", "c", "zz"] {
            let values: BTreeSet<String> = want
                .iter()
                .filter_map(|l| l.get(name).map(str::to_string))
                .collect();
            prop_assert_eq!(
                block.label_values(name, matchers).unwrap(),
                values.into_iter().collect::<Vec<_>>()
            );
        }
    }
    Ok(())
}

fn model_strategy() -> impl Strategy<Value = Model> {
    prop::collection::btree_set(
        prop::collection::btree_map("[a-c]", "[x-z]{1,2}", 1..4),
        1..40,
    )
    .prop_map(|sets| {
        sets.into_iter()
            .enumerate()
            .map(|(i, pairs)| (Labels::from_pairs(pairs), vec![(i as i64, i as f64)]))
            .collect()
    })
}

fn matcher_strategy() -> impl Strategy<Value = Matcher> {
    let op = prop_oneof![
        Just(MatchOp::Equal),
        Just(MatchOp::NotEqual),
        Just(MatchOp::Regex),
        Just(MatchOp::NotRegex)
    ];
    let value = prop_oneof![
        "[x-z]{0,2}",
        "[x-z]{1,2}(\\|[x-z]{0,2}){1,3}",
        "[x-z]\\.\\*",
        "\\.\\*[x-z]",
        Just(".*".to_string()),
        Just(".+".to_string()),
        Just("x?y+".to_string()),
        Just("(x|yy)z?".to_string()),
    ];
    (op, "[a-c]|zz", value).prop_filter_map("invalid matcher", |(op, name, value)| {
        Matcher::new(op, name, value).ok()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn postings_agree_with_brute_force(
        model in model_strategy(),
        queries in prop::collection::vec(prop::collection::vec(matcher_strategy(), 0..4), 1..12),
    ) {
        let (_dir, block) = open(&model);
        for matchers in &queries {
            check(&model, &block, matchers)?;
        }
    }
}

fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
    Matcher::new(op, name, value).unwrap()
}

/// Named cases for the semantics that matter most: absent labels are empty values.
#[test]
fn empty_matching_matchers_select_series_without_the_label() {
    let mut model = Model::new();
    for (i, pairs) in [
        vec![("a", "x")],
        vec![("a", "y"), ("b", "x")],
        vec![("b", "y")],
        vec![("c", "z")],
    ]
    .into_iter()
    .enumerate()
    {
        model.insert(Labels::from_pairs(pairs), vec![(i as i64, 0.0)]);
    }
    let (_dir, block) = open(&model);
    let cases: Vec<(Vec<Matcher>, usize)> = vec![
        (vec![m(MatchOp::NotEqual, "a", "x")], 3),
        (vec![m(MatchOp::Equal, "a", "")], 2),
        (vec![m(MatchOp::NotEqual, "a", "")], 2),
        (vec![m(MatchOp::Regex, "a", "x|")], 3),
        (vec![m(MatchOp::NotRegex, "b", ".+")], 2),
        (vec![m(MatchOp::Regex, "b", ".*")], 4),
        (vec![m(MatchOp::Regex, "zz", ".*")], 4),
        (vec![m(MatchOp::Equal, "zz", "q")], 0),
        (
            vec![m(MatchOp::Regex, "a", "x.*"), m(MatchOp::NotEqual, "b", "")],
            0,
        ),
        (
            vec![m(MatchOp::Regex, "a", ".+"), m(MatchOp::NotRegex, "b", "x")],
            1,
        ),
        (vec![], 4),
    ];
    for (matchers, n) in cases {
        let got = block.postings(&matchers).unwrap();
        assert_eq!(got.len() as usize, n, "{matchers:?}");
        assert_eq!(
            got.len() as usize,
            matching(&model, &matchers).len(),
            "{matchers:?}"
        );
    }
}

/// Label names/values under matchers take a second path (postings intersection) once many
/// series are selected; both paths agree with the model.
#[test]
fn label_values_over_many_series() {
    let mut model = Model::new();
    for i in 0..6000 {
        let labels = Labels::from_pairs([
            ("a", format!("v{}", i % 7)),
            ("b", format!("w{i}")),
            (
                "c",
                if i % 1000 == 0 {
                    "rare".to_string()
                } else {
                    String::new()
                },
            ),
        ]);
        model.insert(labels, vec![(0, 0.0)]);
    }
    let (_dir, block) = open(&model);
    let many = [m(MatchOp::Regex, "a", "v[0-5]")];
    assert_eq!(
        block.label_values("a", &many).unwrap(),
        vec!["v0", "v1", "v2", "v3", "v4", "v5"]
    );
    assert_eq!(block.label_values("c", &many).unwrap(), vec!["rare"]);
    assert_eq!(block.label_names(&many).unwrap(), vec!["a", "b", "c"]);
    let few = [m(MatchOp::Equal, "c", "rare")];
    assert_eq!(block.label_values("a", &few).unwrap().len(), 6);
    assert_eq!(
        block.label_names(&[m(MatchOp::Equal, "a", "v1")]).unwrap(),
        vec!["a", "b"]
    );
}

/// Postings lists are decoded once and then served from the block's cache: repeating a
/// selection, and intersecting a cached list with another, must leave the cached list intact.
#[test]
fn cached_postings_survive_intersections_and_repeats() {
    let mut model = Model::new();
    for i in 0..3000 {
        let labels = Labels::from_pairs([
            ("a", format!("v{}", i % 3)),
            ("b", format!("w{}", i % 5)),
            ("i", i.to_string()),
        ]);
        model.insert(labels, vec![(0, 0.0)]);
    }
    let (_dir, block) = open(&model);
    let a = [m(MatchOp::Equal, "a", "v1")];
    let a_and_b = [m(MatchOp::Equal, "a", "v1"), m(MatchOp::Equal, "b", "w2")];
    let a_not_b = [
        m(MatchOp::Equal, "a", "v1"),
        m(MatchOp::NotEqual, "b", "w2"),
    ];
    for _ in 0..3 {
        for matchers in [&a[..], &a_and_b[..], &a_not_b[..]] {
            let got = block.postings(matchers).unwrap();
            assert_eq!(
                got.len() as usize,
                matching(&model, matchers).len(),
                "{matchers:?}"
            );
        }
    }
    assert_eq!(block.postings(&a).unwrap().len(), 1000);
    assert_eq!(block.postings(&a_and_b).unwrap().len(), 200);
    assert_eq!(block.postings(&a_not_b).unwrap().len(), 800);
}
