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
