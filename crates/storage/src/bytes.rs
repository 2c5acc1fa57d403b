//! Cheap, cloneable, owned byte ranges: the handle through which readers see block files (backed
//! by a memory map) and head chunks (backed by heap memory) alike.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A shared, immutable byte range. Cloning is a reference-count increment.
#[derive(Clone)]
pub struct SharedBytes {
    owner: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl SharedBytes {
    /// Wraps an owner of bytes (a `Vec<u8>`, a memory map, ...), viewing all of it.
    pub fn new(owner: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        let len = (*owner).as_ref().len();
        Self {
            owner,
            range: 0..len,
        }
    }

    /// Wraps a vector.
    pub fn from_vec(v: Vec<u8>) -> Self {
        Self::new(Arc::new(v))
    }

    /// The bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // The range is checked against the owner's length in every constructor.
        (*self.owner)
            .as_ref()
            .get(self.range.clone())
            .unwrap_or(&[])
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// True if empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// A sub-range, relative to this one. `None` if it is out of bounds (offsets read from disk
    /// must go through here, never through unchecked slicing).
    pub fn slice(&self, range: Range<usize>) -> Option<SharedBytes> {
        if range.start > range.end || range.end > self.range.len() {
            return None;
        }
        let start = self.range.start + range.start;
        Some(Self {
            owner: self.owner.clone(),
            range: start..start + range.len(),
        })
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_bounds_checked() {
        let b = SharedBytes::from_vec(vec![1, 2, 3, 4]);
        let s = b.slice(1..3).unwrap();
        assert_eq!(s.as_slice(), &[2, 3]);
        assert_eq!(s.slice(1..2).unwrap().as_slice(), &[3]);
        assert!(s.slice(1..3).is_none());
        #[allow(clippy::reversed_empty_ranges)]
        let bad = b.slice(3..1);
        assert!(bad.is_none());
    }
}
