//! Table-driven corruption and torn-write cases. Each case builds a WAL of
//! known frames, damages its files, and asserts exactly which payloads
//! `Wal::open` replays (or exactly which error it returns), and exactly what
//! `repair` keeps.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::common::{fast, file_len, open_collect, replay_payloads};
use pulsedb_wal::{repair, CorruptionKind, Error, Wal, MAX_FRAME_LEN};
use tempfile::TempDir;

/// Payload number `id`: distinct, of varied lengths (13 to 52 bytes).
fn payload(id: usize) -> Vec<u8> {
    format!("frame-{id:03}-{}", "x".repeat(id * 7 % 40)).into_bytes()
}

/// A WAL whose segment `s` (1-based) holds `layout[s - 1]` frames, with
/// payloads numbered globally from 0. Segment `layout.len()` is the last.
struct Fixture {
    dir: TempDir,
    layout: Vec<usize>,
}

impl Fixture {
    fn build(layout: &[usize]) -> Self {
        let dir = TempDir::new().expect("tempdir");
        let wal = Wal::open(dir.path(), fast(), |_, _| Ok::<(), Error>(())).expect("open empty");
        let mut id = 0;
        for (i, &frames) in layout.iter().enumerate() {
            if i > 0 {
                wal.rotate().expect("rotate");
            }
            for _ in 0..frames {
                wal.write(&payload(id)).expect("write");
                id += 1;
            }
        }
        wal.close().expect("close");
        Self { dir, layout: layout.to_vec() }
    }

    fn path(&self, segment: u64) -> PathBuf {
        self.dir.path().join(format!("{segment:08}.wal"))
    }

    fn first_id(&self, segment: u64) -> usize {
        self.layout.iter().take(segment as usize - 1).sum()
    }

    /// Byte offset where frame `frame` (0-based, within the segment) starts;
    /// `frame == frames in segment` gives the end of the file.
    fn frame_start(&self, segment: u64, frame: usize) -> u64 {
        let first = self.first_id(segment);
        8 + (first..first + frame).map(|id| 8 + payload(id).len() as u64).sum::<u64>()
    }

    fn at(&self, spot: Spot) -> (PathBuf, u64) {
        let Spot(segment, frame, delta) = spot;
        let offset = self.frame_start(segment, frame) as i64 + delta;
        (self.path(segment), u64::try_from(offset).expect("offset in file"))
    }

    fn damage(&self, damage: &Damage) {
        let open = |path: &Path| OpenOptions::new().write(true).open(path).expect("open segment");
        match *damage {
            Damage::Nothing => {}
            Damage::CutAt(spot) => {
                let (path, offset) = self.at(spot);
                open(&path).set_len(offset).expect("cut");
            }
            Damage::FlipByte(spot) => {
                let (path, offset) = self.at(spot);
                let file = OpenOptions::new().read(true).write(true).open(&path).expect("open");
                let mut byte = [0];
                file.read_exact_at(&mut byte, offset).expect("read byte");
                file.write_all_at(&[byte[0] ^ 0x40], offset).expect("flip");
            }
            Damage::SetLen(spot, len) => {
                let (path, offset) = self.at(spot);
                open(&path).write_all_at(&len.to_le_bytes(), offset).expect("set len");
            }
            Damage::Append(segment, bytes) => {
                let path = self.path(segment);
                let file = open(&path);
                file.write_all_at(bytes, file.metadata().expect("metadata").len()).expect("append");
            }
            Damage::Header(segment, header) => {
                open(&self.path(segment)).write_all_at(header, 0).expect("header");
            }
            Damage::Replace(segment, bytes) => fs::write(self.path(segment), bytes).expect("replace"),
            Damage::Remove(segment) => fs::remove_file(self.path(segment)).expect("remove"),
        }
    }

    fn payloads(&self, ids: std::ops::Range<usize>) -> Vec<Vec<u8>> {
        ids.map(payload).collect()
    }

    fn segment_files(&self) -> Vec<(String, u64)> {
        let mut files: Vec<_> = fs::read_dir(self.dir.path())
            .expect("read dir")
            .map(|e| {
                let e = e.expect("entry");
                (e.file_name().to_string_lossy().into_owned(), e.metadata().expect("meta").len())
            })
            .collect();
        files.sort();
        files
    }
}

/// `Spot(segment, frame, delta)`: `delta` bytes after the start of `frame`
/// in `segment`.
#[derive(Clone, Copy, Debug)]
struct Spot(u64, usize, i64);

#[derive(Debug)]
enum Damage {
    Nothing,
    /// Truncate the file at the spot.
    CutAt(Spot),
    /// Flip one bit of the byte at the spot.
    FlipByte(Spot),
    /// Overwrite the u32 LE at the spot (a frame's length field).
    SetLen(Spot, u32),
    /// Append bytes to a segment.
    Append(u64, &'static [u8]),
    /// Overwrite a segment's 8-byte header.
    Header(u64, &'static [u8; 8]),
    /// Replace a segment's whole content.
    Replace(u64, &'static [u8]),
    /// Delete a segment file.
    Remove(u64),
}

#[derive(Debug)]
enum Opened {
    /// Open succeeds and replays exactly payloads `ids`; the last segment is
    /// cut right after the last survivor in it.
    Replays(std::ops::Range<usize>),
    /// Like `Replays`, and the last segment (whose header was torn) is deleted.
    ReplaysDeletingLast(std::ops::Range<usize>),
    Corruption {
        segment: u64,
        at: Spot,
        kind: CorruptionKind,
    },
    UnsupportedVersion {
        segment: u64,
        version: u8,
    },
}

#[derive(Debug)]
enum Repaired {
    /// `repair` succeeds and a following open replays exactly these payloads.
    Keeps(std::ops::Range<usize>),
    /// `repair` refuses: a newer format is not damage.
    RefusesVersion(u8),
}

struct Case {
    name: &'static str,
    layout: &'static [usize],
    damage: Damage,
    opened: Opened,
    repaired: Repaired,
}

const ZEROS_4K: &[u8] = &[0; 4096];
/// A frame header claiming a 100-byte payload that was never written.
const HEADER_ONLY: &[u8] = &[100, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef];

/// One row per scenario: (name, frames per segment, damage, what `open`
/// does, what `repair` keeps). Payload ids count from 0 across segments.
#[rustfmt::skip]
fn cases() -> Vec<Case> {
    use CorruptionKind::*;
    use Damage::*;
    use Opened::*;
    use Repaired::*;
    let huge = u32::try_from(MAX_FRAME_LEN).expect("fits") + 1;
    fn case(name: &'static str, layout: &'static [usize], damage: Damage, opened: Opened, repaired: Repaired) -> Case {
        Case { name, layout, damage, opened, repaired }
    }
    fn corruption(segment: u64, at: Spot, kind: CorruptionKind) -> Opened {
        Corruption { segment, at, kind }
    }
    vec![
        case("clean",                                          &[3, 3], Nothing,                          Replays(0..6),  Keeps(0..6)),
        // Torn tail of the last segment: cut off, earlier frames kept.
        case("torn tail: cut mid-header",                      &[3, 3], CutAt(Spot(2, 2, 3)),             Replays(0..5),  Keeps(0..5)),
        case("torn tail: cut mid-payload",                     &[3, 3], CutAt(Spot(2, 2, 10)),            Replays(0..5),  Keeps(0..5)),
        case("torn tail: last byte missing",                   &[3, 3], CutAt(Spot(2, 3, -1)),            Replays(0..5),  Keeps(0..5)),
        case("bad checksum: payload of last frame",            &[3, 3], FlipByte(Spot(2, 2, 9)),          Replays(0..5),  Keeps(0..5)),
        case("bad checksum: crc field of last frame",          &[3, 3], FlipByte(Spot(2, 2, 5)),          Replays(0..5),  Keeps(0..5)),
        case("bad checksum: middle frame cuts the rest",       &[3, 3], FlipByte(Spot(2, 1, 9)),          Replays(0..4),  Keeps(0..4)),
        case("bad checksum: first frame of last segment",      &[3, 3], FlipByte(Spot(2, 0, 12)),         Replays(0..3),  Keeps(0..3)),
        case("bad length: zero",                               &[3, 3], SetLen(Spot(2, 1, 0), 0),         Replays(0..4),  Keeps(0..4)),
        case("bad length: u32::MAX",                           &[3, 3], SetLen(Spot(2, 1, 0), u32::MAX),  Replays(0..4),  Keeps(0..4)),
        case("bad length: MAX_FRAME_LEN + 1",                  &[3, 3], SetLen(Spot(2, 1, 0), huge),      Replays(0..4),  Keeps(0..4)),
        case("bad length: past end of file",                   &[3, 3], SetLen(Spot(2, 1, 0), 10_000),    Replays(0..4),  Keeps(0..4)),
        case("bad length: shorter than written",               &[3, 3], SetLen(Spot(2, 1, 0), 3),         Replays(0..4),  Keeps(0..4)),
        case("partial write: frame header, payload missing",   &[3, 3], Append(2, HEADER_ONLY),           Replays(0..6),  Keeps(0..6)),
        case("trailing zeros (preallocated tail)",             &[3, 3], Append(2, ZEROS_4K),              Replays(0..6),  Keeps(0..6)),
        case("trailing zeros: fewer than a frame header",      &[3, 3], Append(2, &[0, 0, 0]),            Replays(0..6),  Keeps(0..6)),
        // Last segment whose header never reached the disk: deleted.
        case("last segment: shorter than its header",          &[3, 3], Replace(2, b"PWA"),               ReplaysDeletingLast(0..3), Keeps(0..3)),
        case("last segment: empty file",                       &[3, 3], Replace(2, b""),                  ReplaysDeletingLast(0..3), Keeps(0..3)),
        case("last segment: all zero",                         &[3, 3], Replace(2, ZEROS_4K),             ReplaysDeletingLast(0..3), Keeps(0..3)),
        case("only segment: all zero",                         &[3],    Replace(1, ZEROS_4K),             ReplaysDeletingLast(0..0), Keeps(0..0)),
        // Headers that are not ours: an error even in the last segment.
        case("last segment: zero header, frames after it",     &[3, 3], Header(2, &[0; 8]),               corruption(2, Spot(2, 0, -8), BadHeader), Keeps(0..3)),
        case("bad magic: last segment",                        &[3, 3], Header(2, b"XWAL\x01\0\0\0"),     corruption(2, Spot(2, 0, -8), BadHeader), Keeps(0..3)),
        case("bad magic: first segment",                       &[3, 3], Header(1, b"PWAX\x01\0\0\0"),     corruption(1, Spot(1, 0, -8), BadHeader), Keeps(0..0)),
        case("bad header: reserved byte set",                  &[3, 3], Header(1, b"PWAL\x01\0\x07\0"),   corruption(1, Spot(1, 0, -8), BadHeader), Keeps(0..0)),
        case("unknown version: last segment",                  &[3, 3], Header(2, b"PWAL\x02\0\0\0"),     UnsupportedVersion { segment: 2, version: 2 }, RefusesVersion(2)),
        case("unknown version: first segment",                 &[3, 3], Header(1, b"PWAL\x09\0\0\0"),     UnsupportedVersion { segment: 1, version: 9 }, RefusesVersion(9)),
        // Damage before the last segment: an error with its exact place.
        case("non-last segment: bad checksum",                 &[3, 3, 2], FlipByte(Spot(2, 1, 9)),       corruption(2, Spot(2, 1, 0), BadChecksum), Keeps(0..4)),
        case("non-last segment: truncated mid-payload",        &[3, 3], CutAt(Spot(1, 2, 10)),            corruption(1, Spot(1, 2, 0), Truncated),   Keeps(0..2)),
        case("non-last segment: bad length",                   &[3, 3], SetLen(Spot(1, 0, 0), 0),         corruption(1, Spot(1, 0, 0), BadLength),   Keeps(0..0)),
        case("non-last segment: trailing zeros",               &[3, 3], Append(1, ZEROS_4K),              corruption(1, Spot(1, 3, 0), BadLength),   Keeps(0..3)),
        case("non-last segment: torn header",                  &[3, 3], Replace(1, b"PW"),                corruption(1, Spot(1, 0, -8), Truncated),  Keeps(0..0)),
        case("missing middle segment",                         &[2, 2, 2], Remove(2),                     corruption(2, Spot(2, 0, -8), MissingSegment), Keeps(0..2)),
        case("missing first segments are fine",                &[2, 2, 2], Remove(1),                     Replays(2..6),  Keeps(2..6)),
    ]
}

#[test]
fn open_replays_exactly_the_intact_frames() {
    for case in cases() {
        let fixture = Fixture::build(case.layout);
        fixture.damage(&case.damage);
        let before = fixture.segment_files();
        let last = case.layout.len() as u64;
        let name = case.name;

        let deletes_last = matches!(case.opened, Opened::ReplaysDeletingLast(_));
        match case.opened {
            Opened::Replays(ids) | Opened::ReplaysDeletingLast(ids) => {
                let (wal, frames) =
                    open_collect(fixture.dir.path(), fast()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let replayed: Vec<_> = frames.into_iter().map(|(_, p)| p).collect();
                assert_eq!(replayed, fixture.payloads(ids.clone()), "{name}");

                // The damaged tail is gone from disk, not just skipped.
                if deletes_last {
                    // Deleted, and its number reused for the new segment.
                    assert_eq!(wal.current_segment(), last, "{name}");
                    assert_eq!(file_len(fixture.dir.path(), last), 8, "{name}: fresh segment");
                } else if fixture.path(last).exists() {
                    let kept_in_last = ids.end.saturating_sub(fixture.first_id(last));
                    assert_eq!(
                        file_len(fixture.dir.path(), last),
                        fixture.frame_start(last, kept_in_last),
                        "{name}: last segment cut after the survivors"
                    );
                    assert_eq!(wal.current_segment(), last + 1, "{name}");
                }

                // New frames go to the new segment; a reopen replays old + new.
                let new = b"written after recovery".to_vec();
                wal.append(&new).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                wal.close().unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let mut expected = fixture.payloads(ids);
                expected.push(new);
                assert_eq!(
                    replay_payloads(fixture.dir.path()).unwrap_or_else(|e| panic!("{name}: {e:?}")),
                    expected,
                    "{name}: reopen"
                );
            }
            Opened::Corruption { segment, at, kind } => {
                let err =
                    open_collect(fixture.dir.path(), fast()).err().unwrap_or_else(|| panic!("{name}: open must fail"));
                let (_, offset) = fixture.at(at);
                assert!(
                    matches!(err, Error::Corruption { segment: s, offset: o, kind: k } if s == segment && o == offset && k == kind),
                    "{name}: want Corruption {{ segment: {segment}, offset: {offset}, kind: {kind:?} }}, got {err:?}"
                );
                assert_eq!(fixture.segment_files(), before, "{name}: a failed open changes nothing");
            }
            Opened::UnsupportedVersion { segment, version } => {
                let err =
                    open_collect(fixture.dir.path(), fast()).err().unwrap_or_else(|| panic!("{name}: open must fail"));
                assert!(
                    matches!(err, Error::UnsupportedVersion { segment: s, version: v } if s == segment && v == version),
                    "{name}: got {err:?}"
                );
                assert_eq!(fixture.segment_files(), before, "{name}: a failed open changes nothing");
            }
        }
    }
}

#[test]
fn repair_keeps_exactly_the_frames_before_the_first_damage() {
    for case in cases() {
        let fixture = Fixture::build(case.layout);
        fixture.damage(&case.damage);
        let before = fixture.segment_files();
        let name = case.name;

        match case.repaired {
            Repaired::Keeps(ids) => {
                let report = repair(fixture.dir.path()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let clean = matches!(case.damage, Damage::Nothing | Damage::Remove(1));
                assert_eq!(report.is_clean(), clean, "{name}: {report:?}");
                if clean {
                    assert_eq!(fixture.segment_files(), before, "{name}: a clean repair changes nothing");
                }
                // A second repair finds nothing more to do.
                assert!(
                    repair(fixture.dir.path()).map(|r| r.is_clean()).unwrap_or(false),
                    "{name}: repair is idempotent"
                );
                let replayed =
                    replay_payloads(fixture.dir.path()).unwrap_or_else(|e| panic!("{name}: open after repair: {e:?}"));
                assert_eq!(replayed, fixture.payloads(ids), "{name}");
            }
            Repaired::RefusesVersion(version) => {
                let err = repair(fixture.dir.path()).err().unwrap_or_else(|| panic!("{name}: repair must refuse"));
                assert!(matches!(err, Error::UnsupportedVersion { version: v, .. } if v == version), "{name}: {err:?}");
                assert_eq!(fixture.segment_files(), before, "{name}: nothing is cut");
            }
        }
    }
}

#[test]
fn repair_reports_the_cut_of_a_non_last_segment() {
    let fixture = Fixture::build(&[3, 3, 2]);
    fixture.damage(&Damage::FlipByte(Spot(2, 1, 9)));
    let cut_at = fixture.frame_start(2, 1);
    let seg2_len = file_len(fixture.dir.path(), 2);
    let seg3_len = file_len(fixture.dir.path(), 3);

    let report = repair(fixture.dir.path()).expect("repair");

    let site = report.corruption.expect("damage found");
    assert_eq!((site.segment, site.offset, site.kind), (2, cut_at, CorruptionKind::BadChecksum));
    assert_eq!(report.segments_deleted, vec![3]);
    assert_eq!(report.bytes_dropped, (seg2_len - cut_at) + seg3_len);
    assert_eq!(file_len(fixture.dir.path(), 2), cut_at);

    let (wal, frames) = open_collect(fixture.dir.path(), fast()).expect("open after repair");
    let replayed: Vec<_> = frames.into_iter().map(|(_, p)| p).collect();
    assert_eq!(replayed, fixture.payloads(0..4));
    assert_eq!(wal.current_segment(), 3, "segment 3 was deleted, so it is reused");
    wal.close().expect("close");
}

#[test]
fn unrelated_files_are_ignored_and_kept() {
    let fixture = Fixture::build(&[2, 2]);
    for name in ["README", "1.wal", "000000001.wal", "00000002.wal.tmp", "checkpoint.00000002"] {
        fs::write(fixture.dir.path().join(name), b"not a segment").expect("write");
    }
    assert_eq!(replay_payloads(fixture.dir.path()).expect("open"), fixture.payloads(0..4));
    assert!(repair(fixture.dir.path()).expect("repair").is_clean());
    for name in ["README", "1.wal", "000000001.wal", "00000002.wal.tmp", "checkpoint.00000002"] {
        assert!(fixture.dir.path().join(name).exists(), "{name} kept");
    }
}
