//! Chunk segment files of a block's `chunks/` directory (`000001`, `000002`, ...): the writer
//! and the reader.
//!
//! A segment is `magic 0x85BD40DD <be32> | version 1 <1 byte> | 3 zero bytes` followed by
//! chunks `len <uvarint> | encoding <1 byte> | data <len bytes> | crc32c(encoding, data) <be32>`.
//! A chunk reference is `segment_index << 32 | byte_offset`, where the first file (`000001`)
//! has index 0. A segment is at most [`MAX_SEGMENT_BYTES`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::encoding::{crc32c, Decbuf, Encbuf};
use crate::error::{io_err, Corruption, Error, Result};

/// Magic number at the start of every segment.
pub const SEGMENT_MAGIC: u32 = 0x85BD_40DD;

/// Segment format version.
pub const SEGMENT_VERSION: u8 = 1;

/// Bytes of the segment header (magic, version, padding).
pub const SEGMENT_HEADER_LEN: u64 = 8;

/// Largest segment Prometheus writes (512 MiB); we cut segments at the same size.
pub const MAX_SEGMENT_BYTES: u64 = 512 * 1024 * 1024;

/// A chunk reference: segment index in the high 32 bits, byte offset in the low 32.
pub fn chunk_ref(segment: u32, offset: u32) -> u64 {
    (u64::from(segment) << 32) | u64::from(offset)
}

/// The name of segment `index` (0-based): `000001` for 0.
pub fn segment_name(index: u32) -> String {
    format!("{:06}", u64::from(index) + 1)
}

/// Writes chunks into segment files under one `chunks/` directory.
#[derive(Debug)]
pub struct ChunkWriter {
    dir: PathBuf,
    current: Option<(PathBuf, BufWriter<File>)>,
    segment: u32,
    offset: u64,
    files: Vec<PathBuf>,
}

impl ChunkWriter {
    /// A writer into `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            current: None,
            segment: 0,
            offset: 0,
            files: Vec::new(),
        })
    }

    fn open_segment(&mut self) -> Result<()> {
        self.finish_segment()?;
        if !self.files.is_empty() {
            self.segment = self
                .segment
                .checked_add(1)
                .ok_or_else(|| Error::InvalidInput("more than 2^32 chunk segments".into()))?;
        }
        let path = self.dir.join(segment_name(self.segment));
        let file = File::create(&path).map_err(io_err(&path))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut header = Encbuf::new();
        header.put_be32(SEGMENT_MAGIC);
        header.put_byte(SEGMENT_VERSION);
        header.bytes.extend_from_slice(&[0, 0, 0]);
        out.write_all(&header.bytes).map_err(io_err(&path))?;
        self.offset = SEGMENT_HEADER_LEN;
        self.files.push(path.clone());
        self.current = Some((path, out));
        Ok(())
    }

    fn finish_segment(&mut self) -> Result<()> {
        if let Some((path, out)) = self.current.take() {
            let file = out.into_inner().map_err(|e| Error::Io {
                path: path.clone(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(io_err(&path))?;
        }
        Ok(())
    }

    /// Appends a chunk and returns its reference.
    pub fn write_chunk(&mut self, encoding: u8, data: &[u8]) -> Result<u64> {
        let mut head = Encbuf::new();
        head.put_uvarint(data.len() as u64);
        let size = head.len() as u64 + 1 + data.len() as u64 + 4;
        if self.current.is_none() || self.offset + size > MAX_SEGMENT_BYTES {
            self.open_segment()?;
        }
        let offset = u32::try_from(self.offset)
            .map_err(|_| Error::InvalidInput("chunk offset past 4 GiB".into()))?;
        let sum = crc32c::crc32c_append(crc32c(&[encoding]), data);
        let Some((path, out)) = self.current.as_mut() else {
            return Err(Error::InvalidInput("no open chunk segment".into()));
        };
        let w = |out: &mut BufWriter<File>, b: &[u8]| out.write_all(b);
        w(out, &head.bytes)
            .and_then(|()| w(out, &[encoding]))
            .and_then(|()| w(out, data))
            .and_then(|()| w(out, &sum.to_be_bytes()))
            .map_err(io_err(path))?;
        self.offset += size;
        Ok(chunk_ref(self.segment, offset))
    }

    /// Flushes and fsyncs the last segment; returns the files written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.finish_segment()?;
        Ok(std::mem::take(&mut self.files))
    }
}

/// One chunk as read from a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawChunk<'a> {
    /// The encoding byte (1 = XOR).
    pub encoding: u8,
    /// The chunk data.
    pub data: &'a [u8],
    /// File offset of `data`.
    pub data_offset: u64,
}

/// Parses the segment header of `bytes`.
pub fn check_segment_header(bytes: &[u8]) -> Result<(), Corruption> {
    let mut d = Decbuf::new(bytes, 0);
    let magic = d.be32("segment magic")?;
    if magic != SEGMENT_MAGIC {
        return Err(Corruption::new(
            0,
            format!("bad segment magic {magic:#010x}"),
        ));
    }
    let version = d.byte("segment version")?;
    if version != SEGMENT_VERSION {
        return Err(Corruption::new(
            4,
            format!("unknown segment version {version}"),
        ));
    }
    d.bytes(3, "segment header padding")?;
    Ok(())
}

/// Reads the chunk at byte `offset` of a segment's `bytes`, checking its CRC.
pub fn read_chunk(
    bytes: &[u8],
    offset: u64,
) -> Result<RawChunk<'_>, crate::encoding::SectionError> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|o| *o as u64 >= SEGMENT_HEADER_LEN && *o <= bytes.len())
        .ok_or_else(|| {
            Corruption::new(
                offset,
                format!("chunk offset outside the segment ({} bytes)", bytes.len()),
            )
        })?;
    let mut d = Decbuf::new(bytes.get(start..).unwrap_or_default(), offset);
    let len = d.uvarint("chunk length")?;
    let crc_start = d.offset();
    let len =
        usize::try_from(len).map_err(|_| Corruption::new(offset, "chunk length too large"))?;
    let encoding = d.byte("chunk encoding")?;
    let data_offset = d.offset();
    let data = d.bytes(len, "chunk data")?;
    let stored = d.be32("chunk checksum")?;
    let covered = bytes
        .get((crc_start as usize)..(data_offset as usize + len))
        .unwrap_or_default();
    let computed = crc32c(covered);
    if stored != computed {
        return Err(crate::encoding::SectionError::Checksum {
            offset,
            stored,
            computed,
        });
    }
    Ok(RawChunk {
        encoding,
        data,
        data_offset,
    })
}

/// The segment files of a block's `chunks/` directory, read into memory.
#[derive(Debug)]
pub struct ChunkReader {
    segments: Vec<(PathBuf, Vec<u8>)>,
}

impl ChunkReader {
    /// Reads every segment of `dir` (files named by 6-digit sequence numbers from `000001`, with
    /// no gap) and checks their headers.
    pub fn open(dir: &Path) -> Result<Self> {
        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Ok(seq) = name.parse::<u64>() {
                names.push((seq, entry.path()));
            }
        }
        names.sort();
        let mut segments = Vec::with_capacity(names.len());
        for (idx, (seq, path)) in names.into_iter().enumerate() {
            if seq != idx as u64 + 1 {
                return Err(Error::Corrupt {
                    path,
                    offset: 0,
                    message: format!("chunk segment {seq} where {} was expected", idx + 1),
                });
            }
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            check_segment_header(&bytes).map_err(|c| c.in_file(&path))?;
            segments.push((path, bytes));
        }
        Ok(Self { segments })
    }

    /// The chunk behind `reference`; the error names the segment file and offset.
    pub fn chunk(&self, reference: u64) -> Result<(RawChunk<'_>, &Path)> {
        let segment = (reference >> 32) as usize;
        let offset = reference & 0xffff_ffff;
        let Some((path, bytes)) = self.segments.get(segment) else {
            return Err(Error::Corrupt {
                path: self
                    .segments
                    .first()
                    .and_then(|(p, _)| p.parent())
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                offset,
                message: format!(
                    "chunk reference {reference:#x} names segment {} of {}",
                    segment + 1,
                    self.segments.len()
                ),
            });
        };
        let raw = read_chunk(bytes, offset).map_err(|e| e.in_file(path))?;
        Ok((raw, path))
    }
}
