//! Metric metadata (HELP/TYPE/UNIT) on the facade: what ingest paths hand to storage and what
//! `/api/v1/metadata` reads back. The rule (one entry per metric family name, the latest
//! ingested wins) is storage's, see [`promlite_storage::metadata`].

use promlite_expfmt::FamilyMetadata;
pub use promlite_storage::metadata::{MetadataMap, MetricMetadata};

use crate::{Appender, Db};

/// Storage's form of what exposition text declared for a family.
pub fn to_storage(family: &FamilyMetadata) -> MetricMetadata {
    MetricMetadata {
        metric_type: family.metric_type.as_str().to_string(),
        help: family.help.clone(),
        unit: family.unit.clone(),
    }
}

impl Db {
    /// The stored metric metadata by family name (blocks, then the head; latest wins). A
    /// read-only database refreshes first when its interval has passed, as queries do.
    pub fn metadata(&self) -> crate::Result<MetadataMap> {
        self.refresh_if_due()?;
        Ok(self.storage().metadata())
    }
}

impl Appender {
    /// Stores `metadata` for the family `metric` with the next commit (replacing what is
    /// stored for that name; an unchanged entry costs nothing).
    pub fn set_metadata(&mut self, metric: &str, metadata: MetricMetadata) {
        self.inner.set_metadata(metric, metadata);
    }
}
