//! Runs the UI's JavaScript unit tests (`tests/ui.test.mjs`) with
//! `node --test`: Node is already needed to build this crate (build.rs).

use std::process::Command;

#[test]
fn javascript_unit_tests_pass() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("node")
        .args(["--test", "tests/ui.test.mjs"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running node (scripts/setup-deps.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "node --test failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("# fail 0") && !stdout.contains("# pass 0"), "{stdout}");
}
