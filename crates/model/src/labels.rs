//! Label sets: sorted, immutable, cheap to clone, hash and compare.
//!
//! **Invariant:** a [`Labels`] is sorted by name and has no duplicate names and no empty values
//! (an empty value means "label absent", as in Prometheus). Every constructor enforces this.

use std::fmt;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Separator byte fed to hashers between names and values. `0xff` never occurs in UTF-8, so
/// distinct label sets cannot produce the same byte stream.
const SEP: u8 = 0xff;

/// xxh3 of `name 0xff value 0xff ...` over `labels`. The bytes are laid out in a reused
/// per-thread buffer and hashed in one call, which gives the same value as feeding the pieces
/// to a streaming hasher at a fraction of the cost (two small updates per label dominated).
fn hash_pairs<'a>(labels: impl Iterator<Item = &'a Label>) -> u64 {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    fn hash_in<'a>(buf: &mut Vec<u8>, labels: impl Iterator<Item = &'a Label>) -> u64 {
        buf.clear();
        for l in labels {
            buf.extend_from_slice(l.name.as_bytes());
            buf.push(SEP);
            buf.extend_from_slice(l.value.as_bytes());
            buf.push(SEP);
        }
        xxh3_64(buf)
    }
    BUF.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => hash_in(&mut buf, labels),
        // Re-entered on this thread: a fresh buffer gives the same hash.
        Err(_) => hash_in(&mut Vec::new(), labels),
    })
}

/// One label: a name and its (non-empty) value. Strings are reference-counted so storage can
/// intern them and every clone is a pointer copy.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name.
    pub name: Arc<str>,
    /// The label value; never empty inside a [`Labels`].
    pub value: Arc<str>,
}

impl Label {
    /// A label from anything string-like.
    pub fn new(name: impl Into<Arc<str>>, value: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

/// A sorted set of labels identifying one series.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds labels from pairs in any order. Pairs with empty values are dropped; for a name
    /// given twice the last value wins.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<Arc<str>>,
        V: Into<Arc<str>>,
    {
        let mut v: Vec<Label> = pairs.into_iter().map(|(n, v)| Label::new(n, v)).collect();
        Self::from_vec(std::mem::take(&mut v))
    }

    /// Builds labels from a vector in any order, normalising it (sort, last duplicate wins, drop
    /// empty values).
    pub fn from_vec(mut v: Vec<Label>) -> Self {
        // Stable sort keeps input order among equal names so "last wins" below is well defined.
        v.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<Label> = Vec::with_capacity(v.len());
        for l in v {
            match out.last_mut() {
                Some(last) if last.name == l.name => *last = l,
                _ => out.push(l),
            }
        }
        out.retain(|l| !l.value.is_empty());
        Self(out.into())
    }

    /// Wraps a vector that the caller guarantees is sorted by name, duplicate-free and without
    /// empty values. Checked in debug builds.
    pub fn from_sorted_vec(v: Vec<Label>) -> Self {
        debug_assert!(
            v.windows(2).all(|w| w[0].name < w[1].name),
            "labels not sorted/unique"
        );
        debug_assert!(v.iter().all(|l| !l.value.is_empty()), "empty label value");
        Self(v.into())
    }

    /// Number of labels.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True if there are no labels.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The labels as a sorted slice.
    #[inline]
    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Iterates over the labels in name order.
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    /// The value of label `name`, if present.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&str> {
        // Label sets are small (typically < 20); a linear scan beats binary search on them.
        self.0.iter().find(|l| &*l.name == name).map(|l| &*l.value)
    }

    /// The metric name (`__name__`), if present.
    #[inline]
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// True if label `name` is present.
    #[inline]
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// These labels without `__name__`.
    pub fn without_metric_name(&self) -> Labels {
        self.filtered(|l| &*l.name != METRIC_NAME)
    }

    /// A stable 64-bit hash of the whole label set (xxh3 over `name 0xff value 0xff ...`).
    /// Stable across processes and versions: storage may persist it.
    pub fn stable_hash(&self) -> u64 {
        hash_pairs(self.0.iter())
    }

    /// Hash of only the labels named in `names` (the `on(...)`/`by(...)` signature). `names`
    /// need not be sorted. Absent labels hash like empty values, as in Prometheus.
    pub fn hash_for_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        hash_pairs(
            self.0
                .iter()
                .filter(|l| names.iter().any(|n| n.as_ref() == &*l.name)),
        )
    }

    /// Hash of all labels except those named in `names` and except `__name__` (the
    /// `ignoring(...)`/`without(...)` signature).
    pub fn hash_without_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        hash_pairs(
            self.0.iter().filter(|l| {
                &*l.name != METRIC_NAME && !names.iter().any(|n| n.as_ref() == &*l.name)
            }),
        )
    }

    /// Only the labels named in `names`.
    pub fn keep(&self, names: &[impl AsRef<str>]) -> Labels {
        self.filtered(|l| names.iter().any(|n| n.as_ref() == &*l.name))
    }

    /// All labels except those named in `names` and except `__name__`.
    pub fn drop_names(&self, names: &[impl AsRef<str>]) -> Labels {
        self.filtered(|l| &*l.name != METRIC_NAME && !names.iter().any(|n| n.as_ref() == &*l.name))
    }

    /// The labels `keep` accepts, with `set` merged in: a label of `set` replaces the label of
    /// its name (or is added in name order); one with an empty value removes the name. `set`
    /// must be sorted by name without duplicates (checked in debug builds). The result is
    /// allocated once, at its exact size (Prometheus's `resultMetric` and `label_replace` make
    /// such an edit per output series; a builder's vector would be a second allocation and a
    /// copy).
    pub fn edited(&self, keep: impl Fn(&Label) -> bool, set: &[Label]) -> Labels {
        debug_assert!(
            set.windows(2).all(|w| w[0].name < w[1].name),
            "set not sorted/unique"
        );
        if set.is_empty() {
            return self.filtered(keep);
        }
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<Label>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        fn merge(
            src: &[Label],
            keep: impl Fn(&Label) -> bool,
            set: &[Label],
            out: &mut Vec<Label>,
        ) -> Labels {
            out.clear();
            let mut add = set.iter().peekable();
            for l in src {
                while let Some(a) = add.next_if(|a| a.name < l.name) {
                    if !a.value.is_empty() {
                        out.push(a.clone());
                    }
                }
                if let Some(a) = add.next_if(|a| a.name == l.name) {
                    if !a.value.is_empty() {
                        out.push(a.clone());
                    }
                } else if keep(l) {
                    out.push(l.clone());
                }
            }
            out.extend(add.filter(|a| !a.value.is_empty()).cloned());
            // `Drain` has a trusted length: one allocation, the labels moved, not re-counted.
            Labels(out.drain(..).collect())
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut out) => merge(&self.0, keep, set, &mut out),
            // Re-entered on this thread (a `keep` that edits labels): a fresh vector.
            Err(_) => merge(&self.0, keep, set, &mut Vec::new()),
        })
    }

    /// The labels `keep` accepts, in one allocation of the exact size; the set itself (one
    /// reference count, no string touched) when it accepts them all.
    pub fn filtered(&self, keep: impl Fn(&Label) -> bool) -> Labels {
        let src = &self.0;
        if src.len() > 64 {
            return Labels(src.iter().filter(|l| keep(l)).cloned().collect());
        }
        let mut mask = 0u64;
        for (i, l) in src.iter().enumerate() {
            if keep(l) {
                mask |= 1 << i;
            }
        }
        if mask.count_ones() as usize == src.len() {
            return self.clone();
        }
        Labels::from_mask(src, mask)
    }

    /// The labels of `src` at the set bits of `mask` (`src.len() <= 64`). The iterator has an
    /// exact, trusted length, so the shared slice is allocated once and filled in place.
    fn from_mask(src: &[Label], mut mask: u64) -> Labels {
        let n = mask.count_ones() as usize;
        Labels(
            (0..n)
                .map(|_| {
                    // `n` is the number of set bits, so a bit is left at every call, and
                    // every set bit is below `src.len()`.
                    let i = mask.trailing_zeros() as usize;
                    mask &= mask.wrapping_sub(1);
                    src[i].clone()
                })
                .collect(),
        )
    }

    /// These labels with `label` set: added in name order, or replacing the value of a label
    /// with its name; an empty value removes the name instead. One allocation of the exact
    /// size; no other label's strings are copied.
    pub fn with_label(&self, label: Label) -> Labels {
        if label.value.is_empty() {
            return self.without_label(&label.name);
        }
        let src = &self.0;
        let at = src.partition_point(|l| *l.name < *label.name);
        let replaces = src.get(at).is_some_and(|l| l.name == label.name);
        let n = src.len() + usize::from(!replaces);
        // Indices stay in bounds: `at <= src.len()`, and past `at` the source index is `i`
        // (replacing, `n == src.len()`) or `i - 1` (inserting, `n == src.len() + 1`).
        Labels(
            (0..n)
                .map(|i| match i.cmp(&at) {
                    std::cmp::Ordering::Less => src[i].clone(),
                    std::cmp::Ordering::Equal => label.clone(),
                    std::cmp::Ordering::Greater if replaces => src[i].clone(),
                    std::cmp::Ordering::Greater => src[i - 1].clone(),
                })
                .collect(),
        )
    }

    /// These labels without label `name` (the set itself if it has no such label).
    pub fn without_label(&self, name: &str) -> Labels {
        if !self.has(name) {
            return self.clone();
        }
        self.filtered(|l| &*l.name != name)
    }

    /// Sets the value of label `name`, which must already be present, to the non-empty `value`,
    /// in place if this set is not shared: the other labels are not copied and their strings'
    /// reference counts are not touched. Returns false, changing nothing, if `name` is absent,
    /// `value` is empty or the set is shared (then use [`builder`](Self::builder)).
    pub fn replace_value(&mut self, name: &str, value: &Arc<str>) -> bool {
        if value.is_empty() {
            return false;
        }
        let Some(labels) = Arc::get_mut(&mut self.0) else {
            return false;
        };
        match labels.iter_mut().find(|l| &*l.name == name) {
            Some(l) => {
                if !Arc::ptr_eq(&l.value, value) {
                    l.value = Arc::clone(value);
                }
                true
            }
            None => false,
        }
    }

    /// A builder starting from these labels.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.to_vec(),
        }
    }
}

impl fmt::Display for Labels {
    /// Formats as Prometheus does in messages: `{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if is_legacy_name(&l.name) {
                f.write_str(&l.name)?;
            } else {
                write_quoted(f, &l.name)?;
            }
            f.write_str("=")?;
            write_quoted(f, &l.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// True if `name` matches the legacy Prometheus name charset `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True if `name` is a valid legacy metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_legacy_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// Writes `s` double-quoted with Go `strconv.Quote`-style escapes, as Prometheus prints values.
pub fn write_quoted(f: &mut impl fmt::Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            // Go's strconv.Quote: `\xNN` only for ASCII controls; C1 controls (U+0080..U+009F)
            // as `\u00NN`, since `\xNN` would read back as a raw (invalid UTF-8) byte.
            c if c.is_control() && (c as u32) < 0x80 => write!(f, "\\x{:02x}", c as u32)?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Mutable label set used to derive new [`Labels`] (label_replace, aggregation grouping, joins).
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(
        &mut self,
        name: impl Into<Arc<str>> + AsRef<str>,
        value: impl Into<Arc<str>> + AsRef<str>,
    ) -> &mut Self {
        if value.as_ref().is_empty() {
            self.del(name.as_ref());
            return self;
        }
        match self
            .labels
            .binary_search_by(|l| (*l.name).cmp(name.as_ref()))
        {
            Ok(i) => self.labels[i].value = value.into(),
            Err(i) => self.labels.insert(i, Label::new(name, value)),
        }
        self
    }

    /// Sets a label reusing existing shared strings (no allocation).
    pub fn set_label(&mut self, label: Label) -> &mut Self {
        if label.value.is_empty() {
            self.del(&label.name);
            return self;
        }
        match self.labels.binary_search_by(|l| l.name.cmp(&label.name)) {
            Ok(i) => self.labels[i] = label,
            Err(i) => self.labels.insert(i, label),
        }
        self
    }

    /// Removes label `name` if present.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| &*l.name != name);
        self
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| &*l.name == name)
            .map(|l| &*l.value)
    }

    /// Keeps only labels whose names are in `names`.
    pub fn keep(&mut self, names: &[impl AsRef<str>]) -> &mut Self {
        self.labels
            .retain(|l| names.iter().any(|n| n.as_ref() == &*l.name));
        self
    }

    /// Finishes the label set. Consumes the builder: its labels move into the set, so no
    /// string is reference-counted again.
    pub fn build(self) -> Labels {
        Labels(self.labels.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-allocation editors give exactly what the builder gives.
        #[test]
        fn editors_equal_the_builder(
            pairs in proptest::collection::btree_map("__name__|[a-e]|dd", "[xy]{0,2}", 0..7),
            name in "__name__|[a-f]|dd",
            value in "[xyz]{0,2}",
            names in proptest::collection::vec("__name__|[a-f]|dd", 0..4),
        ) {
            let l = Labels::from_pairs(pairs);
            let mut b = l.builder();
            b.set(name.as_str(), value.as_str());
            proptest::prop_assert_eq!(l.with_label(Label::new(name.as_str(), value.as_str())), b.build());
            let mut b = l.builder();
            b.del(&name);
            proptest::prop_assert_eq!(l.without_label(&name), b.build());
            let mut b = l.builder();
            b.keep(&names);
            proptest::prop_assert_eq!(l.keep(&names), b.build());
            let mut b = l.builder();
            b.del(METRIC_NAME);
            for n in &names {
                b.del(n);
            }
            proptest::prop_assert_eq!(l.drop_names(&names), b.build());
            let mut b = l.builder();
            b.del(METRIC_NAME);
            proptest::prop_assert_eq!(l.without_metric_name(), b.build());
            // `edited`: drop `names`, then set `name` and `__name__`'s edits in name order.
            let mut set = vec![Label::new(name.as_str(), value.as_str())];
            if name != METRIC_NAME {
                set.push(Label::new(METRIC_NAME, ""));
                set.sort();
            }
            let mut b = l.builder();
            for n in &names {
                b.del(n);
            }
            for x in &set {
                b.set(x.name.clone(), x.value.clone());
            }
            let keep = |x: &Label| !names.iter().any(|n| **n == *x.name);
            proptest::prop_assert_eq!(l.edited(keep, &set), b.build());
        }
    }

    #[test]
    fn editors_handle_sets_wider_than_the_mask() {
        let wide = Labels::from_pairs((0..70).map(|i| (format!("l{i:02}"), "v")));
        assert_eq!(wide.keep(&["l05", "l69"]).len(), 2);
        assert_eq!(wide.drop_names(&["l05"]).len(), 69);
        assert_eq!(wide.with_label(Label::new("l70", "w")).len(), 71);
        assert_eq!(wide.without_label("l00").get("l00"), None);
    }
    use xxhash_rust::xxh3::Xxh3;

    /// The hash is persisted-stable: it must stay xxh3 over `name 0xff value 0xff ...`.
    #[test]
    fn hashes_are_xxh3_of_the_documented_byte_layout() {
        let long = "x".repeat(700); // past xxh3's short-input paths
        let l = Labels::from_pairs([("__name__", "m"), ("a", "1"), ("b", long.as_str())]);
        let stream = |pairs: &[(&str, &str)]| {
            let mut h = Xxh3::new();
            for (n, v) in pairs {
                h.update(n.as_bytes());
                h.update(&[0xff]);
                h.update(v.as_bytes());
                h.update(&[0xff]);
            }
            h.digest()
        };
        assert_eq!(
            l.stable_hash(),
            stream(&[("__name__", "m"), ("a", "1"), ("b", long.as_str())])
        );
        assert_eq!(
            l.hash_for_labels(&["b", "a"]),
            stream(&[("a", "1"), ("b", long.as_str())])
        );
        assert_eq!(
            l.hash_without_labels(&["a"]),
            stream(&[("b", long.as_str())])
        );
        assert_eq!(
            Labels::from_pairs::<&str, &str>([]).stable_hash(),
            stream(&[])
        );
    }

    #[test]
    fn from_pairs_sorts_dedups_and_drops_empty() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3"), ("c", "")]);
        assert_eq!(l.to_string(), r#"{a="1", b="3"}"#);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn ordering_is_label_by_label() {
        let a = Labels::from_pairs([("a", "1")]);
        let ab = Labels::from_pairs([("a", "1"), ("b", "1")]);
        let a2 = Labels::from_pairs([("a", "2")]);
        assert!(a < ab);
        assert!(ab < a2);
    }

    #[test]
    fn signature_hashes_select_the_right_labels() {
        let x = Labels::from_pairs([("__name__", "m"), ("pod", "p"), ("ns", "n"), ("c", "1")]);
        let y = Labels::from_pairs([("__name__", "k"), ("pod", "p"), ("ns", "n"), ("c", "2")]);
        assert_eq!(
            x.hash_for_labels(&["pod", "ns"]),
            y.hash_for_labels(&["ns", "pod"])
        );
        assert_ne!(
            x.hash_for_labels(&["pod", "c"]),
            y.hash_for_labels(&["pod", "c"])
        );
        assert_eq!(x.hash_without_labels(&["c"]), y.hash_without_labels(&["c"]));
        assert_ne!(x.stable_hash(), y.stable_hash());
    }

    #[test]
    fn replace_value_changes_only_unshared_sets_with_the_label() {
        let mut l = Labels::from_pairs([("a", "1"), ("b", "2")]);
        let v: Arc<str> = Arc::from("x");
        assert!(l.replace_value("b", &v));
        assert_eq!(l.to_string(), r#"{a="1", b="x"}"#);
        assert!(!l.replace_value("c", &v), "absent label");
        assert!(!l.replace_value("a", &Arc::from("")), "empty value");
        let shared = l.clone();
        assert!(!l.replace_value("a", &v), "shared set");
        assert_eq!(l, shared);
        drop(shared);
        assert!(l.replace_value("a", &v));
        assert_eq!(l.to_string(), r#"{a="x", b="x"}"#);
    }

    #[test]
    fn builder_set_and_delete() {
        let l = Labels::from_pairs([("a", "1"), ("b", "2")]);
        let mut b = l.builder();
        b.set("c", "3").set("a", "").set("b", "x");
        assert_eq!(b.build().to_string(), r#"{b="x", c="3"}"#);
    }

    #[test]
    fn display_escapes_and_quotes_utf8_names() {
        let l = Labels::from_pairs([("my.label", "a\"b\\c\nd")]);
        assert_eq!(l.to_string(), r#"{"my.label"="a\"b\\c\nd"}"#);
    }

    #[test]
    fn c1_controls_are_quoted_as_unicode_escapes() {
        let l = Labels::from_pairs([("a", "x\u{1}y\u{85}z")]);
        assert_eq!(l.to_string(), r#"{a="x\x01y\u0085z"}"#);
    }

    #[test]
    fn hash_separates_name_and_value_boundaries() {
        let a = Labels::from_pairs([("ab", "c")]);
        let b = Labels::from_pairs([("a", "bc")]);
        assert_ne!(a.stable_hash(), b.stable_hash());
    }
}
