//! The web UI's files, embedded in the binary so `pulsedb serve` needs no
//! network and no files beside itself: the project's own HTML, CSS and JS
//! (`web/`, framework-free) and the uPlot chart library that `build.rs`
//! installs from npm. The server looks a path up with [`asset`] and serves
//! its bytes with its content type and [`Asset::etag`].

use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path under `/ui/`, e.g. `app.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// A strong ETag (quoted) from the bytes' hash: a browser revalidates
    /// and gets 304 until the binary serves different bytes.
    pub etag: String,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JSON: &str = "application/json";

macro_rules! web {
    ($path:literal, $type:expr) => {
        ($path, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $path)).as_slice(), $type)
    };
}

macro_rules! uplot {
    ($file:literal, $path:literal, $type:expr) => {
        ($path, include_bytes!(concat!(env!("PULSEDB_UI_UPLOT_DIR"), "/", $file)).as_slice(), $type)
    };
}

macro_rules! dashboard {
    ($file:literal) => {
        ($file, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/", $file)).as_slice())
    };
}

const FILES: &[(&str, &[u8], &str)] = &[
    web!("index.html", HTML),
    web!("app.css", CSS),
    web!("app.js", JS),
    web!("api.js", JS),
    web!("chart.js", JS),
    web!("query.js", JS),
    web!("complete.js", JS),
    web!("explore.js", JS),
    web!("anomaly.js", JS),
    web!("dashboards.js", JS),
    web!("timerange.js", JS),
    web!("functions.json", JSON),
    uplot!("uPlot.iife.min.js", "vendor/uPlot.iife.min.js", JS),
    uplot!("uPlot.min.css", "vendor/uPlot.min.css", CSS),
];

/// The dashboards that ship with pulsedb (`ui/dashboards/`), served when
/// `pulsedb serve` is given no `--dashboards` directory: (file name, JSON).
pub const SHIPPED_DASHBOARDS: &[(&str, &[u8])] =
    &[dashboard!("fleet.json"), dashboard!("business.json"), dashboard!("pulsedb.json")];

fn assets() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        FILES
            .iter()
            .map(|&(path, bytes, content_type)| Asset {
                path,
                bytes,
                content_type,
                etag: format!("\"{:016x}\"", xxhash_rust::xxh64::xxh64(bytes, 0)),
            })
            .collect()
    })
}

/// The file at `path` under `/ui/` (`""` is `index.html`), if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path.is_empty() { "index.html" } else { path };
    assets().iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_there_and_tagged_by_its_bytes() {
        let index = asset("").expect("index.html");
        assert_eq!(index.path, "index.html");
        assert!(std::str::from_utf8(index.bytes).expect("utf-8").contains("<html"));
        let uplot = asset("vendor/uPlot.iife.min.js").expect("uPlot");
        assert!(uplot.bytes.len() > 20_000, "uPlot is {} bytes", uplot.bytes.len());
        assert_ne!(index.etag, uplot.etag);
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("nope.js").is_none());
    }

    #[test]
    fn shipped_dashboards_are_json() {
        for (name, bytes) in SHIPPED_DASHBOARDS {
            assert!(std::str::from_utf8(bytes).is_ok_and(|s| s.trim_start().starts_with('{')), "{name}");
        }
    }
}
