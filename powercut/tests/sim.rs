//! The power-cut model on plain files, driven through the same hooks the
//! WAL and storage call.
#![allow(clippy::unwrap_used)]

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use pulsedb_powercut::{sync_dir, sync_file, CutOptions, PowerCut};

fn no_tails() -> CutOptions {
    let mut o = CutOptions::default();
    o.torn_tails = false;
    o
}

fn fsync(file: &File) {
    sync_file(file, || file.sync_all()).unwrap();
}

fn dsync(dir: &Path) {
    sync_dir(dir, || File::open(dir)?.sync_all()).unwrap();
}

fn append(path: &Path, bytes: &[u8]) -> File {
    let mut f = OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn image(cut: &PowerCut, parent: &Path) -> std::path::PathBuf {
    let dest = parent.join("image");
    cut.materialize(&dest).unwrap();
    dest
}

#[test]
fn unsynced_bytes_and_unsynced_entries_are_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("before"), b"there at install").unwrap();
    let cut = PowerCut::install(&root, no_tails()).unwrap();

    let f = append(&root.join("log"), b"synced;");
    fsync(&f);
    dsync(&root);
    append(&root.join("log"), b"not synced");
    let g = append(&root.join("orphan"), b"synced, entry never synced");
    fsync(&g);
    cut.cut_now();
    assert!(cut.has_cut());
    assert!(cut.errors().is_empty(), "{:?}", cut.errors());

    let img = image(&cut, tmp.path());
    assert_eq!(fs::read(img.join("before")).unwrap(), b"there at install");
    assert_eq!(fs::read(img.join("log")).unwrap(), b"synced;");
    assert!(!img.join("orphan").exists());
}

#[test]
fn a_removal_or_rename_is_undone_unless_its_directory_was_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("blocks")).unwrap();
    fs::write(root.join("blocks/old"), b"old block").unwrap();
    let cut = PowerCut::install(&root, no_tails()).unwrap();

    // A block written under a temporary name, synced, renamed, parent synced.
    let tmp_block = root.join("blocks/.tmp-new");
    fs::create_dir(&tmp_block).unwrap();
    let f = append(&tmp_block.join("chunks"), b"new block");
    fsync(&f);
    dsync(&tmp_block);
    fs::rename(&tmp_block, root.join("blocks/new")).unwrap();
    dsync(&root.join("blocks"));
    // Removed, but the removal never synced.
    fs::remove_file(root.join("blocks/old")).unwrap();
    cut.cut_now();

    let img = image(&cut, tmp.path());
    assert_eq!(fs::read(img.join("blocks/new/chunks")).unwrap(), b"new block");
    assert!(!img.join("blocks/.tmp-new").exists());
    assert_eq!(fs::read(img.join("blocks/old")).unwrap(), b"old block");
}

#[test]
fn a_renamed_directory_keeps_its_old_name_if_the_rename_was_not_synced() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir(&root).unwrap();
    let cut = PowerCut::install(&root, no_tails()).unwrap();
    let staged = root.join(".tmp-x");
    fs::create_dir(&staged).unwrap();
    fsync(&append(&staged.join("f"), b"bytes"));
    dsync(&staged);
    dsync(&root);
    fs::rename(&staged, root.join("x")).unwrap();
    cut.cut_now();
    let img = image(&cut, tmp.path());
    assert_eq!(fs::read(img.join(".tmp-x/f")).unwrap(), b"bytes");
    assert!(!img.join("x").exists());
}

#[test]
fn torn_tails_keep_a_prefix_of_the_unsynced_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut kept_some = false;
    for seed in 0..16 {
        let root = tmp.path().join(format!("data{seed}"));
        fs::create_dir(&root).unwrap();
        let mut options = CutOptions::default();
        options.seed = seed;
        let cut = PowerCut::install(&root, options).unwrap();
        let f = append(&root.join("log"), b"0123");
        fsync(&f);
        dsync(&root);
        append(&root.join("log"), b"456789");
        cut.cut_now();
        let dest = tmp.path().join(format!("image{seed}"));
        cut.materialize(&dest).unwrap();
        let got = fs::read(dest.join("log")).unwrap();
        assert!(b"0123456789".starts_with(&got) && got.len() >= 4, "{got:?}");
        kept_some |= got.len() > 4;
        assert_eq!(cut.torn_bytes(), got.len() as u64 - 4);
    }
    assert!(kept_some, "no seed kept any unsynced byte");
}

#[test]
fn the_cut_falls_after_the_chosen_durability_point_and_runs_the_witness() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let cut = PowerCut::install(&root, no_tails()).unwrap();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let witness = std::sync::Arc::clone(&seen);
    cut.cut_after(3);
    cut.on_cut(move || witness.store(1, std::sync::atomic::Ordering::SeqCst));
    let f = append(&root.join("log"), b"a");
    fsync(&f); // 1
    dsync(&root); // 2
    append(&root.join("log"), b"b");
    fsync(&f); // 3: the cut
    append(&root.join("log"), b"c");
    fsync(&f); // after the cut: not recorded
    assert_eq!(cut.cause().as_deref(), Some("fsync of log"));
    assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1);
    let img = image(&cut, tmp.path());
    assert_eq!(fs::read(img.join("log")).unwrap(), b"ab");
}

#[test]
fn the_index_is_its_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    fs::create_dir_all(root.join("index")).unwrap();
    fs::write(root.join("index/CURRENT"), b"at install").unwrap();
    let cut = PowerCut::install(&root, no_tails()).unwrap();
    fs::write(root.join("index/CURRENT"), b"unsynced").unwrap();
    pulsedb_powercut::index_synced(&root.join("index"), |dest| {
        fs::create_dir(dest)?;
        fs::write(dest.join("CURRENT"), b"checkpoint")
    })
    .unwrap();
    cut.cut_now();
    let img = image(&cut, tmp.path());
    assert_eq!(fs::read(img.join("index/CURRENT")).unwrap(), b"checkpoint");
}

#[test]
fn a_file_rewritten_in_place_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("data");
    let cut = PowerCut::install(&root, no_tails()).unwrap();
    let f = OpenOptions::new().create(true).truncate(true).write(true).open(root.join("log")).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"abc", 0).unwrap();
    fsync(&f);
    std::os::unix::fs::FileExt::write_all_at(&f, b"X", 0).unwrap();
    fsync(&f);
    assert_eq!(cut.errors().len(), 1, "{:?}", cut.errors());
}

#[test]
fn without_a_sim_the_hooks_only_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let f = append(&tmp.path().join("x"), b"x");
    let mut ran = false;
    sync_file(&f, || {
        ran = true;
        Ok(())
    })
    .unwrap();
    assert!(ran);
}
