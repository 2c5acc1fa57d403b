//! Byte buffers of Prometheus's block files: big-endian fixed-width integers and Go's
//! LEB128 varints (`binary.PutUvarint`, zigzag `binary.PutVarint`), with bounds-checked reads
//! that report the absolute file offset of what they could not read.

use crate::error::Corruption;

/// CRC-32C (Castagnoli) as Prometheus computes it for index sections, chunks and tombstones.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

/// An append-only byte buffer.
#[derive(Debug, Default, Clone)]
pub struct Encbuf {
    /// The bytes written.
    pub bytes: Vec<u8>,
}

impl Encbuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a byte.
    pub fn put_byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    /// Appends a big-endian `u32`.
    pub fn put_be32(&mut self, v: u32) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian `u64`.
    pub fn put_be64(&mut self, v: u64) {
        self.bytes.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends an unsigned LEB128 varint.
    pub fn put_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.bytes.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.bytes.push(v as u8);
    }

    /// Appends a zigzag varint.
    pub fn put_varint(&mut self, v: i64) {
        self.put_uvarint(((v << 1) ^ (v >> 63)) as u64);
    }

    /// Appends a uvarint length and the string's bytes.
    pub fn put_uvarint_str(&mut self, s: &str) {
        self.put_uvarint(s.len() as u64);
        self.bytes.extend_from_slice(s.as_bytes());
    }

    /// Number of bytes written.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// A bounds-checked reader over a slice that starts at file offset `base`.
#[derive(Debug, Clone)]
pub struct Decbuf<'a> {
    data: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Decbuf<'a> {
    /// A reader over `data`, whose first byte is at file offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Self { data, pos: 0, base }
    }

    /// File offset of the next byte to read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    fn short(&self, what: &str, need: usize) -> Corruption {
        Corruption::new(
            self.offset(),
            format!(
                "truncated: {what} needs {need} bytes, {} left",
                self.remaining()
            ),
        )
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], Corruption> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| self.short(what, n))?;
        let out = self
            .data
            .get(self.pos..end)
            .ok_or_else(|| self.short(what, n))?;
        self.pos = end;
        Ok(out)
    }

    /// Reads a byte.
    pub fn byte(&mut self, what: &str) -> Result<u8, Corruption> {
        Ok(self.bytes(1, what)?.first().copied().unwrap_or(0))
    }

    /// Reads a big-endian `u32`.
    pub fn be32(&mut self, what: &str) -> Result<u32, Corruption> {
        let b = self.bytes(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }

    /// Reads a big-endian `u64`.
    pub fn be64(&mut self, what: &str) -> Result<u64, Corruption> {
        let b = self.bytes(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Reads an unsigned LEB128 varint of at most 10 bytes that fits 64 bits.
    pub fn uvarint(&mut self, what: &str) -> Result<u64, Corruption> {
        let start = self.offset();
        let mut value = 0u64;
        for i in 0..10u32 {
            let b = self.byte(what)?;
            let payload = u64::from(b & 0x7f);
            if i == 9 && payload > 1 {
                return Err(Corruption::new(
                    start,
                    format!("{what}: varint overflows 64 bits"),
                ));
            }
            value |= payload << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Corruption::new(
            start,
            format!("{what}: varint longer than 10 bytes"),
        ))
    }

    /// Reads a zigzag varint.
    pub fn varint(&mut self, what: &str) -> Result<i64, Corruption> {
        let u = self.uvarint(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// Reads a uvarint that must fit a `u32`.
    pub fn uvarint32(&mut self, what: &str) -> Result<u32, Corruption> {
        let start = self.offset();
        let v = self.uvarint(what)?;
        u32::try_from(v).map_err(|_| Corruption::new(start, format!("{what}: {v} exceeds 32 bits")))
    }

    /// Reads a uvarint length and that many bytes of UTF-8.
    pub fn uvarint_str(&mut self, what: &str) -> Result<&'a str, Corruption> {
        let len = self.uvarint(what)?;
        let start = self.offset();
        let len = usize::try_from(len).map_err(|_| self.short(what, usize::MAX))?;
        let b = self.bytes(len, what)?;
        std::str::from_utf8(b)
            .map_err(|e| Corruption::new(start, format!("{what}: not UTF-8: {e}")))
    }
}

/// Reads the section at `offset` of `file` laid out as `len <be32> | body (len bytes) | crc32c
/// <be32> (over body)`, checks the checksum and returns the body with its file offset. The
/// error's offset is the section's start.
pub fn be32_section<'a>(
    file: &'a [u8],
    offset: u64,
    what: &str,
) -> Result<(&'a [u8], u64), SectionError> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|s| *s <= file.len())
        .ok_or_else(|| {
            SectionError::Corrupt(Corruption::new(
                offset,
                format!(
                    "{what}: offset past the end of the file ({} bytes)",
                    file.len()
                ),
            ))
        })?;
    let mut d = Decbuf::new(file.get(start..).unwrap_or_default(), offset);
    let len = d.be32(what).map_err(SectionError::Corrupt)? as usize;
    let body_offset = d.offset();
    let body = d.bytes(len, what).map_err(SectionError::Corrupt)?;
    let stored = d.be32(what).map_err(SectionError::Corrupt)?;
    let computed = crc32c(body);
    if stored != computed {
        return Err(SectionError::Checksum {
            offset,
            stored,
            computed,
        });
    }
    Ok((body, body_offset))
}

/// Why a checksummed section could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionError {
    /// Truncated or malformed.
    Corrupt(Corruption),
    /// The checksum does not match.
    Checksum {
        /// Offset of the section.
        offset: u64,
        /// Stored checksum.
        stored: u32,
        /// Computed checksum.
        computed: u32,
    },
}

impl SectionError {
    /// The error for `path`.
    pub fn in_file(self, path: impl Into<std::path::PathBuf>) -> crate::Error {
        match self {
            SectionError::Corrupt(c) => c.in_file(path),
            SectionError::Checksum {
                offset,
                stored,
                computed,
            } => crate::Error::Checksum {
                path: path.into(),
                offset,
                stored,
                computed,
            },
        }
    }
}

impl From<Corruption> for SectionError {
    fn from(c: Corruption) -> Self {
        SectionError::Corrupt(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_match_go() {
        // Go: binary.PutUvarint(300) = [0xac, 0x02]; PutVarint(-1) = [0x01].
        let mut e = Encbuf::new();
        e.put_uvarint(300);
        e.put_varint(-1);
        e.put_varint(i64::MIN);
        e.put_uvarint(u64::MAX);
        assert_eq!(&e.bytes[..3], &[0xac, 0x02, 0x01]);
        let mut d = Decbuf::new(&e.bytes, 0);
        assert_eq!(d.uvarint("a").unwrap(), 300);
        assert_eq!(d.varint("b").unwrap(), -1);
        assert_eq!(d.varint("c").unwrap(), i64::MIN);
        assert_eq!(d.uvarint("d").unwrap(), u64::MAX);
        assert!(d.byte("e").is_err());
    }

    #[test]
    fn overlong_varints_are_errors_with_offsets() {
        let bytes = [0xffu8; 11];
        let mut d = Decbuf::new(&bytes, 100);
        let err = d.uvarint("x").unwrap_err();
        assert_eq!(err.offset, 100);
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // The standard check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }
}
