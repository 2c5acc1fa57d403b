//! [`Db`]: a storage database wired to a PromQL engine, with listing helpers.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promlite_eval::{CancelToken, Engine, EngineOptions, QueryOutput};
use promlite_model::{Labels, Matcher, Queryable, SelectHints, Timestamp};
use promlite_storage::SeriesRef;

use crate::{Error, Result};

/// Options for [`Db::open`]: the storage engine's and the query engine's.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Storage options (WAL sync policy, block range, retention, ...).
    pub storage: promlite_storage::Options,
    /// Query engine options (lookback delta, sample limit, timeout, parallelism).
    pub engine: EngineOptions,
}

impl Options {
    /// These options with a PromQL `extension` turned on (all are off by default, so answers
    /// stay Prometheus's): `Options::default().with_extension(Extension::KubePodWorkload)`
    /// answers `kube_pod_workload{...}` with each pod's workload
    /// (docs/extensions/kube_pod_workload.md).
    ///
    /// ```
    /// use promlite::{Db, Extension, Labels, Options, Value};
    ///
    /// let db = Db::in_memory_with(Options::default().with_extension(Extension::KubePodWorkload));
    /// let mut app = db.appender();
    /// let pod = Labels::from_pairs([
    ///     ("__name__", "kube_pod_owner"), ("namespace", "shop"), ("pod", "api-7d9-x2"),
    ///     ("owner_kind", "ReplicaSet"), ("owner_name", "api-7d9"),
    /// ]);
    /// let replicaset = Labels::from_pairs([
    ///     ("__name__", "kube_replicaset_owner"), ("namespace", "shop"), ("replicaset", "api-7d9"),
    ///     ("owner_kind", "Deployment"), ("owner_name", "api"),
    /// ]);
    /// app.append(&pod, 0, 1.0)?;
    /// app.append(&replicaset, 0, 1.0)?;
    /// app.commit()?;
    ///
    /// let out = db.query("kube_pod_workload", 10_000)?;
    /// let Value::Vector(rows) = out.value else { unreachable!("a selector returns a vector") };
    /// assert_eq!(rows.len(), 1);
    /// assert_eq!(rows[0].labels.get("workload"), Some("api"));
    /// assert_eq!(rows[0].labels.get("workload_type"), Some("deployment"));
    /// # Ok::<(), promlite::Error>(())
    /// ```
    pub fn with_extension(mut self, extension: crate::Extension) -> Options {
        self.engine.enable(extension);
        self
    }
}

/// Per-query overrides of the engine's limits (the HTTP API's `timeout` parameter and the
/// server's sample limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// Wall-clock limit for this query; `None` keeps the engine's.
    pub timeout: Option<Duration>,
    /// Maximum samples this query may hold at once; `None` keeps the engine's.
    pub max_samples: Option<usize>,
    /// Record the evaluator's decisions per node in [`QueryOutput::explain`].
    pub explain: bool,
}

/// A promlite database: storage plus a PromQL engine. Cloning is cheap (an `Arc`); clones
/// share the database and may be used from many threads at once.
#[derive(Debug, Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    storage: promlite_storage::Db,
    engine: Engine,
    /// `Some` for a read-only database: when reads last checked the directory for changes.
    refresh: Option<Mutex<RefreshState>>,
}

/// How a read-only database keeps its view current.
#[derive(Debug)]
struct RefreshState {
    /// Reads check the directory for changes at most this often.
    interval: Duration,
    last_check: Instant,
}

/// How often, by default, reads of a read-only database check the directory for changes
/// ([`Db::set_refresh_interval`]).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

impl Db {
    /// Opens (creating if needed) the data directory `dir`. Fails if another process or handle
    /// holds it, or if its blocks or WAL are corrupt.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Db> {
        let storage = promlite_storage::Db::open(dir, options.storage)?;
        Ok(Db::from_parts(storage, options.engine))
    }

    /// Opens the data directory `dir` read-only, beside a writer (another process's `serve` or
    /// `replay`, or a [`Db::open`] in this one) and any number of other readers. It sees
    /// everything durable at open; afterwards every query, series or label listing first
    /// checks (at most once per [`DEFAULT_REFRESH_INTERVAL`], see
    /// [`set_refresh_interval`](Self::set_refresh_interval)) whether the directory changed and
    /// if so loads the new state. The directory is never changed: appends and
    /// [`flush`](Self::flush) fail with a read-only error (see
    /// [`promlite_storage::Db::open_read_only`]).
    pub fn open_read_only(dir: impl AsRef<Path>, options: Options) -> Result<Db> {
        let storage = promlite_storage::Db::open_read_only(dir, options.storage)?;
        let mut db = Db::from_parts(storage, options.engine);
        if let Some(inner) = Arc::get_mut(&mut db.inner) {
            inner.refresh = Some(Mutex::new(RefreshState {
                interval: DEFAULT_REFRESH_INTERVAL,
                last_check: Instant::now(),
            }));
        }
        Ok(db)
    }

    /// True for a database opened with [`Db::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.inner.storage.is_read_only()
    }

    /// Sets how often reads of a read-only database check its directory for changes
    /// (`Duration::ZERO`: before every read). No effect on a writable database.
    pub fn set_refresh_interval(&self, interval: Duration) {
        if let Some(state) = &self.inner.refresh {
            state.lock().unwrap_or_else(|e| e.into_inner()).interval = interval;
        }
    }

    /// For a read-only database: loads what the writer changed since the last load, now.
    /// Returns whether anything changed. A no-op returning `false` for a writable database.
    pub fn refresh(&self) -> Result<bool> {
        if let Some(state) = &self.inner.refresh {
            state.lock().unwrap_or_else(|e| e.into_inner()).last_check = Instant::now();
        }
        Ok(self.inner.storage.refresh()?)
    }

    /// Before a read of a read-only database: refreshes if the interval has passed.
    pub(crate) fn refresh_if_due(&self) -> Result<()> {
        let Some(state) = &self.inner.refresh else {
            return Ok(());
        };
        {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            if state.last_check.elapsed() < state.interval {
                return Ok(());
            }
            state.last_check = Instant::now();
        }
        self.inner.storage.refresh()?;
        Ok(())
    }

    /// A database held only in memory, with default options: nothing is written to disk.
    pub fn in_memory() -> Db {
        Db::in_memory_with(Options::default())
    }

    /// A database held only in memory, with `options` (the storage part's persistence settings
    /// are ignored).
    pub fn in_memory_with(options: Options) -> Db {
        Db::from_parts(
            promlite_storage::Db::open_in_memory(options.storage),
            options.engine,
        )
    }

    fn from_parts(storage: promlite_storage::Db, engine: EngineOptions) -> Db {
        Db {
            inner: Arc::new(Inner {
                storage,
                engine: Engine::new(engine),
                refresh: None,
            }),
        }
    }

    /// The storage engine underneath (statistics, blocks, direct [`Queryable`] access).
    pub fn storage(&self) -> &promlite_storage::Db {
        &self.inner.storage
    }

    /// The query engine's options.
    pub fn engine_options(&self) -> &EngineOptions {
        self.inner.engine.options()
    }

    /// A new appender. Samples become visible (and are written to the WAL) on
    /// [`Appender::commit`]. Appenders are independent; commits are serialised.
    pub fn appender(&self) -> Appender {
        Appender {
            inner: self.inner.storage.appender(),
        }
    }

    /// A storage appender (replay feeds it directly, with its own error handling).
    pub(crate) fn appender_raw(&self) -> promlite_storage::Appender {
        self.inner.storage.appender()
    }

    /// Evaluates the PromQL `expr` at `time` (milliseconds since the epoch).
    pub fn query(&self, expr: &str, time: Timestamp) -> Result<QueryOutput> {
        self.query_with(expr, time, &QueryOptions::default())
    }

    /// [`query`](Self::query) with per-query limits.
    pub fn query_with(
        &self,
        expr: &str,
        time: Timestamp,
        options: &QueryOptions,
    ) -> Result<QueryOutput> {
        self.refresh_if_due()?;
        let engine = self.engine_for(options);
        Ok(engine.instant_query(&self.inner.storage, expr, time)?)
    }

    /// Evaluates `expr` at every `step` from `start` to `end` inclusive (milliseconds). The
    /// result is a matrix (one series per output series).
    pub fn query_range(
        &self,
        expr: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
    ) -> Result<QueryOutput> {
        self.query_range_with(expr, start, end, step, &QueryOptions::default())
    }

    /// [`query_range`](Self::query_range) with per-query limits.
    pub fn query_range_with(
        &self,
        expr: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
        options: &QueryOptions,
    ) -> Result<QueryOutput> {
        let step_ms = i64::try_from(step.as_millis())
            .map_err(|_| Error::InvalidArgument(format!("step {step:?} is too large")))?;
        self.refresh_if_due()?;
        let engine = self.engine_for(options);
        Ok(engine.range_query(&self.inner.storage, expr, start, end, step_ms)?)
    }

    /// [`query_with`](Self::query_with) that stops with a `canceled` error once `cancel` is
    /// cancelled (the HTTP server cancels when the client closes its connection).
    pub fn query_cancellable(
        &self,
        expr: &str,
        time: Timestamp,
        options: &QueryOptions,
        cancel: &CancelToken,
    ) -> Result<QueryOutput> {
        self.refresh_if_due()?;
        let engine = self.engine_for(options);
        Ok(engine.instant_query_with_cancel(&self.inner.storage, expr, time, cancel)?)
    }

    /// [`query_range_with`](Self::query_range_with) that stops with a `canceled` error once
    /// `cancel` is cancelled.
    pub fn query_range_cancellable(
        &self,
        expr: &str,
        start: Timestamp,
        end: Timestamp,
        step: Duration,
        options: &QueryOptions,
        cancel: &CancelToken,
    ) -> Result<QueryOutput> {
        let step_ms = i64::try_from(step.as_millis())
            .map_err(|_| Error::InvalidArgument(format!("step {step:?} is too large")))?;
        self.refresh_if_due()?;
        let engine = self.engine_for(options);
        Ok(engine.range_query_with_cancel(
            &self.inner.storage,
            expr,
            start,
            end,
            step_ms,
            cancel,
        )?)
    }

    /// The engine to use for one query: the shared one, or a copy with overridden limits
    /// (an `Engine` holds only options, so the copy is cheap).
    fn engine_for(&self, options: &QueryOptions) -> std::borrow::Cow<'_, Engine> {
        if options.timeout.is_none() && options.max_samples.is_none() && !options.explain {
            return std::borrow::Cow::Borrowed(&self.inner.engine);
        }
        let mut engine_options = self.inner.engine.options().clone();
        if let Some(timeout) = options.timeout {
            engine_options.timeout = timeout;
        }
        if let Some(max_samples) = options.max_samples {
            engine_options.max_samples = max_samples;
        }
        engine_options.explain |= options.explain;
        std::borrow::Cow::Owned(Engine::new(engine_options))
    }

    /// Label sets of the series that match any of the `selectors` (series selectors such as
    /// `up{job="api"}`) and have data between `start` and `end`, sorted and deduplicated.
    pub fn series(
        &self,
        selectors: &[&str],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<Labels>> {
        let sets = parse_selectors(selectors)?;
        self.refresh_if_due()?;
        let querier = self
            .inner
            .storage
            .querier(start, end)
            .map_err(promlite_eval::Error::from)?;
        let hints = SelectHints {
            start,
            end,
            func: Some("series".to_string()),
            ..SelectHints::default()
        };
        let mut out = BTreeSet::new();
        for matchers in &sets {
            for series in querier
                .select(&hints, matchers)
                .map_err(promlite_eval::Error::from)?
            {
                out.insert(series.labels);
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Label names present on series matching any of `selectors` (all series if empty) between
    /// `start` and `end`, sorted.
    pub fn label_names(
        &self,
        selectors: &[&str],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<String>> {
        self.union_listing(selectors, start, end, |querier, matchers| {
            querier.label_names(matchers)
        })
    }

    /// Values of label `name` on series matching any of `selectors` (all series if empty)
    /// between `start` and `end`, sorted.
    pub fn label_values(
        &self,
        name: &str,
        selectors: &[&str],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<String>> {
        self.union_listing(selectors, start, end, |querier, matchers| {
            querier.label_values(name, matchers)
        })
    }

    /// Runs a listing per selector (or once with no matchers) and merges the sorted results.
    fn union_listing(
        &self,
        selectors: &[&str],
        start: Timestamp,
        end: Timestamp,
        list: impl Fn(&dyn promlite_model::Querier, &[Matcher]) -> promlite_model::Result<Vec<String>>,
    ) -> Result<Vec<String>> {
        let sets = parse_selectors(selectors)?;
        self.refresh_if_due()?;
        let querier = self
            .inner
            .storage
            .querier(start, end)
            .map_err(promlite_eval::Error::from)?;
        if sets.is_empty() {
            return Ok(list(querier.as_ref(), &[]).map_err(promlite_eval::Error::from)?);
        }
        let mut out = BTreeSet::new();
        for matchers in &sets {
            out.extend(list(querier.as_ref(), matchers).map_err(promlite_eval::Error::from)?);
        }
        Ok(out.into_iter().collect())
    }

    /// Persists everything in memory into compacted blocks and truncates the WAL: afterwards
    /// the data directory holds the data in block form. Returns the number of blocks written
    /// (zero in memory mode).
    pub fn flush(&self) -> Result<usize> {
        Ok(self.inner.storage.compact_all()?)
    }

    /// The inclusive time range of all stored samples (blocks and head), `None` when empty.
    pub fn time_range(&self) -> Option<(Timestamp, Timestamp)> {
        // A failed refresh keeps the previous view; the next query reports the error.
        let _ = self.refresh_if_due();
        let head = self.inner.storage.head_stats();
        let mut range = (head.min_t <= head.max_t).then_some((head.min_t, head.max_t));
        for (_, min_t, max_t) in self.inner.storage.blocks() {
            range = Some(match range {
                Some((lo, hi)) => (lo.min(min_t), hi.max(max_t)),
                None => (min_t, max_t),
            });
        }
        range
    }

    /// Fsyncs the WAL so every committed sample survives a power loss.
    pub fn sync(&self) -> Result<()> {
        Ok(self.inner.storage.sync()?)
    }
}

/// Parses `query` and prints it back in promlite's canonical form (Prometheus's
/// `/api/v1/format_query`): `sum(up)by(job)` becomes `sum by (job) (up)`.
pub fn format_query(query: &str) -> Result<String> {
    let expr = promlite_promql::parse(query).map_err(promlite_eval::Error::from)?;
    Ok(expr.to_string())
}

/// Parses series selectors into matcher sets.
pub fn parse_selectors(selectors: &[&str]) -> Result<Vec<Vec<Matcher>>> {
    selectors.iter().map(|s| parse_selector(s)).collect()
}

/// Parses one series selector (`up{job="api"}`, `{__name__=~"kube_.*"}`) into its matchers.
pub fn parse_selector(selector: &str) -> Result<Vec<Matcher>> {
    match promlite_promql::parse(selector) {
        Ok(promlite_promql::Expr::VectorSelector(vs)) => Ok(vs.matchers),
        Ok(_) => Err(Error::NotASelector {
            selector: selector.to_string(),
        }),
        Err(source) => Err(Error::Selector {
            selector: selector.to_string(),
            source,
        }),
    }
}

/// Buffers samples for one commit. Obtained from [`Db::appender`]; dropping it discards
/// uncommitted samples.
#[derive(Debug)]
pub struct Appender {
    pub(crate) inner: promlite_storage::Appender,
}

impl Appender {
    /// Appends a sample to the series with `labels` (created if new) and returns the series'
    /// ref for the faster [`append_ref`](Self::append_ref). A sample must be newer than the
    /// series' newest one.
    pub fn append(&mut self, labels: &Labels, t: Timestamp, v: f64) -> Result<SeriesRef> {
        Ok(self.inner.append(labels, t, v)?)
    }

    /// Appends a sample to a series by the ref [`append`](Self::append) returned.
    pub fn append_ref(&mut self, series: SeriesRef, t: Timestamp, v: f64) -> Result<()> {
        Ok(self.inner.append_ref(series, t, v)?)
    }

    /// Number of samples waiting for [`commit`](Self::commit).
    pub fn pending(&self) -> usize {
        self.inner.pending()
    }

    /// Writes the pending samples to the WAL and makes them visible to queries. Returns the
    /// number of samples stored.
    pub fn commit(&mut self) -> Result<u64> {
        Ok(self.inner.commit()?.appended)
    }

    /// Discards the pending samples.
    pub fn rollback(&mut self) {
        self.inner.rollback();
    }
}
