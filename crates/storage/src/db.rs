//! The database: a data directory with a head (plus its WAL), persisted blocks, compaction and
//! retention, behind one cheap-to-clone handle. One writer (commits are serialised) and many
//! concurrent readers.
//!
//! Directory layout:
//!
//! ```text
//! <dir>/lock          advisory lock (flock) held while a Db is open
//! <dir>/wal/00000001  WAL segments, checkpoint.NNNNNNNN (see docs/format/wal.md)
//! <dir>/<block>/      immutable blocks (see docs/format/block.md)
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::indexing_slicing))]

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, Weak};
use std::time::Duration;

use promlite_model::Timestamp;

use crate::head::{Appender, Head, HeadStats};
use crate::io::{FileSystem, SharedFs};
use crate::reader::BlockReader;
use crate::wal::bounds::write_bounds;
use crate::wal::log::{WalSync, WalWriter, DEFAULT_SEGMENT_SIZE};
use crate::wal::record::RecordEncoder;
use crate::wal::replay::{replay, ReplayReport};
use crate::{Error, Result};

/// Two hours in milliseconds: the default block range, as Prometheus.
pub const DEFAULT_BLOCK_RANGE: i64 = 2 * 60 * 60 * 1000;

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "lock";

/// Options for [`Db::open`].
#[derive(Debug, Clone)]
pub struct Options {
    /// fsync policy of the WAL (see [`WalSync`]). Default [`crate::wal::DEFAULT_WAL_SYNC`],
    /// `Interval(1 s)`, the same as `WalSync::default()`; with `Interval`, a background thread
    /// syncs commits an idle writer left behind.
    pub wal_sync: WalSync,
    /// A new WAL segment is started when a commit would make the current one larger than this.
    pub wal_segment_size: u64,
    /// Width in milliseconds of the aligned time ranges blocks cover (and head chunks are cut
    /// at). Default two hours.
    pub block_range: i64,
    /// Compact automatically after a commit once the head spans more than 1.5 block ranges.
    pub auto_compact: bool,
    /// Delete blocks whose newest sample is older than this (relative to the newest sample in
    /// the database), like Prometheus's `storage.tsdb.retention.time`. `None`: keep forever.
    pub retention_time: Option<Duration>,
    /// Delete the oldest blocks while blocks plus WAL take more than this many bytes, like
    /// Prometheus's `storage.tsdb.retention.size`. `None`: no limit.
    pub retention_size: Option<u64>,
    /// On WAL corruption (a bad frame before the newest segment's tail), truncate the log at the
    /// bad frame and open anyway, reporting what was dropped in [`Db::replay_report`]. Default
    /// false: opening fails with [`Error::Corruption`] and nothing on disk is changed.
    pub wal_repair: bool,
    /// Metrics whose series get an owner index of value runs, kept at ingest (see
    /// [`crate::owner`]). Default [`crate::owner::DEFAULT_OWNER_INDEX_METRICS`]; empty turns the
    /// index off.
    pub owner_index_metrics: Vec<String>,
    /// A gap longer than this (milliseconds) between two samples of an indexed series starts a
    /// new run; queries whose lookback delta is shorter than a run's largest gap fall back to
    /// decoding samples. Default five minutes, Prometheus's default lookback.
    pub owner_index_split_gap: i64,
    /// Also index every other series while its values stay constant for long runs (at most a
    /// few runs, or at least eight samples per run on average), detected at ingest in the head
    /// and per metric when a block's runs are built: decode-free joins for any info-like
    /// series. `owner_index_metrics` stay indexed regardless. Default off.
    pub owner_index_detect: bool,
    /// The file system every file operation goes through. Default [`crate::io::RealFs`]; tests
    /// pass a [`crate::io::FaultFs`].
    pub fs: SharedFs,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            wal_sync: WalSync::default(),
            wal_segment_size: DEFAULT_SEGMENT_SIZE,
            block_range: DEFAULT_BLOCK_RANGE,
            auto_compact: true,
            retention_time: None,
            retention_size: None,
            wal_repair: false,
            owner_index_metrics: crate::owner::DEFAULT_OWNER_INDEX_METRICS
                .iter()
                .map(|m| m.to_string())
                .collect(),
            owner_index_split_gap: crate::owner::DEFAULT_OWNER_INDEX_SPLIT_GAP,
            owner_index_detect: false,
            fs: crate::io::real(),
        }
    }
}

/// The WAL writer and its encoding buffers; the mutex around it is the commit lock.
#[derive(Debug)]
pub(crate) struct WalState {
    pub(crate) writer: WalWriter,
    pub(crate) enc: RecordEncoder,
    /// What `wal/bounds` holds; every rewrite of the file goes through here, under this lock.
    pub(crate) bounds: crate::wal::WalBounds,
}

/// A persisted block as the database tracks it.
#[derive(Clone)]
pub(crate) struct LoadedBlock {
    pub(crate) reader: Arc<dyn BlockReader>,
    /// The block's id (its directory name).
    pub(crate) id: crate::block::BlockId,
    /// Compaction level from its meta (1: cut from the head or backfilled).
    pub(crate) level: u32,
    /// Blocks this one replaces (its meta's compaction sources).
    pub(crate) sources: Vec<crate::block::BlockId>,
    pub(crate) dir: PathBuf,
    pub(crate) min_t: Timestamp,
    pub(crate) max_t: Timestamp,
    pub(crate) size_bytes: u64,
    /// The owner index's runs for this block, built on first use.
    pub(crate) runs: Arc<crate::owner::BlockRunsCell>,
    /// The block's metric metadata.
    pub(crate) metadata: Arc<crate::metadata::MetadataMap>,
}

impl std::fmt::Debug for LoadedBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedBlock")
            .field("dir", &self.dir)
            .field("min_t", &self.min_t)
            .field("max_t", &self.max_t)
            .finish_non_exhaustive()
    }
}

/// State shared by the handle, appenders and queriers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) head: Head,
    /// `None` in memory mode. Held for a whole commit (WAL write and head apply).
    wal: Mutex<Option<WalState>>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) opts: Options,
    /// Sorted by `min_t`. Readers take this lock before the head's (see the querier).
    pub(crate) blocks: RwLock<Vec<LoadedBlock>>,
    /// Serialises compactions and retention.
    pub(crate) compact_lock: Mutex<()>,
    /// Holds the flock; released when the last handle drops.
    _lock_file: Option<Box<dyn Any + Send + Sync>>,
    replay: ReplayReport,
    /// `Some` for a database opened with [`Db::open_read_only`]: every write fails with
    /// [`Error::ReadOnly`] and nothing in the directory is ever changed.
    pub(crate) read_only: Option<crate::readonly::ReadOnlyState>,
}

impl Shared {
    pub(crate) fn lock_wal(&self) -> MutexGuard<'_, Option<WalState>> {
        self.wal.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn read_blocks(&self) -> RwLockReadGuard<'_, Vec<LoadedBlock>> {
        self.blocks.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The state of a database opened read-only on `dir` (see [`crate::readonly`]).
    pub(crate) fn read_only(
        head: Head,
        dir: PathBuf,
        opts: Options,
        blocks: Vec<LoadedBlock>,
        replay: ReplayReport,
        state: crate::readonly::ReadOnlyState,
    ) -> Shared {
        Shared {
            head,
            wal: Mutex::new(None),
            dir: Some(dir),
            opts,
            blocks: RwLock::new(blocks),
            compact_lock: Mutex::new(()),
            _lock_file: None,
            replay,
            read_only: Some(state),
        }
    }

    /// Fails with [`Error::ReadOnly`] for a read-only database.
    pub(crate) fn check_writable(&self) -> Result<()> {
        match self.read_only {
            Some(_) => Err(crate::readonly::read_only_error(self)),
            None => Ok(()),
        }
    }

    /// Runs a compaction if one is due and automatic compaction is on.
    pub(crate) fn after_commit(self: &Arc<Self>) -> Result<()> {
        if !self.opts.auto_compact || self.dir.is_none() || self.read_only.is_some() {
            return Ok(());
        }
        if crate::compact::compaction_due(self) {
            crate::compact::compact(self, false)?;
        }
        Ok(())
    }
}

/// A promlite database. Cloning is cheap and shares the database.
///
/// ```
/// use promlite_model::{Labels, Matcher, Queryable, SelectHints};
/// use promlite_storage::{Db, Options};
///
/// let db = Db::open_in_memory(Options::default());
/// let mut app = db.appender();
/// let labels = Labels::from_pairs([("__name__", "up"), ("job", "node")]);
/// let series = app.append(&labels, 1_000, 1.0).unwrap();
/// app.append_ref(series, 2_000, 0.0).unwrap();
/// app.commit().unwrap();
///
/// let q = db.querier(0, 10_000).unwrap();
/// let mut found = q.select(&SelectHints::default(), &[Matcher::equal("job", "node")]).unwrap();
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].labels, labels);
/// assert_eq!(found[0].samples.next().unwrap().map(|s| s.v), Some(1.0));
/// ```
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) shared: Arc<Shared>,
}

impl Db {
    /// A database held only in memory: no WAL, no blocks, no compaction. For tests and
    /// embedders that do not need persistence.
    pub fn open_in_memory(opts: Options) -> Db {
        let head = Head::new(opts.block_range, false);
        head.write()
            .set_owner_index(crate::owner::OwnerIndexConfig::new(
                &opts.owner_index_metrics,
                opts.owner_index_split_gap,
                opts.owner_index_detect,
            ));
        Db {
            shared: Arc::new(Shared {
                head,
                wal: Mutex::new(None),
                dir: None,
                opts,
                blocks: RwLock::new(Vec::new()),
                compact_lock: Mutex::new(()),
                _lock_file: None,
                replay: ReplayReport::default(),
                read_only: None,
            }),
        }
    }

    /// Opens (creating if needed) the data directory `dir`: takes its lock file, loads its
    /// blocks, replays its WAL into the head (see [`Db::replay_report`]), and applies retention.
    ///
    /// Errors: [`Error::Locked`] if another `Db` holds the directory; [`Error::Corruption`] for
    /// a corrupt block or WAL (unless [`Options::wal_repair`]); [`Error::Io`].
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        if opts.block_range <= 0 {
            return Err(Error::InvalidOption(format!(
                "block_range must be positive, got {}",
                opts.block_range
            )));
        }
        let dir = dir.as_ref().to_path_buf();
        let fs = opts.fs.clone();
        create_dir_durably(&*fs, &dir)?;
        let lock_file = acquire_lock(&*fs, &dir)?;
        let wal_dir = dir.join("wal");
        create_dir_durably(&*fs, &wal_dir)?;

        let blocks = crate::compact::load_blocks(&*fs, &dir)?;
        let head = Head::new(opts.block_range, true);
        // Before replay, so replayed series are indexed like live ones.
        head.write()
            .set_owner_index(crate::owner::OwnerIndexConfig::new(
                &opts.owner_index_metrics,
                opts.owner_index_split_gap,
                opts.owner_index_detect,
            ));
        let outcome = {
            let mut data = head.write();
            // Samples before the end of the newest block are already persisted.
            if let Some(max) = blocks.iter().map(|b| b.max_t).max() {
                data.raise_min_valid_time(max.saturating_add(1));
            }
            replay(&*fs, &wal_dir, &mut data, opts.wal_repair)?
        };
        let writer = WalWriter::create(
            fs.clone(),
            &wal_dir,
            outcome.next_segment,
            opts.wal_segment_size,
            opts.wal_sync,
            outcome.segment_max_t,
        )?;
        if !outcome.bounds_recorded {
            // Only now that the first segment exists (see the invariant in `wal::bounds`).
            write_bounds(&*fs, &wal_dir, &outcome.bounds)?;
        }
        let shared = Arc::new(Shared {
            head,
            wal: Mutex::new(Some(WalState {
                writer,
                enc: RecordEncoder::new(),
                bounds: outcome.bounds,
            })),
            dir: Some(dir),
            opts,
            blocks: RwLock::new(blocks),
            compact_lock: Mutex::new(()),
            _lock_file: Some(lock_file),
            replay: outcome.report,
            read_only: None,
        });
        if let WalSync::Interval(every) = shared.opts.wal_sync {
            spawn_wal_syncer(Arc::downgrade(&shared), every).map_err(|e| Error::io(&wal_dir, e))?;
        }
        let db = Db { shared };
        if db.shared.opts.auto_compact {
            db.compact()?;
            crate::compact::compact_blocks(&db.shared)?;
        }
        db.apply_retention()?;
        Ok(db)
    }

    /// A new appender. Appenders are independent; their commits are serialised.
    pub fn appender(&self) -> Appender {
        Appender::new(self.shared.clone())
    }

    /// What opening the directory found in the WAL (empty in memory mode).
    pub fn replay_report(&self) -> &ReplayReport {
        &self.shared.replay
    }

    /// The head block (for statistics and direct [`BlockReader`] access).
    pub fn head(&self) -> &Head {
        &self.shared.head
    }

    /// Head statistics.
    pub fn head_stats(&self) -> HeadStats {
        self.shared.head.stats()
    }

    /// The data directory (`None` in memory mode).
    pub fn dir(&self) -> Option<&Path> {
        self.shared.dir.as_deref()
    }

    /// Persisted blocks as `(directory, min_t, max_t)`, oldest first.
    pub fn blocks(&self) -> Vec<(PathBuf, Timestamp, Timestamp)> {
        self.shared
            .read_blocks()
            .iter()
            .map(|b| (b.dir.clone(), b.min_t, b.max_t))
            .collect()
    }

    /// The metric metadata (HELP/TYPE/UNIT) of every stored metric family, merged by the
    /// latest-wins rule of [`crate::metadata`]: blocks in time order, later ones replacing
    /// earlier entries of the same name, then the head's entries over all of them. Blocks lock
    /// before the head, as queriers do.
    pub fn metadata(&self) -> crate::metadata::MetadataMap {
        let blocks = self.shared.read_blocks();
        let mut out = crate::metadata::MetadataMap::new();
        for b in blocks.iter() {
            crate::metadata::merge_into(&mut out, &b.metadata);
        }
        crate::metadata::merge_into(&mut out, self.shared.head.read().metadata());
        out
    }

    /// Compacts every full block range the head holds beyond 1.5 block ranges into blocks, as
    /// Prometheus does, then truncates the head and the WAL and applies retention. Returns the
    /// number of blocks written. A no-op in memory mode.
    pub fn compact(&self) -> Result<usize> {
        self.shared.check_writable()?;
        if self.shared.dir.is_none() {
            return Ok(0);
        }
        let n = crate::compact::compact(&self.shared, false)?;
        Ok(n)
    }

    /// Persists everything in the head into blocks (one per aligned block range), then
    /// truncates the head and the WAL. After this the data directory holds the data in compact
    /// block form, not as raw WAL samples. Returns the number of blocks written. A no-op in
    /// memory mode.
    pub fn compact_all(&self) -> Result<usize> {
        self.shared.check_writable()?;
        if self.shared.dir.is_none() {
            return Ok(0);
        }
        crate::compact::compact(&self.shared, true)
    }

    /// Deletes blocks beyond the retention limits. Returns the number deleted.
    pub fn apply_retention(&self) -> Result<usize> {
        self.shared.check_writable()?;
        crate::compact::apply_retention(&self.shared)
    }

    /// Fsyncs the WAL's current segment, whatever the sync policy.
    pub fn sync(&self) -> Result<()> {
        match self.shared.lock_wal().as_mut() {
            Some(ws) => ws.writer.sync(),
            None => Ok(()),
        }
    }

    /// Fsyncs the WAL and releases this handle. The directory stays locked until every clone,
    /// appender and querier of this database has been dropped.
    pub fn close(self) -> Result<()> {
        self.sync()
    }
}

/// Creates `dir` (and missing parents) if needed and, when it was created, fsyncs its parent so
/// the new entry survives a power cut (a synced WAL segment in a directory whose own entry was
/// never made durable could vanish with it).
fn create_dir_durably(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    if fs.is_dir(dir) {
        return Ok(());
    }
    fs.create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            fs.sync_dir(parent).map_err(|e| Error::io(parent, e))
        }
        _ => Ok(()),
    }
}

/// The background half of [`WalSync::Interval`]: every tick, fsyncs commits that have waited
/// at least `every`, so an idle writer's last commits reach the disk. Holds only a weak
/// reference and ends once the database is dropped. A failed sync is retried at the next tick
/// (the commits stay marked unsynced).
fn spawn_wal_syncer(shared: Weak<Shared>, every: Duration) -> std::io::Result<()> {
    let tick = every.clamp(Duration::from_millis(1), Duration::from_millis(100));
    std::thread::Builder::new()
        .name("promlite-wal-sync".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            let Some(db) = shared.upgrade() else {
                return;
            };
            let mut wal = db.lock_wal();
            if let Some(ws) = wal.as_mut() {
                let _ = ws.writer.sync_if_due(every);
            }
            drop(wal);
        })?;
    Ok(())
}

/// Creates (if needed) and flocks `<dir>/lock`. The lock is advisory and released by the
/// kernel when the file is closed, including when the process dies, so a crash never leaves a
/// stale lock behind. A second `Db::open` on the same directory, in this or another process,
/// fails with [`Error::Locked`].
fn acquire_lock(fs: &dyn FileSystem, dir: &Path) -> Result<Box<dyn Any + Send + Sync>> {
    let path = dir.join(LOCK_FILE);
    match fs.lock(&path) {
        Ok(guard) => Ok(guard),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(Error::Locked { path }),
        Err(e) => Err(Error::io(&path, e)),
    }
}
