//! The storage engine's file-system seam. Every file operation of the WAL, checkpoints, blocks,
//! compaction, retention and the lock file goes through a [`FileSystem`], so tests can swap the
//! real one ([`RealFs`]) for the fault-injecting [`FaultFs`] (errors, a full disk, torn writes,
//! lost unsynced data at a simulated crash) at any operation index.
//!
//! The trait is deliberately small: exactly the operations storage performs. Files are written
//! sequentially through a [`WritableFile`] (create-or-truncate, append, sync, shrink) and read
//! whole ([`FileSystem::read`]) or through a read-only view ([`FileSystem::map`], a memory map
//! in [`RealFs`]; sealed block files only, see `block/mmap.rs`).
//!
//! All methods return `std::io::Result`; callers attach the path with [`crate::Error::io`].

mod fault;

use std::any::Any;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::bytes::SharedBytes;

pub use fault::{Fault, FaultFs, FaultStats};

/// One entry of [`FileSystem::read_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's file name.
    pub name: OsString,
    /// `dir.join(name)`.
    pub path: PathBuf,
    /// True for a directory (symlinks are followed).
    pub is_dir: bool,
}

/// A file opened for sequential writing by [`FileSystem::create`].
pub trait WritableFile: Send + fmt::Debug {
    /// Appends all of `buf` (one `write(2)` loop). On error an unknown prefix of `buf` may have
    /// reached the file: callers that need a clean end shrink the file back with
    /// [`set_len`](Self::set_len).
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the file's data durable (`fdatasync`; `fsync` for files whose size changed is the
    /// same on the file systems promlite targets).
    fn sync(&mut self) -> io::Result<()>;
    /// Truncates the file to `len` bytes (used to drop a frame whose write failed) and moves the
    /// write position there.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

/// The file operations storage performs. Implementations must be usable from several threads.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// `mkdir -p`.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The entries of a directory, in no particular order.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// The whole contents of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// A read-only view of a sealed (never again modified) file: a memory map in [`RealFs`].
    fn map(&self, path: &Path) -> io::Result<SharedBytes>;
    /// The size of a file in bytes, or `None` if nothing exists at `path`. Errors other than
    /// "not found" are returned.
    fn file_len(&self, path: &Path) -> io::Result<Option<u64>>;
    /// True if `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// Creates `path` (truncating an existing file) for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Shrinks (or extends with zeros) an existing file to `len` bytes and syncs it.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Atomically renames `from` to `to` (replacing a file at `to`).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Deletes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Deletes a directory and everything in it.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Fsyncs a directory so creations, renames and deletions in it are durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates (if needed) and exclusively locks the file `path` (an advisory `flock`), writing
    /// the process id into it for humans. The lock lasts as long as the returned guard. A lock
    /// held elsewhere is an error of kind [`io::ErrorKind::WouldBlock`].
    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>>;
    /// Told when a maintenance phase starts, before its first file operation; the phase lasts
    /// until the next call or until the database call that started it returns. Does nothing by
    /// default; the crash soak (`examples/crash_soak.rs`) reports it to its parent to show
    /// where each kill landed.
    fn phase(&self, _phase: Phase) {}
}

/// A maintenance phase, as reported to [`FileSystem::phase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Writing a block from the head (compaction).
    HeadCompaction,
    /// Writing a WAL checkpoint, recording it in `wal/bounds`, deleting what it replaces.
    Checkpoint,
    /// Merging blocks (leveled or vertical compaction) and deleting the sources.
    Merge,
    /// Deleting blocks beyond the retention limits.
    Retention,
}

impl Phase {
    /// A short lower-case name (`head-compaction`, `checkpoint`, `merge`, `retention`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::HeadCompaction => "head-compaction",
            Phase::Checkpoint => "checkpoint",
            Phase::Merge => "merge",
            Phase::Retention => "retention",
        }
    }
}

/// A shared file system handle, as [`crate::Options::fs`] holds it.
pub type SharedFs = Arc<dyn FileSystem>;

/// The real file system ([`std::fs`] and memory maps).
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs;

/// The default [`SharedFs`]: [`RealFs`].
pub fn real() -> SharedFs {
    Arc::new(RealFs)
}

#[derive(Debug)]
struct RealFile {
    file: std::fs::File,
}

impl WritableFile for RealFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        use std::io::Seek;
        self.file.set_len(len)?;
        self.file.seek(io::SeekFrom::Start(len))?;
        Ok(())
    }
}

impl FileSystem for RealFs {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let path = entry.path();
            out.push(DirEntry {
                name: entry.file_name(),
                is_dir: path.is_dir(),
                path,
            });
        }
        Ok(out)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn map(&self, path: &Path) -> io::Result<SharedBytes> {
        crate::block::map_file(path)
    }

    fn file_len(&self, path: &Path) -> io::Result<Option<u64>> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(RealFile { file }))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }

    #[allow(
        clippy::incompatible_msrv,
        reason = "File::try_lock is stable since Rust 1.89; the build uses 1.95"
    )]
    fn lock(&self, path: &Path) -> io::Result<Box<dyn Any + Send + Sync>> {
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(io::ErrorKind::WouldBlock, "locked"))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        // Record who holds it, for humans; the flock is what counts.
        let _ = file.set_len(0);
        let _ = (&file).write_all(format!("{}\n", std::process::id()).as_bytes());
        Ok(Box::new(file))
    }
}

/// Adapts a [`WritableFile`] to [`std::io::Write`] (for `BufWriter`): every `write` is one
/// [`WritableFile::write_all`].
#[derive(Debug)]
pub struct FileWriter(pub Box<dyn WritableFile>);

impl Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes `bytes` to `path` under a temporary name, syncs it, renames it into place and syncs
/// the directory: afterwards `path` holds either its old contents or all of `bytes`.
pub fn write_atomic(fs: &dyn FileSystem, path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = fs.create(&tmp).map_err(|e| crate::Error::io(&tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| crate::Error::io(&tmp, e))?;
    file.sync().map_err(|e| crate::Error::io(&tmp, e))?;
    drop(file);
    fs.rename(&tmp, path)
        .map_err(|e| crate::Error::io(path, e))?;
    if let Some(parent) = path.parent() {
        fs.sync_dir(parent)
            .map_err(|e| crate::Error::io(parent, e))?;
    }
    Ok(())
}
