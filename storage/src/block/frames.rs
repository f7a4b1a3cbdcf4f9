//! Writes a file of frames (`chunks`, `rollups`): byte strings appended to
//! an open frame, which is compressed and written once it reaches
//! [`format::FRAME_TARGET`]. Each string's place is the file offset of its
//! frame and its offset inside the frame's raw bytes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::format;
use super::meta::BlockVersion;
use crate::error::IoContext;
use crate::{fs, Result};

#[derive(Debug)]
pub(crate) struct FrameWriter {
    path: PathBuf,
    file: BufWriter<File>,
    /// Bytes written so far; the open frame starts here.
    len: u64,
    frame: Vec<u8>,
    encoded: Vec<u8>,
    zstd_level: i32,
}

impl FrameWriter {
    pub(crate) fn create(path: &Path, magic: &[u8; 4], version: BlockVersion, zstd_level: i32) -> Result<Self> {
        let file = File::create(path).context(|| format!("creating {}", path.display()))?;
        let mut file = BufWriter::with_capacity(1 << 20, file);
        let header = format::file_header(magic, version);
        file.write_all(&header).context(|| format!("writing {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            len: header.len() as u64,
            frame: Vec::with_capacity(format::FRAME_TARGET * 2),
            encoded: Vec::new(),
            zstd_level,
        })
    }

    /// Appends `bytes` to the open frame; returns the frame's file offset
    /// and the bytes' offset inside it.
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(u64, u32)> {
        let place = (self.len, self.frame.len() as u32);
        self.frame.extend_from_slice(bytes);
        if self.frame.len() >= format::FRAME_TARGET {
            self.flush_frame()?;
        }
        Ok(place)
    }

    fn flush_frame(&mut self) -> Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        self.encoded.clear();
        format::encode_frame(&self.frame, self.zstd_level, &mut self.encoded);
        self.file.write_all(&self.encoded).context(|| format!("writing {}", self.path.display()))?;
        self.len += self.encoded.len() as u64;
        self.frame.clear();
        Ok(())
    }

    /// Writes the open frame and fsyncs the file.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.flush_frame()?;
        let path = self.path;
        let file =
            self.file.into_inner().map_err(|e| e.into_error()).context(|| format!("writing {}", path.display()))?;
        fs::sync_file(&file, &path)
    }
}
