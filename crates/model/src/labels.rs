//! Label sets: sorted, immutable, packed into one shared buffer, cheap to clone, hash and compare.
//!
//! **Invariant:** a [`Labels`] is sorted by name and has no duplicate names and no empty values
//! (an empty value means "label absent", as in Prometheus). Every constructor enforces this.
//!
//! **Layout:** one reference-counted byte buffer per set holding, for each label in name order,
//! `uvarint(name_len) name uvarint(value_len) value` (LEB128 lengths, Prometheus's
//! "stringlabels"). Given the invariant the encoding is canonical, so equality and hashing work
//! on the bytes. A clone is one reference-count increment, a drop one decrement, and building a
//! set is one allocation and a copy: no per-label reference counts, which dominated the
//! evaluator's profiles when a set was a slice of `Arc<str>` pairs.
//!
//! The buffer is private and written only by this module's encoder (`put_str`), always from
//! `&str` pieces with their own byte length as prefix, and never mutated except by
//! [`Labels::replace_value`], which overwrites one value with a `&str` of the same byte length.
//! Editors copy whole encoded labels. So every `(prefix, piece)` decoded from a label boundary
//! is exactly a `&str` that was written, which is what lets `take_str` skip UTF-8
//! validation.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

/// The label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Separator byte fed to hashers between names and values. `0xff` never occurs in UTF-8, so
/// distinct label sets cannot produce the same byte stream.
const SEP: u8 = 0xff;

/// Runs `f` with a cleared per-thread scratch buffer (a fresh one if re-entered on this
/// thread, e.g. by an editor's `keep` closure that itself edits labels).
fn with_scratch<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<u8>>>,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    key.with(|buf| match buf.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            f(&mut buf)
        }
        Err(_) => f(&mut Vec::new()),
    })
}

thread_local! {
    /// Where label sets are encoded before their one exact-size allocation.
    static ENCODE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Where the hashed byte stream `name 0xff value 0xff ...` is laid out.
    static HASH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Encodes a label set with `f` in the scratch buffer and copies it into its shared buffer:
/// one allocation of the exact size.
#[inline]
fn encode(f: impl FnOnce(&mut Vec<u8>)) -> Labels {
    with_scratch(&ENCODE, |buf| {
        f(buf);
        Labels(Arc::from(&buf[..]))
    })
}

/// xxh3 of `name 0xff value 0xff ...` over `labels`. The bytes are laid out in a reused
/// per-thread buffer and hashed in one call, which gives the same value as feeding the pieces
/// to a streaming hasher at a fraction of the cost (two small updates per label dominated).
fn hash_pairs<'a>(labels: impl Iterator<Item = LabelRef<'a>>) -> u64 {
    with_scratch(&HASH, |buf| {
        for l in labels {
            buf.extend_from_slice(l.name.as_bytes());
            buf.push(SEP);
            buf.extend_from_slice(l.value.as_bytes());
            buf.push(SEP);
        }
        xxh3_64(buf)
    })
}

/// Appends `s` with its LEB128 byte-length prefix. The only writer of label buffers.
#[inline]
fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut n = s.len();
    while n >= 0x80 {
        // Truncation intended: the low seven bits, with the continuation bit.
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s.as_bytes());
}

/// Appends one encoded label.
#[inline]
fn put_label(out: &mut Vec<u8>, name: &str, value: &str) {
    put_str(out, name);
    put_str(out, value);
}

/// Asks the CPU to start loading every cache line of `buf` after the first. Decoding is a chain
/// of dependent loads (each length prefix gives the next one's offset), so on a cold buffer each
/// line's miss would otherwise wait for the previous one; a set is typically several lines long.
#[inline]
fn prefetch(buf: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut at = 64;
        while let Some(byte) = buf.get(at) {
            // SAFETY: a prefetch is a hint: it never faults, writes nothing and has no effect on
            // the program's semantics; the address is inside `buf` anyway.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(byte).cast()) };
            at += 64;
        }
        if buf.len() > 64 {
            if let Some(last) = buf.last() {
                // SAFETY: as above; the last line when `buf` does not start on a line boundary.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(last).cast()) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = buf;
}

/// Reads a multi-byte LEB128 length: `(value, bytes read)`.
#[cold]
fn read_len_slow(buf: &[u8]) -> Option<(usize, usize)> {
    let mut n = 0usize;
    for (i, &b) in buf.iter().enumerate().take(10) {
        n |= usize::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((n, i + 1));
        }
    }
    None
}

/// Splits one length-prefixed string off the front of `buf`, which must start at a piece
/// boundary of a label buffer. `None` only at the end of the buffer (or, impossibly, on a
/// malformed one).
#[inline]
fn take_str(buf: &[u8]) -> Option<(&str, &[u8])> {
    let (len, n) = match buf.first() {
        Some(&b) if b < 0x80 => (usize::from(b), 1),
        Some(_) => read_len_slow(buf)?,
        None => return None,
    };
    let rest = buf.get(n..)?;
    if rest.len() < len {
        debug_assert!(false, "label buffer truncated");
        return None;
    }
    let (piece, rest) = rest.split_at(len);
    // SAFETY: label buffers are private to this module and only ever written by `put_str`
    // from a `&str` prefixed with its own byte length (or overwritten in place by
    // `replace_value` with a `&str` of the same length). `buf` starts at a piece boundary, so
    // `piece` is exactly the bytes of one written `&str`: valid UTF-8.
    let piece = unsafe { std::str::from_utf8_unchecked(piece) };
    Some((piece, rest))
}

/// One label: a name and its (non-empty) value. The owned input type of constructors and
/// builders; strings are reference-counted so callers can share them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    /// The label name.
    pub name: Arc<str>,
    /// The label value; an empty value means "absent".
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

    /// The label as a borrowed view.
    #[inline]
    pub fn as_ref(&self) -> LabelRef<'_> {
        LabelRef {
            name: &self.name,
            value: &self.value,
        }
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

impl From<LabelRef<'_>> for Label {
    fn from(l: LabelRef<'_>) -> Self {
        Label::new(l.name, l.value)
    }
}

/// A label borrowed from a [`Labels`] buffer (or from a [`Label`]). Ordered by name, then value,
/// like [`Label`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LabelRef<'a> {
    /// The label name.
    pub name: &'a str,
    /// The label value; never empty when it comes from a [`Labels`].
    pub value: &'a str,
}

impl LabelRef<'_> {
    /// An owned copy (two new strings).
    pub fn to_label(&self) -> Label {
        Label::from(*self)
    }
}

impl fmt::Debug for LabelRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}", self.name, self.value)
    }
}

/// Anything that reads as a name/value pair: the element type of [`Labels::edited`]'s `set`, so
/// callers can pass labels borrowed from another set without copying their strings.
pub trait AsLabelRef {
    /// The pair as a borrowed view.
    fn as_label_ref(&self) -> LabelRef<'_>;
}

impl AsLabelRef for Label {
    #[inline]
    fn as_label_ref(&self) -> LabelRef<'_> {
        self.as_ref()
    }
}

impl AsLabelRef for LabelRef<'_> {
    #[inline]
    fn as_label_ref(&self) -> LabelRef<'_> {
        *self
    }
}

/// Iterates over the labels of a [`Labels`] in name order, decoding the packed buffer.
#[derive(Clone)]
pub struct Iter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iter<'a> {
    /// The next label with the byte offset where its encoding starts (it ends at `self.pos`).
    #[inline]
    fn next_entry(&mut self) -> Option<(LabelRef<'a>, usize)> {
        let start = self.pos;
        let rest = self.buf.get(start..)?;
        let (name, rest) = take_str(rest)?;
        let (value, rest) = take_str(rest)?;
        self.pos = self.buf.len() - rest.len();
        Some((LabelRef { name, value }, start))
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = LabelRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<LabelRef<'a>> {
        self.next_entry().map(|(l, _)| l)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        // Each label takes at least two bytes (two length prefixes).
        let left = self.buf.len() - self.pos.min(self.buf.len());
        (usize::from(left > 0), Some(left / 2))
    }
}

impl std::iter::FusedIterator for Iter<'_> {}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// A sorted set of labels identifying one series, packed into one shared buffer (see the
/// module docs for the layout).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels(Arc<[u8]>);

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Labels {
    /// Label by label: name, then value; a set that is a prefix of the other sorts first. (Not
    /// the byte order of the buffers: length prefixes would put short names first.)
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            return std::cmp::Ordering::Equal;
        }
        let mut a = self.iter();
        let mut b = other.iter();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return std::cmp::Ordering::Equal,
                (None, Some(_)) => return std::cmp::Ordering::Less,
                (Some(_), None) => return std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => match x.name.cmp(y.name).then_with(|| x.value.cmp(y.value)) {
                    std::cmp::Ordering::Equal => {}
                    o => return o,
                },
            }
        }
    }
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds labels from pairs in any order. Pairs with empty values are dropped; for a name
    /// given twice the last value wins.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut v: Vec<(N, V)> = pairs.into_iter().collect();
        // Stable sort keeps input order among equal names so "last wins" below is well defined.
        v.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        encode(|out| {
            let mut it = v.iter().peekable();
            while let Some((n, val)) = it.next() {
                if it
                    .peek()
                    .is_some_and(|(next, _)| next.as_ref() == n.as_ref())
                {
                    continue;
                }
                if !val.as_ref().is_empty() {
                    put_label(out, n.as_ref(), val.as_ref());
                }
            }
        })
    }

    /// Builds labels from a vector in any order, normalising it (sort, last duplicate wins, drop
    /// empty values).
    pub fn from_vec(v: Vec<Label>) -> Self {
        Self::from_pairs(v.into_iter().map(|l| (l.name, l.value)))
    }

    /// Builds labels from a vector that the caller guarantees is sorted by name,
    /// duplicate-free and without empty values. Checked in debug builds.
    pub fn from_sorted_vec(v: Vec<Label>) -> Self {
        Self::from_sorted_pairs(v.iter().map(|l| (&*l.name, &*l.value)))
    }

    /// Builds labels from `(name, value)` pairs that the caller guarantees are sorted by name,
    /// duplicate-free and without empty values (checked in debug builds), encoding the strings
    /// straight into the set's buffer.
    pub fn from_sorted_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        encode(|out| {
            let mut prev: Option<&str> = None;
            for (name, value) in pairs {
                debug_assert!(prev.is_none_or(|p| p < name), "labels not sorted/unique");
                debug_assert!(!value.is_empty(), "empty label value");
                prev = Some(name);
                put_label(out, name, value);
            }
        })
    }

    /// Number of labels (a scan of the buffer; sets are small).
    #[inline]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if there are no labels.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the labels in name order.
    #[inline]
    pub fn iter(&self) -> Iter<'_> {
        prefetch(&self.0);
        Iter {
            buf: &self.0,
            pos: 0,
        }
    }

    /// The size of the packed buffer in bytes (for memory accounting).
    #[inline]
    pub fn encoded_len(&self) -> usize {
        self.0.len()
    }

    /// The value of label `name`, if present.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&str> {
        // A linear scan is all the layout allows (each length prefix gives the next label's
        // offset). Equality checks lengths first, so most labels cost no string comparison;
        // names are sorted, so the scan stops at the first name whose first byte is larger
        // (then every later name is larger too) instead of walking on for an absent name.
        let first = name.as_bytes().first();
        for l in self.iter() {
            if l.name == name {
                return Some(l.value);
            }
            if l.name.as_bytes().first() > first {
                return None;
            }
        }
        None
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
        self.without_label(METRIC_NAME)
    }

    /// A stable 64-bit hash of the whole label set (xxh3 over `name 0xff value 0xff ...`).
    /// Stable across processes and versions: storage may persist it.
    pub fn stable_hash(&self) -> u64 {
        hash_pairs(self.iter())
    }

    /// A 64-bit hash for in-memory tables: xxh3 of the packed buffer in one call, nothing
    /// copied. The encoding is canonical (labels sorted by name, each string length-prefixed),
    /// so equal sets have equal bytes and equal hashes. Not [`stable_hash`](Self::stable_hash)'s
    /// value, and not promised stable across versions: never persist it.
    #[inline]
    pub fn table_hash(&self) -> u64 {
        xxh3_64(&self.0)
    }

    /// Hash of only the labels named in `names` (the `on(...)`/`by(...)` signature). `names`
    /// need not be sorted. Absent labels hash like empty values, as in Prometheus.
    pub fn hash_for_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        hash_pairs(
            self.iter()
                .filter(|l| names.iter().any(|n| n.as_ref() == l.name)),
        )
    }

    /// Hash of all labels except those named in `names` and except `__name__` (the
    /// `ignoring(...)`/`without(...)` signature).
    pub fn hash_without_labels(&self, names: &[impl AsRef<str>]) -> u64 {
        hash_pairs(
            self.iter()
                .filter(|l| l.name != METRIC_NAME && !names.iter().any(|n| n.as_ref() == l.name)),
        )
    }

    /// Only the labels named in `names`.
    pub fn keep(&self, names: &[impl AsRef<str>]) -> Labels {
        self.filtered(|l| names.iter().any(|n| n.as_ref() == l.name))
    }

    /// All labels except those named in `names` and except `__name__`.
    pub fn drop_names(&self, names: &[impl AsRef<str>]) -> Labels {
        self.filtered(|l| l.name != METRIC_NAME && !names.iter().any(|n| n.as_ref() == l.name))
    }

    /// The labels `keep` accepts, with `set` merged in: a label of `set` replaces the label of
    /// its name (or is added in name order); one with an empty value removes the name. `set`
    /// must be sorted by name without duplicates (checked in debug builds). The result is
    /// written in one pass from the kept labels' encoded bytes and `set`, and allocated once at
    /// its exact size (Prometheus's `resultMetric` and `label_replace` make such an edit per
    /// output series); the set itself when the edit changes nothing.
    pub fn edited<L: AsLabelRef>(&self, keep: impl Fn(LabelRef<'_>) -> bool, set: &[L]) -> Labels {
        debug_assert!(
            set.windows(2)
                .all(|w| w[0].as_label_ref().name < w[1].as_label_ref().name),
            "set not sorted/unique"
        );
        if set.is_empty() {
            return self.filtered(keep);
        }
        let src: &[u8] = &self.0;
        with_scratch(&ENCODE, |out| {
            let mut add = set.iter().map(AsLabelRef::as_label_ref).peekable();
            let mut entries = self.iter();
            while let Some((l, start)) = entries.next_entry() {
                while let Some(a) = add.next_if(|a| a.name < l.name) {
                    if !a.value.is_empty() {
                        put_label(out, a.name, a.value);
                    }
                }
                if let Some(a) = add.next_if(|a| a.name == l.name) {
                    if !a.value.is_empty() {
                        put_label(out, a.name, a.value);
                    }
                } else if keep(l) {
                    out.extend_from_slice(&src[start..entries.pos]);
                }
            }
            for a in add {
                if !a.value.is_empty() {
                    put_label(out, a.name, a.value);
                }
            }
            if out[..] == *src {
                self.clone()
            } else {
                Labels(Arc::from(&out[..]))
            }
        })
    }

    /// The labels `keep` accepts, copied from their encoded bytes in one allocation of the exact
    /// size; the set itself (one reference count) when it accepts them all.
    pub fn filtered(&self, keep: impl Fn(LabelRef<'_>) -> bool) -> Labels {
        let src: &[u8] = &self.0;
        let mut entries = self.iter();
        // The prefix of kept labels is copied in one piece.
        let first_dropped = loop {
            match entries.next_entry() {
                None => return self.clone(),
                Some((l, start)) if !keep(l) => break start,
                Some(_) => {}
            }
        };
        encode(|out| {
            out.extend_from_slice(&src[..first_dropped]);
            while let Some((l, start)) = entries.next_entry() {
                if keep(l) {
                    out.extend_from_slice(&src[start..entries.pos]);
                }
            }
        })
    }

    /// The byte range of label `name`'s encoding, or where it would be inserted (an empty range).
    fn find(&self, name: &str) -> (std::ops::Range<usize>, bool) {
        let mut entries = self.iter();
        while let Some((l, start)) = entries.next_entry() {
            match l.name.cmp(name) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return (start..entries.pos, true),
                std::cmp::Ordering::Greater => return (start..start, false),
            }
        }
        (self.0.len()..self.0.len(), false)
    }

    /// These labels with `label` set: added in name order, or replacing the value of a label
    /// with its name; an empty value removes the name instead. See [`with_pair`](Self::with_pair).
    pub fn with_label(&self, label: Label) -> Labels {
        self.with_pair(&label.name, &label.value)
    }

    /// These labels with `name` set to `value`: added in name order, or replacing the value of
    /// the label with that name; an empty value removes the name instead. One allocation of the
    /// exact size, the other labels copied as encoded bytes; the set itself if nothing changes.
    pub fn with_pair(&self, name: &str, value: &str) -> Labels {
        if value.is_empty() {
            return self.without_label(name);
        }
        let (at, replaces) = self.find(name);
        if replaces && self.get_at(&at) == Some(value) {
            return self.clone();
        }
        let src: &[u8] = &self.0;
        encode(|out| {
            out.extend_from_slice(&src[..at.start]);
            put_label(out, name, value);
            out.extend_from_slice(&src[at.end..]);
        })
    }

    /// `label_replace`'s copy in one walk over the set: whether label `dst` is present, and
    /// the set with `dst` set to label `src`'s value (removed if that value is empty, the set
    /// itself if nothing changes), or `None` if there is no label `src`. Equal to
    /// `(self.has(dst), self.get(src).map(|v| self.with_pair(dst, v)))`, which walks it three
    /// times.
    pub fn copied(&self, src: &str, dst: &str) -> (bool, Option<Labels>) {
        let mut entries = self.iter();
        let mut src_value = None;
        // `dst`'s entry, or the empty range where it would go.
        let mut dst_at = None;
        let mut dst_found = false;
        while let Some((l, start)) = entries.next_entry() {
            if l.name == src {
                src_value = Some(l.value);
            }
            if dst_at.is_none() {
                match l.name.cmp(dst) {
                    std::cmp::Ordering::Less => {}
                    std::cmp::Ordering::Equal => {
                        dst_at = Some(start..entries.pos);
                        dst_found = true;
                    }
                    std::cmp::Ordering::Greater => dst_at = Some(start..start),
                }
            }
            // Names are sorted: once past both, neither can follow.
            if dst_at.is_some() && l.name >= src {
                break;
            }
        }
        let Some(value) = src_value else {
            return (dst_found, None);
        };
        let at = dst_at.unwrap_or(self.0.len()..self.0.len());
        if value.is_empty() && !dst_found {
            return (false, Some(self.clone()));
        }
        if dst_found && self.get_at(&at) == Some(value) {
            return (true, Some(self.clone()));
        }
        let src_bytes: &[u8] = &self.0;
        let out = encode(|out| {
            out.extend_from_slice(&src_bytes[..at.start]);
            if !value.is_empty() {
                put_label(out, dst, value);
            }
            out.extend_from_slice(&src_bytes[at.end..]);
        });
        (dst_found, Some(out))
    }

    /// The value of the label encoded at `range`.
    fn get_at(&self, range: &std::ops::Range<usize>) -> Option<&str> {
        let (_, rest) = take_str(self.0.get(range.clone())?)?;
        take_str(rest).map(|(v, _)| v)
    }

    /// These labels without label `name` (the set itself if it has no such label).
    pub fn without_label(&self, name: &str) -> Labels {
        let (at, found) = self.find(name);
        if !found {
            return self.clone();
        }
        let src: &[u8] = &self.0;
        encode(|out| {
            out.extend_from_slice(&src[..at.start]);
            out.extend_from_slice(&src[at.end..]);
        })
    }

    /// Sets the value of label `name`, which must already be present, to the non-empty `value`:
    /// in place if this set is not shared and the new value has the old one's byte length,
    /// otherwise as one new buffer. Returns false, changing nothing, if `name` is absent or
    /// `value` is empty.
    pub fn replace_value(&mut self, name: &str, value: &str) -> bool {
        if value.is_empty() {
            return false;
        }
        let (at, found) = self.find(name);
        if !found {
            return false;
        }
        let Some(old) = self.get_at(&at) else {
            return false;
        };
        if old == value {
            return true;
        }
        // The value is the last `old.len()` bytes of the label's encoding.
        let value_start = at.end - old.len();
        if old.len() == value.len() {
            if let Some(buf) = Arc::get_mut(&mut self.0) {
                // Same length, same prefix: the buffer stays a sequence of encoded `&str`s.
                buf[value_start..at.end].copy_from_slice(value.as_bytes());
                return true;
            }
        }
        *self = self.with_pair(name, value);
        true
    }

    /// A builder starting from these labels.
    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            base: self.clone(),
            set: Vec::new(),
        }
    }
}

impl fmt::Display for Labels {
    /// Formats as Prometheus does in messages: `{a="1", b="2"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if is_legacy_name(l.name) {
                f.write_str(l.name)?;
            } else {
                write_quoted(f, l.name)?;
            }
            f.write_str("=")?;
            write_quoted(f, l.value)?;
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
    type Item = LabelRef<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
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
///
/// Holds the starting set unchanged plus the edits (as Prometheus's `labels.Builder` does), so
/// starting a builder copies nothing; [`build`](Self::build) merges them in one pass.
#[derive(Debug, Clone, Default)]
pub struct LabelsBuilder {
    base: Labels,
    /// Edits, sorted by name without duplicates; an empty value deletes the name.
    set: Vec<Label>,
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
        match self.set.binary_search_by(|l| (*l.name).cmp(name.as_ref())) {
            Ok(i) => self.set[i].value = value.into(),
            Err(i) => self.set.insert(i, Label::new(name, value)),
        }
        self
    }

    /// Sets a label reusing existing shared strings; an empty value deletes the label.
    pub fn set_label(&mut self, label: Label) -> &mut Self {
        match self.set.binary_search_by(|l| l.name.cmp(&label.name)) {
            Ok(i) => self.set[i] = label,
            Err(i) => self.set.insert(i, label),
        }
        self
    }

    /// Removes label `name` if present.
    pub fn del(&mut self, name: &str) -> &mut Self {
        match self.set.binary_search_by(|l| (*l.name).cmp(name)) {
            Ok(i) if self.base.has(name) => self.set[i].value = Arc::from(""),
            Ok(i) => {
                self.set.remove(i);
            }
            Err(i) if self.base.has(name) => self.set.insert(i, Label::new(name, "")),
            Err(_) => {}
        }
        self
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self.set.binary_search_by(|l| (*l.name).cmp(name)) {
            Ok(i) => Some(&*self.set[i].value).filter(|v| !v.is_empty()),
            Err(_) => self.base.get(name),
        }
    }

    /// Keeps only labels whose names are in `names`.
    pub fn keep(&mut self, names: &[impl AsRef<str>]) -> &mut Self {
        self.base = self.base.keep(names);
        self.set
            .retain(|l| names.iter().any(|n| n.as_ref() == &*l.name));
        self
    }

    /// Finishes the label set: one allocation, none if there are no edits.
    pub fn build(self) -> Labels {
        self.base.edited(|_| true, &self.set)
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
            let keep = |x: LabelRef<'_>| !names.iter().any(|n| **n == *x.name);
            proptest::prop_assert_eq!(l.edited(keep, &set), b.build());
            // `copied`: `label_replace`'s copy from each listed name into `name`.
            for src in names.iter().chain([&name]) {
                let expected = (l.has(&name), l.get(src).map(|v| l.with_pair(&name, v)));
                proptest::prop_assert_eq!(l.copied(src, &name), expected, "{} -> {}", src, name);
            }
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
    fn replace_value_changes_present_labels_in_place_or_not() {
        let mut l = Labels::from_pairs([("a", "1"), ("b", "2")]);
        assert!(l.replace_value("b", "x"));
        assert_eq!(l.to_string(), r#"{a="1", b="x"}"#);
        assert!(!l.replace_value("c", "x"), "absent label");
        assert!(!l.replace_value("a", ""), "empty value");
        let shared = l.clone();
        assert!(l.replace_value("a", "x"), "shared set: copied");
        assert_eq!(shared.to_string(), r#"{a="1", b="x"}"#);
        assert_eq!(l.to_string(), r#"{a="x", b="x"}"#);
        assert!(l.replace_value("a", "a longer value"));
        assert_eq!(l.to_string(), r#"{a="a longer value", b="x"}"#);
        assert_eq!(l, Labels::from_pairs([("a", "a longer value"), ("b", "x")]));
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

    type Model = std::collections::BTreeMap<String, String>;

    fn pairs_of(l: &Labels) -> Vec<(String, String)> {
        l.iter()
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect()
    }

    fn from_model(m: &Model) -> Labels {
        Labels::from_pairs(m.iter().filter(|(_, v)| !v.is_empty()))
    }

    /// Names and values that share prefixes, are empty, multi-byte or past one-byte lengths.
    fn arb_text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[ab]{0,3}",
            "__name__|a|aa|b|é|\u{10348}",
            "[a-zé]{120,140}",
            proptest::string::string_regex(".{0,8}").unwrap(),
        ]
    }

    fn arb_model() -> impl proptest::strategy::Strategy<Value = Model> {
        proptest::collection::btree_map(arb_text(), arb_text(), 0..6)
    }

    proptest::proptest! {
        /// Encoding then iterating gives back the pairs, in name order, without empty values.
        #[test]
        fn encode_iterate_round_trip(m in arb_model(), probe in arb_text()) {
            let l = from_model(&m);
            proptest::prop_assert_eq!(
                l.get(&probe),
                m.get(&probe).map(String::as_str).filter(|v| !v.is_empty())
            );
            let want: Vec<(String, String)> =
                m.iter().filter(|(_, v)| !v.is_empty()).map(|(n, v)| (n.clone(), v.clone())).collect();
            proptest::prop_assert_eq!(pairs_of(&l), want.clone());
            proptest::prop_assert_eq!(l.len(), want.len());
            proptest::prop_assert_eq!(l.is_empty(), want.is_empty());
            for (n, v) in &want {
                proptest::prop_assert_eq!(l.get(n), Some(v.as_str()));
            }
            let sorted = Labels::from_sorted_pairs(want.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            proptest::prop_assert_eq!(&sorted, &l);
            let vec = Labels::from_vec(want.iter().rev().map(|(n, v)| Label::new(n.as_str(), v.as_str())).collect());
            proptest::prop_assert_eq!(&vec, &l);
        }

        /// `Ord` is the order of the equivalent sorted `Vec<(String, String)>`, and equality is
        /// equality of the pairs.
        #[test]
        fn ord_matches_the_vec_model(a in arb_model(), b in arb_model()) {
            let (la, lb) = (from_model(&a), from_model(&b));
            let (va, vb) = (pairs_of(&la), pairs_of(&lb));
            proptest::prop_assert_eq!(la.cmp(&lb), va.cmp(&vb));
            proptest::prop_assert_eq!(la == lb, va == vb);
            proptest::prop_assert_eq!(la.cmp(&la.clone()), std::cmp::Ordering::Equal);
        }

        /// Every editor gives what building from the edited pairs gives.
        #[test]
        fn editors_equal_building_from_pairs(
            m in arb_model(),
            name in arb_text(),
            value in arb_text(),
            names in proptest::collection::vec(arb_text(), 0..4),
            set in arb_model(),
        ) {
            let l = from_model(&m);
            let m: Model = m.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            let build = |m: &Model| from_model(m);

            let mut want = m.clone();
            want.insert(name.clone(), value.clone());
            proptest::prop_assert_eq!(l.with_pair(&name, &value), build(&want));
            proptest::prop_assert_eq!(l.with_label(Label::new(name.as_str(), value.as_str())), build(&want));

            let mut replaced = l.clone();
            let present = m.contains_key(&name) && !value.is_empty();
            proptest::prop_assert_eq!(replaced.replace_value(&name, &value), present);
            proptest::prop_assert_eq!(&replaced, &build(if present { &want } else { &m }));

            let mut want = m.clone();
            want.remove(&name);
            proptest::prop_assert_eq!(l.without_label(&name), build(&want));

            let want: Model = m.iter().filter(|(n, _)| names.contains(n)).map(|(n, v)| (n.clone(), v.clone())).collect();
            proptest::prop_assert_eq!(l.keep(&names), build(&want));

            let want: Model = m
                .iter()
                .filter(|(n, _)| *n != METRIC_NAME && !names.contains(n))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect();
            proptest::prop_assert_eq!(l.drop_names(&names), build(&want));

            let mut want = m.clone();
            want.remove(METRIC_NAME);
            proptest::prop_assert_eq!(l.without_metric_name(), build(&want));

            let keep = |x: LabelRef<'_>| !names.iter().any(|n| n == x.name);
            let want: Model = m.iter().filter(|(n, _)| !names.contains(n)).map(|(n, v)| (n.clone(), v.clone())).collect();
            proptest::prop_assert_eq!(l.filtered(keep), build(&want));

            let set_labels: Vec<Label> = set.iter().map(|(n, v)| Label::new(n.as_str(), v.as_str())).collect();
            let mut want: Model = m.iter().filter(|(n, _)| !names.contains(n)).map(|(n, v)| (n.clone(), v.clone())).collect();
            for (n, v) in &set {
                want.insert(n.clone(), v.clone());
            }
            proptest::prop_assert_eq!(l.edited(keep, &set_labels), build(&want));
            let set_refs: Vec<LabelRef<'_>> = set_labels.iter().map(Label::as_ref).collect();
            proptest::prop_assert_eq!(l.edited(keep, &set_refs), build(&want));

            let mut b = l.builder();
            let mut want = m.clone();
            for (n, v) in &set {
                b.set(n.as_str(), v.as_str());
                want.insert(n.clone(), v.clone());
                proptest::prop_assert_eq!(b.get(n), Some(v.as_str()).filter(|v| !v.is_empty()));
            }
            b.del(&name);
            want.remove(&name);
            proptest::prop_assert_eq!(b.get(&name), None);
            b.keep(&names);
            want.retain(|n, _| names.contains(n));
            proptest::prop_assert_eq!(b.build(), build(&want));

            proptest::prop_assert_eq!(l.stable_hash(), build(&m).stable_hash());
            // Sets built by different editors hash alike exactly when they are equal.
            let edited = l.edited(keep, &set_labels);
            let built = build(&want_edited(&m, &names, &set));
            proptest::prop_assert_eq!(edited.table_hash(), built.table_hash());
            proptest::prop_assert_eq!(l.with_pair(&name, &value).table_hash(), {
                let mut w = m.clone();
                w.insert(name.clone(), value.clone());
                build(&w).table_hash()
            });
            if l != edited {
                proptest::prop_assert_ne!(l.table_hash(), edited.table_hash());
            }
        }
    }

    /// `m` without `names`, with `set` merged in (an empty value removes the name).
    fn want_edited(m: &Model, names: &[String], set: &Model) -> Model {
        let mut want: Model = m
            .iter()
            .filter(|(n, _)| !names.contains(n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        for (n, v) in set {
            want.insert(n.clone(), v.clone());
        }
        want
    }

    #[test]
    fn long_strings_take_multi_byte_lengths() {
        let long = "v".repeat(300);
        let l = Labels::from_pairs([("a", long.as_str()), ("b", "1")]);
        assert_eq!(l.get("a"), Some(long.as_str()));
        assert_eq!(l.get("b"), Some("1"));
        assert_eq!(l.encoded_len(), 1 + 1 + 2 + 300 + 1 + 1 + 1 + 1);
    }
}
