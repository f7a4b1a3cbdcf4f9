//! Looking at and copying data directories from the outside.

use std::path::{Path, PathBuf};

/// The registered block directories of a data directory, sorted (no `.tmp-`/`.deleted-`).
pub fn block_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut blocks: Vec<PathBuf> = std::fs::read_dir(dir.join("blocks"))
        .expect("blocks/ is readable")
        .map(|e| e.expect("a blocks/ entry").path())
        .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    blocks.sort();
    blocks
}

/// Copies `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the original") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("its type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
