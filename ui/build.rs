//! Installs the UI's one npm dependency (uPlot, pinned by package-lock.json)
//! with `npm ci` into `OUT_DIR`, so `src/lib.rs` can embed it. Nothing is
//! written into the source tree and nothing is downloaded when npm's cache
//! (`~/.npm`) already holds the pinned version.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for file in ["package.json", "package-lock.json", "web"] {
        println!("cargo:rerun-if-changed={file}");
    }
    let npm_dir = out_dir.join("npm");
    std::fs::create_dir_all(&npm_dir).expect("creating OUT_DIR/npm");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(manifest_dir.join(file), npm_dir.join(file)).unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    let uplot = npm_dir.join("node_modules/uplot/dist");
    if !uplot.join("uPlot.iife.min.js").exists() {
        npm_ci(&npm_dir);
    }
    for file in ["uPlot.iife.min.js", "uPlot.min.css"] {
        assert!(uplot.join(file).exists(), "npm ci did not install uplot's dist/{file} under {}", uplot.display());
    }
    println!("cargo:rustc-env=PULSEDB_UI_UPLOT_DIR={}", uplot.display());
}

fn npm_ci(dir: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"])
        .current_dir(dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci` for the UI's chart library failed ({s}) in {}", dir.display()),
        Err(e) => panic!(
            "running `npm` for the UI's chart library: {e}. Install Node and npm (scripts/setup-deps.sh does, \
             from Debian's nodejs and npm packages)"
        ),
    }
}
