//! Where rules read from and write to: the [`RuleStorage`] seam, and [`CheckedMemStore`], an
//! in-memory implementation that rejects out-of-order and conflicting samples as Prometheus's
//! head does (used by rule unit tests).

use std::collections::HashMap;
use std::sync::Mutex;

use promlite_model::storage::MemStore;
use promlite_model::{Labels, Queryable, Sample, Timestamp};

/// Why one sample was not stored, worded as Prometheus's storage errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// Older than the series' newest sample.
    #[error("out of order sample")]
    OutOfOrder,
    /// Same timestamp as the newest sample with another value.
    #[error("duplicate sample for timestamp")]
    Duplicate,
    /// Anything else the storage reports.
    #[error("{0}")]
    Other(String),
}

/// A store rules query and write their results into.
pub trait RuleStorage: Send + Sync {
    /// What rule expressions are evaluated against.
    fn queryable(&self) -> &dyn Queryable;
    /// Appends one rule evaluation's output as one commit. Returns the outcome of each sample
    /// (in order); `Err` if the commit itself failed (then nothing was stored).
    fn append_batch(
        &self,
        samples: &[(Labels, Timestamp, f64)],
    ) -> Result<Vec<Result<(), AppendError>>, AppendError>;
}

/// [`MemStore`] with Prometheus's append checks: a sample older than its series' newest is
/// out of order; one at the newest timestamp with different bits is a duplicate; a bitwise
/// repeat is accepted and ignored.
#[derive(Debug, Default)]
pub struct CheckedMemStore {
    store: MemStore,
    newest: Mutex<HashMap<Labels, (Timestamp, u64)>>,
}

impl CheckedMemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The underlying store (for loading input data).
    pub fn store(&self) -> &MemStore {
        &self.store
    }

    /// Appends one sample with the checks.
    pub fn append(&self, labels: &Labels, t: Timestamp, v: f64) -> Result<(), AppendError> {
        let mut newest = self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&(last_t, last_bits)) = newest.get(labels) {
            if t < last_t {
                return Err(AppendError::OutOfOrder);
            }
            if t == last_t {
                if last_bits == v.to_bits() {
                    return Ok(());
                }
                return Err(AppendError::Duplicate);
            }
        }
        newest.insert(labels.clone(), (t, v.to_bits()));
        self.store.add(labels.clone(), Sample::new(t, v));
        Ok(())
    }
}

impl RuleStorage for CheckedMemStore {
    fn queryable(&self) -> &dyn Queryable {
        &self.store
    }

    fn append_batch(
        &self,
        samples: &[(Labels, Timestamp, f64)],
    ) -> Result<Vec<Result<(), AppendError>>, AppendError> {
        Ok(samples
            .iter()
            .map(|(labels, t, v)| self.append(labels, *t, *v))
            .collect())
    }
}

/// A read view over `base` (stored data) plus rule results kept in memory, for offline
/// evaluation (backfill) where results cannot go into the store being read. A series present in
/// both is read from `base` (rule results then only add series the base lacks).
pub struct OverlayStorage<'a> {
    base: &'a dyn Queryable,
    recorded: CheckedMemStore,
}

impl std::fmt::Debug for OverlayStorage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverlayStorage").finish_non_exhaustive()
    }
}

impl<'a> OverlayStorage<'a> {
    /// An overlay over `base` with no rule results yet.
    pub fn new(base: &'a dyn Queryable) -> Self {
        OverlayStorage {
            base,
            recorded: CheckedMemStore::new(),
        }
    }

    /// The rule results written so far.
    pub fn recorded(&self) -> &CheckedMemStore {
        &self.recorded
    }
}

struct OverlayQuerier {
    base: Box<dyn promlite_model::Querier>,
    recorded: Box<dyn promlite_model::Querier>,
}

fn merge_sorted(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    let mut all: Vec<String> = a.into_iter().chain(b).collect();
    all.sort();
    all.dedup();
    all
}

impl promlite_model::Querier for OverlayQuerier {
    fn select(
        &self,
        hints: &promlite_model::SelectHints,
        matchers: &[promlite_model::Matcher],
    ) -> promlite_model::Result<Vec<promlite_model::storage::Series>> {
        let base = self.base.select(hints, matchers)?;
        let recorded = self.recorded.select(hints, matchers)?;
        if recorded.is_empty() {
            return Ok(base);
        }
        // Both lists are sorted by labels; merge them, preferring the base on equal labels.
        let mut out = Vec::with_capacity(base.len() + recorded.len());
        let mut base = base.into_iter().peekable();
        let mut recorded = recorded.into_iter().peekable();
        loop {
            let take_base = match (base.peek(), recorded.peek()) {
                (Some(b), Some(r)) => match b.labels.cmp(&r.labels) {
                    std::cmp::Ordering::Less => true,
                    std::cmp::Ordering::Greater => false,
                    std::cmp::Ordering::Equal => {
                        recorded.next();
                        true
                    }
                },
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_base {
                base.next()
            } else {
                recorded.next()
            };
            out.extend(next);
        }
        Ok(out)
    }

    fn estimate_series(
        &self,
        matchers: &[promlite_model::Matcher],
    ) -> promlite_model::Result<Option<u64>> {
        // Recorded series shadow equal base series, so the sum may count some twice: an
        // estimate may.
        let base = self.base.estimate_series(matchers)?;
        let recorded = self.recorded.estimate_series(matchers)?;
        Ok(base.zip(recorded).map(|(b, r)| b.saturating_add(r)))
    }

    fn label_names(
        &self,
        matchers: &[promlite_model::Matcher],
    ) -> promlite_model::Result<Vec<String>> {
        Ok(merge_sorted(
            self.base.label_names(matchers)?,
            self.recorded.label_names(matchers)?,
        ))
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[promlite_model::Matcher],
    ) -> promlite_model::Result<Vec<String>> {
        Ok(merge_sorted(
            self.base.label_values(name, matchers)?,
            self.recorded.label_values(name, matchers)?,
        ))
    }
}

impl Queryable for OverlayStorage<'_> {
    fn querier(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
    ) -> promlite_model::Result<Box<dyn promlite_model::Querier>> {
        Ok(Box::new(OverlayQuerier {
            base: self.base.querier(mint, maxt)?,
            recorded: self.recorded.store.querier(mint, maxt)?,
        }))
    }
}

impl RuleStorage for OverlayStorage<'_> {
    fn queryable(&self) -> &dyn Queryable {
        self
    }

    fn append_batch(
        &self,
        samples: &[(Labels, Timestamp, f64)],
    ) -> Result<Vec<Result<(), AppendError>>, AppendError> {
        self.recorded.append_batch(samples)
    }
}

impl CheckedMemStore {
    /// Every stored series with its samples in time order, sorted by labels.
    pub fn series(&self) -> Vec<(Labels, Vec<Sample>)> {
        let Ok(querier) = self.store.querier(Timestamp::MIN / 4, Timestamp::MAX / 4) else {
            return Vec::new();
        };
        let names = querier.label_values("__name__", &[]).unwrap_or_default();
        let mut out = Vec::new();
        for name in names {
            let hints = promlite_model::SelectHints {
                start: Timestamp::MIN / 4,
                end: Timestamp::MAX / 4,
                ..Default::default()
            };
            let matcher = promlite_model::Matcher::equal("__name__", name);
            for mut series in querier.select(&hints, &[matcher]).unwrap_or_default() {
                let mut samples = Vec::new();
                while let Ok(Some(s)) = series.samples.next() {
                    samples.push(s);
                }
                out.push((series.labels, samples));
            }
        }
        out
    }
}
