//! A fault-injecting [`FileSystem`] for tests: real files underneath, plus a numbered sequence
//! of operations at any one of which a [`Fault`] can be injected, and a simulated power cut
//! ([`FaultFs::crash`]) that throws away what a real machine could lose.
//!
//! **Crash model.** Only what was made durable survives [`FaultFs::crash`]:
//! - file data: each file written through this file system is cut back to its length at its
//!   last successful [`WritableFile::sync`] (or [`FileSystem::truncate`]); a file created and
//!   never synced becomes empty;
//! - directory entries: a file or directory created, or a rename done, since the last
//!   [`FileSystem::sync_dir`] of its parent is undone (created entries are removed, renames are
//!   reversed), newest first;
//! - deletions are taken to be durable at once (the engine never relies on a deletion being
//!   undone; a resurrected file is the case a real crash could add, and is not simulated).
//!
//! Real `fsync`s are not issued (the crash is simulated), which keeps tests that run a
//! workload thousands of times fast.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{DirEntry, FileSystem, RealFs, WritableFile};
use crate::bytes::SharedBytes;

/// What happens at the injected operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The operation fails with an I/O error (`EIO`-like, [`io::ErrorKind::Other`]); nothing is
    /// changed. Later operations work.
    Error,
    /// The disk is full from this operation on: every operation that needs space (create,
    /// mkdir, write, sync, rename) fails with [`io::ErrorKind::StorageFull`] until
    /// [`FaultFs::free_space`]. A write that hits it stores a prefix of its bytes first, as a
    /// real short write on a full disk does.
    DiskFull,
    /// A write stores only the first half of its bytes and the machine dies: this and every
    /// later operation fails (call [`FaultFs::crash`] next). Other operations: as [`Fault::Crash`].
    TornWrite,
    /// The machine dies before this operation: it and every later operation fail.
    Crash,
}

/// Counters of the operations seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Operations counted (the next injectable index).
    pub ops: u64,
    /// Operations by kind.
    pub by_kind: BTreeMap<&'static str, u64>,
}

#[derive(Debug)]
enum EntryChange {
    Created(PathBuf),
    Renamed { from: PathBuf, to: PathBuf },
}

#[derive(Debug, Default)]
struct State {
    ops: u64,
    by_kind: BTreeMap<&'static str, u64>,
    plan: Option<(u64, Fault)>,
    disk_full: bool,
    dead: bool,
    /// Durable length of every file written through this file system.
    synced_len: HashMap<PathBuf, u64>,
    /// Directory-entry changes not yet made durable, oldest first.
    pending: Vec<EntryChange>,
}

/// Operation kinds; `needs_space` ones fail while the disk is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Mkdir,
    ReadDir,
    Read,
    Map,
    Stat,
    Create,
    Write,
    Sync,
    SetLen,
    Truncate,
    Rename,
    Remove,
    RemoveDir,
    SyncDir,
    Lock,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Mkdir => "mkdir",
            Op::ReadDir => "read_dir",
            Op::Read => "read",
            Op::Map => "map",
            Op::Stat => "stat",
            Op::Create => "create",
            Op::Write => "write",
            Op::Sync => "sync",
            Op::SetLen => "set_len",
            Op::Truncate => "truncate",
            Op::Rename => "rename",
            Op::Remove => "remove",
            Op::RemoveDir => "remove_dir",
            Op::SyncDir => "sync_dir",
            Op::Lock => "lock",
        }
    }

    fn needs_space(self) -> bool {
        matches!(
            self,
            Op::Mkdir | Op::Create | Op::Write | Op::Sync | Op::Rename | Op::SyncDir
        )
    }
}

/// How an operation may proceed.
enum Go {
    Normal,
    /// A write that stores a prefix and then fails with this error.
    Partial(io::Error),
}

/// The fault-injecting file system. Clones share their state, so a test keeps one clone to
/// steer faults and crash while the database uses another (as an `Arc<dyn FileSystem>`).
#[derive(Debug, Clone, Default)]
pub struct FaultFs {
    state: Arc<Mutex<State>>,
}

fn injected() -> io::Error {
    io::Error::other("injected I/O error")
}

fn dead() -> io::Error {
    io::Error::other("simulated crash: the machine is down")
}

fn full() -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        "no space left on device (injected)",
    )
}

impl FaultFs {
    /// A file system with no fault planned.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Plans `fault` at operation index `at` (0-based, counting from this file system's first
    /// operation). Replaces any earlier plan.
    pub fn inject(&self, at: u64, fault: Fault) {
        self.lock_state().plan = Some((at, fault));
    }

    /// Counters of the operations so far.
    pub fn stats(&self) -> FaultStats {
        let s = self.lock_state();
        FaultStats {
            ops: s.ops,
            by_kind: s.by_kind.clone(),
        }
    }

    /// Ends a [`Fault::DiskFull`]: operations succeed again.
    pub fn free_space(&self) {
        self.lock_state().disk_full = false;
    }

    /// True once a [`Fault::Crash`] or [`Fault::TornWrite`] struck or [`crash`](Self::crash)
    /// ran.
    pub fn is_dead(&self) -> bool {
        self.lock_state().dead
    }

    /// True while a [`Fault::DiskFull`] is in force.
    pub fn is_full(&self) -> bool {
        self.lock_state().disk_full
    }

    /// Durable length recorded for `path` (for tests of sync policies).
    pub fn synced_len(&self, path: &Path) -> Option<u64> {
        self.lock_state().synced_len.get(path).copied()
    }

    /// Simulates a power cut: every later operation fails, and the real files are rolled back
    /// to what was durable (see the module docs). Afterwards the directory can be opened with
    /// the real file system to see what a machine would find after rebooting.
    pub fn crash(&self) -> io::Result<()> {
        let mut s = self.lock_state();
        s.dead = true;
        for (path, &len) in &s.synced_len {
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.is_file() && meta.len() > len {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)?
                        .set_len(len)?;
                }
            }
        }
        let pending = std::mem::take(&mut s.pending);
        for change in pending.into_iter().rev() {
            match change {
                EntryChange::Created(p) => {
                    if p.is_dir() {
                        std::fs::remove_dir_all(&p)?;
                    } else if p.exists() {
                        std::fs::remove_file(&p)?;
                    }
                }
                EntryChange::Renamed { from, to } => {
                    if to.exists() && !from.exists() {
                        std::fs::rename(&to, &from)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Counts one operation and applies the plan.
    fn begin(&self, op: Op) -> io::Result<Go> {
        let mut s = self.lock_state();
        if s.dead {
            return Err(dead());
        }
        let index = s.ops;
        s.ops += 1;
        *s.by_kind.entry(op.name()).or_default() += 1;
        match s.plan {
            Some((at, fault)) if at == index => match fault {
                Fault::Error => return Err(injected()),
                Fault::DiskFull => s.disk_full = true,
                Fault::TornWrite if op == Op::Write => {
                    s.dead = true;
                    return Ok(Go::Partial(dead()));
                }
                Fault::TornWrite | Fault::Crash => {
                    s.dead = true;
                    return Err(dead());
                }
            },
            _ => {}
        }
        if s.disk_full && op.needs_space() {
            if op == Op::Write {
                return Ok(Go::Partial(full()));
            }
            return Err(full());
        }
        Ok(Go::Normal)
    }

    fn simple(&self, op: Op) -> io::Result<()> {
        match self.begin(op)? {
            Go::Normal => Ok(()),
            Go::Partial(e) => Err(e),
        }
    }

    fn record_created(&self, path: &Path) {
        self.lock_state()
            .pending
            .push(EntryChange::Created(path.to_path_buf()));
    }
}

#[derive(Debug)]
struct FaultFile {
    fs: FaultFs,
    path: PathBuf,
    file: std::fs::File,
}

impl WritableFile for FaultFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self.fs.begin(Op::Write)? {
            Go::Normal => self.file.write_all(buf),
            Go::Partial(e) => {
                let half = buf.get(..buf.len() / 2).unwrap_or_default();
                self.file.write_all(half)?;
                Err(e)
            }
        }
    }

    fn sync(&mut self) -> io::Result<()> {
        self.fs.simple(Op::Sync)?;
        let len = self.file.metadata()?.len();
        self.fs
            .lock_state()
            .synced_len
            .insert(self.path.clone(), len);
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        use std::io::Seek;
        self.fs.simple(Op::SetLen)?;
        self.file.set_len(len)?;
        self.file.seek(io::SeekFrom::Start(len))?;
        // Shrinking is metadata the engine syncs right after; take it as durable at once, but
        // never claim bytes beyond the last sync are durable.
        let mut s = self.fs.lock_state();
        let synced = s.synced_len.entry(self.path.clone()).or_insert(0);
        *synced = (*synced).min(len);
        Ok(())
    }
}

impl FileSystem for FaultFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.simple(Op::Mkdir)?;
        let mut missing = Vec::new();
        let mut p = Some(path);
        while let Some(dir) = p {
            if dir.as_os_str().is_empty() || dir.exists() {
                break;
            }
            missing.push(dir.to_path_buf());
            p = dir.parent();
        }
        std::fs::create_dir_all(path)?;
        for dir in missing.iter().rev() {
            self.record_created(dir);
        }
        Ok(())
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        self.simple(Op::ReadDir)?;
        RealFs.read_dir(path)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.simple(Op::Read)?;
        RealFs.read(path)
    }

    fn map(&self, path: &Path) -> io::Result<SharedBytes> {
        self.simple(Op::Map)?;
        // A copy, not a map: `crash` may cut files that an old handle still references.
        Ok(SharedBytes::from_vec(std::fs::read(path)?))
    }

    fn file_len(&self, path: &Path) -> io::Result<Option<u64>> {
        self.simple(Op::Stat)?;
        RealFs.file_len(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.simple(Op::Create)?;
        let existed = path.exists();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        {
            let mut s = self.lock_state();
            s.synced_len.insert(path.to_path_buf(), 0);
            if !existed {
                s.pending.push(EntryChange::Created(path.to_path_buf()));
            }
        }
        Ok(Box::new(FaultFile {
            fs: self.clone(),
            path: path.to_path_buf(),
            file,
        }))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.simple(Op::Truncate)?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(len)?;
        let mut s = self.lock_state();
        let synced = s.synced_len.entry(path.to_path_buf()).or_insert(len);
        *synced = (*synced).min(len);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.simple(Op::Rename)?;
        std::fs::rename(from, to)?;
        let mut s = self.lock_state();
        // Move the durable lengths of the file (or of every file under the directory).
        let moved: Vec<(PathBuf, u64)> = s
            .synced_len
            .iter()
            .filter(|(p, _)| p.starts_with(from))
            .map(|(p, l)| (p.clone(), *l))
            .collect();
        for (p, l) in moved {
            s.synced_len.remove(&p);
            if let Ok(rest) = p.strip_prefix(from) {
                let moved_to = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
                s.synced_len.insert(moved_to, l);
            }
        }
        s.pending.push(EntryChange::Renamed {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        });
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.simple(Op::Remove)?;
        std::fs::remove_file(path)?;
        let mut s = self.lock_state();
        s.synced_len.remove(path);
        s.pending
            .retain(|c| !matches!(c, EntryChange::Created(p) if p == path));
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.simple(Op::RemoveDir)?;
        std::fs::remove_dir_all(path)?;
        let mut s = self.lock_state();
        s.synced_len.retain(|p, _| !p.starts_with(path));
        s.pending
            .retain(|c| !matches!(c, EntryChange::Created(p) if p.starts_with(path)));
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.simple(Op::SyncDir)?;
        self.lock_state().pending.retain(|c| match c {
            EntryChange::Created(p) => p.parent() != Some(path),
            EntryChange::Renamed { to, .. } => to.parent() != Some(path),
        });
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        self.simple(Op::Lock)?;
        RealFs.lock(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_drops_unsynced_data_and_entries() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new();
        let a = dir.path().join("a");
        let mut f = fs.create(&a).unwrap();
        fs.sync_dir(dir.path()).unwrap();
        f.write_all(b"durable").unwrap();
        f.sync().unwrap();
        f.write_all(b" lost").unwrap();
        let b = dir.path().join("b");
        let mut g = fs.create(&b).unwrap();
        g.write_all(b"never synced entry").unwrap();
        g.sync().unwrap();
        let c = dir.path().join("c");
        fs.rename(&a, &c).unwrap();
        assert_eq!(fs.stats().ops, 9);
        fs.crash().unwrap();
        assert_eq!(std::fs::read(&a).unwrap(), b"durable");
        assert!(!b.exists(), "a file whose entry was never synced vanishes");
        assert!(!c.exists(), "an unsynced rename is undone");
        assert!(fs.create(&c).is_err(), "operations fail after the crash");
    }

    #[test]
    fn faults_strike_at_their_index() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new();
        fs.inject(1, Fault::DiskFull);
        let mut f = fs.create(&dir.path().join("x")).unwrap();
        let err = f.write_all(b"abcdef").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"abc");
        assert!(fs.create(&dir.path().join("y")).is_err());
        fs.free_space();
        f.set_len(0).unwrap();
        f.write_all(b"ok").unwrap();
        assert_eq!(std::fs::read(dir.path().join("x")).unwrap(), b"ok");
        fs.inject(fs.stats().ops, Fault::Error);
        assert!(fs.read(&dir.path().join("x")).is_err());
        assert!(fs.read(&dir.path().join("x")).is_ok());
    }
}
