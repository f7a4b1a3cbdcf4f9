//! The rule-file corpus of `testdata/rules/`: pulsedb accepts `valid/` and
//! refuses `invalid/`, and gives the same verdict as `promtool check rules`
//! (Debian's Prometheus 2.42, installed by scripts/setup-deps.sh) on every
//! file, except the `pulsedb-only-` ones promtool 2.42 is too old for.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned()))
        .join("../testdata/rules")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn promtool_accepts(path: &Path) -> Option<bool> {
    let out = Command::new("promtool").args(["check", "rules"]).arg(path).output().ok()?;
    Some(out.status.success())
}

#[test]
fn the_corpus_is_judged_as_promtool_judges_it() {
    let (valid, invalid) = (corpus("valid"), corpus("invalid"));
    assert!(valid.len() >= 6 && invalid.len() >= 15, "corpus too small");
    let mut compared = 0;
    for (files, want) in [(&valid, true), (&invalid, false)] {
        for path in files {
            let ours = pulsedb_rules::load_file(path);
            assert_eq!(ours.is_ok(), want, "{}: {:?}", path.display(), ours.err().map(|e| e.to_string()));
            if let Err(e) = &ours {
                assert!(e.to_string().contains(&path.display().to_string()), "the error names no file: {e}");
            }
            let newer = path.file_name().unwrap().to_string_lossy().starts_with("pulsedb-only-");
            if let Some(theirs) = promtool_accepts(path) {
                compared += 1;
                if newer {
                    assert!(!theirs, "{}: promtool 2.42 should refuse a newer field", path.display());
                } else {
                    assert_eq!(theirs, want, "{}: promtool disagrees", path.display());
                }
            }
        }
    }
    eprintln!("{compared} files compared with promtool");
}

#[test]
fn refusals_say_where_and_why() {
    let text =
        std::fs::read_to_string(corpus("invalid").into_iter().find(|p| p.ends_with("not_yaml.yml")).unwrap()).unwrap();
    let err = pulsedb_rules::check_str("not_yaml.yml", &text).unwrap_err().to_string();
    assert!(err.contains("line 5"), "{err}");
    let err = pulsedb_rules::check_str("x.yml", "groups:\n- name: g\n  rules:\n  - record: x\n    expr: sum(up\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("x.yml") && err.contains("group \"g\", rule 1") && err.contains("could not parse expression"),
        "{err}"
    );
}
