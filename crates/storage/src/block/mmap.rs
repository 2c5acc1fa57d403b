//! Read-only memory maps of sealed block files, handed out as [`SharedBytes`]. The only module
//! of the workspace that may use `unsafe`.
#![allow(unsafe_code)]

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use crate::bytes::SharedBytes;

/// A read-only memory map of one block file.
///
/// **Immutability contract.** A block file is written under a temporary directory name, fsynced
/// and renamed into place; from then on promlite never truncates, rewrites or appends to it, and
/// it is removed only by deleting the whole block directory. On Unix, unlinking a mapped file
/// keeps its pages valid until the last map is dropped, so a block deleted by retention while a
/// query still holds its [`SharedBytes`] stays readable. The contract is kept by this crate alone
/// (every file mapped here is a sealed block file), which is why [`map_file`] is a safe function
/// and, like this type, private to the crate.
/// An outside process that truncates a block file breaks it: reads of the truncated pages then
/// fault (SIGBUS), as with any memory-mapped database.
pub(crate) struct MappedFile {
    map: Mmap,
}

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

/// Maps `path` read-only and returns its bytes. Empty files are returned as an empty buffer
/// (mapping zero bytes is an error on some platforms).
/// Reached only through [`crate::io::RealFs::map`].
pub(crate) fn map_file(path: &Path) -> std::io::Result<SharedBytes> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(SharedBytes::from_vec(Vec::new()));
    }
    // SAFETY: the map is read-only and the file is a sealed block file that promlite never
    // modifies while it exists (see the immutability contract on `MappedFile`). The bytes are
    // only ever read through `&[u8]` slices that are bounds-checked by `SharedBytes`.
    let map = unsafe { Mmap::map(&file) }?;
    Ok(SharedBytes::new(Arc::new(MappedFile { map })))
}
