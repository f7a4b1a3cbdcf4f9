//! Runs the UI's JavaScript unit tests (`tests/ui.test.mjs`) with
//! `node --test`: Node is already needed to build this crate (build.rs).

use std::process::Command;

#[test]
fn javascript_unit_tests_pass() {
    // The package cargo runs the test in, not the one this binary was built
    // in: `scripts/test.sh`'s default target directory (outside the clone)
    // is shared by every clone, and a test binary built in another (since
    // deleted) clone stays fresh while its crate is unchanged. Every test
    // that reads the repository's files finds them so.
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let out = Command::new("node")
        .args(["--test", "tests/ui.test.mjs"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running node (scripts/setup-deps.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "node --test failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("# fail 0") && !stdout.contains("# pass 0"), "{stdout}");
}
