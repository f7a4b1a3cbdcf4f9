//! A destination's read position: how far into the WAL everything has been
//! sent (acknowledged by the receiver or dropped as the spec says), kept in
//! `<data-dir>/forward/<name>.position` so forwarding resumes there after a
//! restart or a crash. Written whole — temp file, fsync, rename, directory
//! fsync — so a crash leaves the old position or the new one; being behind
//! only re-sends (counted as duplicates), never loses.
//!
//! Format: one line `pulsedb-forward-position 1 <segment> <offset>`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use pulsedb::WalPosition;

pub(crate) const DIR: &str = "forward";
const MAGIC: &str = "pulsedb-forward-position 1";

pub(crate) fn path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join(DIR).join(format!("{name}.position"))
}

/// The saved position, `None` when the destination is new.
pub(crate) fn load(data_dir: &Path, name: &str) -> std::io::Result<Option<WalPosition>> {
    let path = path(data_dir, name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    parse(&text).map(Some).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: not a position: {text:?}", path.display()))
    })
}

/// `pulsedb-forward-position 1 <segment> <offset>`, the one line both files hold.
fn parse(text: &str) -> Option<WalPosition> {
    let mut fields = text.trim_end().strip_prefix(MAGIC)?.split_whitespace().map(str::parse::<u64>);
    match (fields.next(), fields.next(), fields.next()) {
        (Some(Ok(segment)), Some(Ok(offset)), None) => Some(WalPosition { segment, offset }),
        _ => None,
    }
}

pub(crate) fn save(data_dir: &Path, name: &str, position: WalPosition) -> std::io::Result<()> {
    let dir = data_dir.join(DIR);
    std::fs::create_dir_all(&dir)?;
    let path = path(data_dir, name);
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    writeln!(file, "{MAGIC} {} {}", position.segment, position.offset)?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(&dir)?.sync_all()
}

/// Where the last commit got to, written on every commit but not fsynced
/// (`<name>.sent`): after a crash it tells which re-read batches had been
/// sent before (counted as re-sent duplicates). Never trusted for more.
pub(crate) fn save_sent(data_dir: &Path, name: &str, position: WalPosition) -> std::io::Result<()> {
    let path = data_dir.join(DIR).join(format!("{name}.sent"));
    let tmp = path.with_extension("sent-tmp");
    std::fs::write(&tmp, format!("{MAGIC} {} {}\n", position.segment, position.offset))?;
    std::fs::rename(&tmp, &path)
}

pub(crate) fn load_sent(data_dir: &Path, name: &str) -> Option<WalPosition> {
    parse(&std::fs::read_to_string(data_dir.join(DIR).join(format!("{name}.sent"))).ok()?)
}

/// Every saved position under `data_dir` (any destination, present or not).
pub(crate) fn all(data_dir: &Path) -> Vec<(String, WalPosition)> {
    let Ok(entries) = std::fs::read_dir(data_dir.join(DIR)) else { return Vec::new() };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if let Some(name) = file.strip_suffix(".position") {
            if let Ok(Some(p)) = load(data_dir, name) {
                out.push((name.to_string(), p));
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The checked-in version 1 file (`docs/format/forward-position.md`).
    #[test]
    fn the_version_1_fixture_reads() {
        let text = include_str!("../tests/fixtures/forward-position-v1");
        assert_eq!(parse(text), Some(WalPosition { segment: 12, offset: 4096 }));
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), "x", WalPosition { segment: 12, offset: 4096 }).unwrap();
        assert_eq!(std::fs::read_to_string(path(dir.path(), "x")).unwrap(), text, "written byte for byte");
    }

    #[test]
    fn saved_positions_read_back_and_damage_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), "vm").unwrap(), None);
        save(dir.path(), "vm", WalPosition { segment: 3, offset: 4096 }).unwrap();
        save(dir.path(), "vm", WalPosition { segment: 4, offset: 8 }).unwrap();
        assert_eq!(load(dir.path(), "vm").unwrap(), Some(WalPosition { segment: 4, offset: 8 }));
        assert_eq!(all(dir.path()), [("vm".to_string(), WalPosition { segment: 4, offset: 8 })]);
        std::fs::write(path(dir.path(), "bad"), "garbage").unwrap();
        assert!(load(dir.path(), "bad").unwrap_err().to_string().contains("not a position"));
    }
}
