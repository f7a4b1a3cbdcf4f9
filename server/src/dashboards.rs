//! Dashboards: JSON files of panels (`--dashboards DIR`, every `*.json`
//! in it; without the flag, the ones that ship in `pulsedb-ui`), checked
//! at start — a file that is not valid JSON, has a key this format does
//! not know, or a panel whose query does not parse refuses the start with
//! the file's name and line — and served whole at `/api/v1/dashboards`
//! (pulsedb's own endpoint) for the UI. The format: `docs/dashboards.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::prom_api::json_response;
use super::AppState;

/// Largest dashboard file read (a dashboard is a few KiB).
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub panels: Vec<Panel>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub title: String,
    /// PromQL; a graph panel draws it as a range query, `stat` and `table` at the range's end.
    pub query: String,
    /// How values are written: `bytes`, `seconds`, `percent` (0–100),
    /// `percentunit` (0–1), or any other word shown after the number.
    #[serde(default)]
    pub unit: String,
    #[serde(default, rename = "type")]
    pub kind: PanelKind,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    #[default]
    Line,
    Area,
    Stat,
    Table,
}

/// A checked dashboard and where it came from.
#[derive(Clone, Debug, Serialize)]
pub struct LoadedDashboard {
    /// The file name without `.json`: the dashboard's address in the UI.
    pub name: String,
    pub file: String,
    #[serde(flatten)]
    pub dashboard: Dashboard,
}

/// Parses and checks one file's text; the error names `file` and the line.
pub fn parse(file: &str, text: &str) -> Result<Dashboard, String> {
    let dashboard: Dashboard =
        serde_json::from_str(text).map_err(|e| format!("{file}: line {} column {}: {e}", e.line(), e.column()))?;
    if dashboard.title.trim().is_empty() {
        return Err(format!("{file}: the dashboard has no title"));
    }
    for (i, panel) in dashboard.panels.iter().enumerate() {
        let line = line_of(text, &panel.query);
        let at = |what: String| format!("{file}: line {line}: panel {} ({:?}): {what}", i + 1, panel.title);
        if panel.query.trim().is_empty() {
            return Err(at("the query is empty".into()));
        }
        pulsedb::parse_query(&panel.query).map_err(|e| at(format!("the query does not parse: {e}")))?;
    }
    Ok(dashboard)
}

/// The line where `query` is written (JSON-escaped) in `text`, or 1.
fn line_of(text: &str, query: &str) -> usize {
    let quoted = serde_json::to_string(query).unwrap_or_default();
    text.find(&quoted).map_or(1, |at| text[..at].matches('\n').count() + 1)
}

/// Every `*.json` in `dir`, in name order, or the shipped ones when `dir` is `None`.
pub fn load(dir: Option<&Path>) -> Result<Vec<LoadedDashboard>, String> {
    let Some(dir) = dir else {
        return pulsedb_ui::SHIPPED_DASHBOARDS
            .iter()
            .map(|(file, bytes)| {
                let text = std::str::from_utf8(bytes).map_err(|e| format!("{file}: not UTF-8: {e}"))?;
                Ok(LoadedDashboard { name: stem(file), file: (*file).to_string(), dashboard: parse(file, text)? })
            })
            .collect();
    };
    let entries = std::fs::read_dir(dir).map_err(|e| format!("dashboards directory {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let shown = path.display().to_string();
            let size = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?.len();
            if size > MAX_FILE_BYTES {
                return Err(format!("{shown}: {size} bytes, more than a dashboard's limit of {MAX_FILE_BYTES}"));
            }
            let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(LoadedDashboard { name: stem(&name), file: shown.clone(), dashboard: parse(&shown, &text)? })
        })
        .collect()
}

fn stem(file: &str) -> String {
    file.strip_suffix(".json").unwrap_or(file).to_string()
}

pub(crate) async fn list(State(state): State<Arc<AppState>>) -> Response {
    json_response(json!(state.dashboards))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_shipped_dashboards_check() {
        let all = load(None).unwrap();
        let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["fleet", "business", "pulsedb"]);
        assert!(all.iter().all(|d| d.dashboard.panels.len() >= 4));
    }

    #[test]
    fn bad_files_are_named_with_their_line() {
        let e = parse(
            "a.json",
            "{\n  \"title\": \"x\",\n  \"panels\": [\n    {\"title\": \"p\", \"query\": \"up\", \"colour\": 1}\n  ]\n}",
        )
        .unwrap_err();
        assert!(e.starts_with("a.json: line 4 column") && e.contains("unknown field `colour`"), "{e}");
        let e = parse("b.json", "{\"title\": \"x\",\n\"panels\": [{\"title\": \"p\",\n \"query\": \"rate(up[5m]\"}]}")
            .unwrap_err();
        assert!(e.starts_with("b.json: line 3: panel 1 (\"p\"): the query does not parse"), "{e}");
        let e = parse(
            "c.json",
            "{\"title\": \"x\", \"panels\": [{\"title\": \"p\", \"query\": \"up\", \"type\": \"pie\"}]}",
        )
        .unwrap_err();
        assert!(e.contains("unknown variant `pie`"), "{e}");
        assert!(parse("d.json", "{\"title\": \"\", \"panels\": []}").unwrap_err().contains("no title"));
        assert!(parse("e.json", "not json").unwrap_err().starts_with("e.json: line 1 column "));
    }

    #[test]
    fn a_directory_loads_in_name_order_and_one_bad_file_fails_the_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.json"), r#"{"title": "B", "panels": [{"title": "p", "query": "up"}]}"#)
            .unwrap();
        std::fs::write(dir.path().join("a.json"), r#"{"title": "A", "panels": []}"#).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let all = load(Some(dir.path())).unwrap();
        assert_eq!(all.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(all[1].dashboard.panels[0].kind, PanelKind::Line);
        std::fs::write(dir.path().join("c.json"), "{").unwrap();
        assert!(load(Some(dir.path())).unwrap_err().contains("c.json: line 1"));
    }
}
