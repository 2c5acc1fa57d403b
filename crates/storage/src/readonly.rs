//! Read-only access beside a writer: [`Db::open_read_only`] and [`Db::refresh`].
//!
//! **Reader rules (architecture invariant):** a read-only database never changes its data
//! directory: it takes no lock, creates no file or directory, writes no WAL segment, compacts
//! nothing, applies no retention and repairs nothing (a torn WAL tail is skipped, leftover
//! temporary directories are ignored). It sees everything durable when it loads: the blocks,
//! then the WAL (checkpoint and segments) replayed into an in-memory head.
//!
//! **Consistent snapshot.** The writer may compact, checkpoint and delete blocks meanwhile. A
//! load lists the blocks, opens them, replays the WAL, then lists the blocks again; it is kept
//! only if the block list did not change and no WAL file vanished, so no data can have moved
//! from the WAL into a block the load did not open. Otherwise it starts over (up to
//! [`MAX_LOAD_ATTEMPTS`] times, then [`Error::ConcurrentChange`]). A block listed as a source of
//! another present block (a merge whose sources are still being deleted) is skipped; any other
//! overlap is merged sample by sample by the querier, so duplicates seen twice are harmless.

use std::collections::{BTreeSet, HashMap};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::block::{list_block_dirs_in, Block, BlockId, META_FILE};
use crate::db::{Db, LoadedBlock, Options, Shared};
use crate::head::Head;
use crate::io::FileSystem;
use crate::wal::snapshot::{replay_read_only, SnapshotError};
use crate::wal::ReplayReport;
use crate::{Error, Result};

/// Loads given up after this many attempts that each saw the writer change the directory.
pub const MAX_LOAD_ATTEMPTS: u32 = 20;

/// What a read-only database compares to decide whether the directory changed since its load:
/// the block ids and every WAL file's name and length (the writer only appends to segments, and
/// replaces everything else by new names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    blocks: BTreeSet<BlockId>,
    wal_files: Vec<(String, u64)>,
}

/// The state a read-only database keeps besides the shared head and block list.
#[derive(Debug, Default)]
pub(crate) struct ReadOnlyState {
    /// The fingerprint of the directory as last loaded; also serialises refreshes.
    loaded: Mutex<Fingerprint>,
}

fn fingerprint(fs: &dyn FileSystem, dir: &Path) -> Result<Fingerprint> {
    let blocks = list_block_dirs_in(fs, dir)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let wal = dir.join("wal");
    let mut wal_files = Vec::new();
    match fs.read_dir(&wal) {
        Ok(entries) => {
            for entry in entries {
                // A file deleted since the listing counts as length 0; the next check differs.
                let len = fs.file_len(&entry.path).ok().flatten().unwrap_or(0);
                wal_files.push((entry.name.to_string_lossy().into_owned(), len));
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&wal, e)),
    }
    wal_files.sort();
    Ok(Fingerprint { blocks, wal_files })
}

/// One consistent view of a directory.
struct View {
    blocks: Vec<LoadedBlock>,
    head: Head,
    report: ReplayReport,
    fingerprint: Fingerprint,
}

/// Why one load attempt was abandoned.
enum Attempt {
    Changed(String),
    Failed(Error),
}

impl From<Error> for Attempt {
    fn from(e: Error) -> Self {
        Attempt::Failed(e)
    }
}

/// Loads a consistent view, retrying while the writer changes the directory underneath.
/// `reuse` holds blocks of the previous view (immutable, so still valid if still listed).
fn load_view(dir: &Path, opts: &Options, reuse: &HashMap<PathBuf, LoadedBlock>) -> Result<View> {
    let mut last = String::new();
    for attempt in 0..MAX_LOAD_ATTEMPTS {
        match try_load(dir, opts, reuse) {
            Ok(view) => return Ok(view),
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Changed(why)) => {
                last = why;
                // Let the writer finish what it is doing (a compaction's few renames).
                std::thread::sleep(Duration::from_millis(5 * u64::from(attempt + 1)));
            }
        }
    }
    Err(Error::ConcurrentChange {
        dir: dir.to_path_buf(),
        attempts: MAX_LOAD_ATTEMPTS,
        last,
    })
}

fn try_load(
    dir: &Path,
    opts: &Options,
    reuse: &HashMap<PathBuf, LoadedBlock>,
) -> Result<View, Attempt> {
    let fs = &*opts.fs;
    let before = fingerprint(fs, dir)?;
    let listed = list_block_dirs_in(fs, dir)?;
    let mut blocks = Vec::with_capacity(listed.len());
    let mut metas = Vec::with_capacity(listed.len());
    for (id, path) in &listed {
        if let Some(b) = reuse.get(path) {
            metas.push((*id, b.sources.clone()));
            blocks.push(b.clone());
            continue;
        }
        match Block::open_in(fs, path) {
            Ok(block) => {
                let block = crate::compact::loaded(block);
                metas.push((*id, block.sources.clone()));
                blocks.push(block);
            }
            // Deleted by retention or a merge after it was listed.
            Err(_) if !matches!(fs.file_len(&path.join(META_FILE)), Ok(Some(_))) => {
                return Err(Attempt::Changed(format!(
                    "block {} vanished while opening",
                    path.display()
                )));
            }
            Err(e) => return Err(Attempt::Failed(e)),
        }
    }
    // A merge renames its output into place before deleting its sources.
    let superseded: BTreeSet<BlockId> = metas
        .iter()
        .flat_map(|(_, sources)| sources.iter().copied())
        .collect();
    let mut kept: Vec<LoadedBlock> = blocks
        .into_iter()
        .zip(&metas)
        .filter(|(_, (id, _))| !superseded.contains(id))
        .map(|(b, _)| b)
        .collect();
    kept.sort_by_key(|b| (b.min_t, b.max_t));

    let head = Head::new(opts.block_range, false);
    let report = {
        let mut data = head.write();
        data.set_owner_index(crate::owner::OwnerIndexConfig::new(
            &opts.owner_index_metrics,
            opts.owner_index_split_gap,
            opts.owner_index_detect,
        ));
        // As in `Db::open`: samples before the end of the newest block are persisted there.
        if let Some(max) = kept.iter().map(|b| b.max_t).max() {
            data.raise_min_valid_time(max.saturating_add(1));
        }
        match replay_read_only(fs, &dir.join("wal"), &mut data) {
            Ok(report) => report,
            Err(SnapshotError::Changed(why)) => return Err(Attempt::Changed(why)),
            Err(SnapshotError::Failed(e)) => return Err(Attempt::Failed(e)),
        }
    };
    let after = list_block_dirs_in(fs, dir)?;
    let ids = |l: &[(BlockId, PathBuf)]| l.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    if ids(&after) != ids(&listed) {
        return Err(Attempt::Changed(
            "the block list changed while the WAL was read".into(),
        ));
    }
    Ok(View {
        blocks: kept,
        head,
        report,
        fingerprint: before,
    })
}

impl Db {
    /// Opens the data directory `dir` read-only, beside any writer (in this process or
    /// another) and any number of other readers. The database sees everything durable when it
    /// opens (blocks, plus the WAL replayed in memory); [`Db::refresh`] loads what the writer
    /// added since. Appends, commits, compaction and retention fail with [`Error::ReadOnly`].
    ///
    /// Nothing in the directory is changed: no lock file, no WAL segment, no compaction, no
    /// repair (see the module documentation of `readonly.rs` for the snapshot rules).
    ///
    /// Errors: [`Error::Io`] if `dir` does not exist; [`Error::Corruption`] for a corrupt block
    /// or WAL frame; [`Error::ConcurrentChange`] if the writer changed the directory during
    /// every load attempt.
    pub fn open_read_only(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        let dir = dir.as_ref().to_path_buf();
        opts.fs.read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        let view = load_view(&dir, &opts, &HashMap::new())?;
        let shared = Shared::read_only(
            view.head,
            dir,
            opts,
            view.blocks,
            view.report,
            ReadOnlyState {
                loaded: Mutex::new(view.fingerprint),
            },
        );
        Ok(Db {
            shared: Arc::new(shared),
        })
    }

    /// True for a database opened with [`Db::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.shared.read_only.is_some()
    }

    /// For a read-only database: if the directory changed since the last load (blocks added or
    /// removed, WAL files added, removed or grown), loads it again and swaps the new view in
    /// atomically (queriers see the old view or the new one, never a mix). Returns whether it
    /// reloaded. A no-op returning `false` for a writable database, which is always current.
    pub fn refresh(&self) -> Result<bool> {
        let (Some(state), Some(dir)) = (&self.shared.read_only, &self.shared.dir) else {
            return Ok(false);
        };
        let mut loaded = state.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if fingerprint(&*self.shared.opts.fs, dir)? == *loaded {
            return Ok(false);
        }
        let reuse: HashMap<PathBuf, LoadedBlock> = self
            .shared
            .read_blocks()
            .iter()
            .map(|b| (b.dir.clone(), b.clone()))
            .collect();
        let view = load_view(dir, &self.shared.opts, &reuse)?;
        {
            // Same lock order as the querier: blocks, then the head.
            let mut blocks = self
                .shared
                .blocks
                .write()
                .unwrap_or_else(|e| e.into_inner());
            self.shared.head.replace_with(view.head);
            *blocks = view.blocks;
        }
        *loaded = view.fingerprint;
        Ok(true)
    }
}

/// The read-only error for `shared`'s directory.
pub(crate) fn read_only_error(shared: &Shared) -> Error {
    Error::ReadOnly {
        dir: shared.dir.clone().unwrap_or_default(),
    }
}
