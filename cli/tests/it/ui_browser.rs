//! The web UI in a real headless Chromium (Debian's, over WebDriver),
//! against a real `pulsedb serve` with known data: every page is loaded and
//! checked for what a person would see — the chart drawn with its legend,
//! table values equal to the API's, an autocomplete list, the explore
//! tables, the anomaly view's three layers, dashboards with their panels —
//! and for no console errors. Screenshots of each page go to
//! `<target>/tmp/ui-screenshots/`. Without a browser the test says so and
//! passes, unless `PULSEDB_REQUIRE_BROWSER=1` (set by `.ci/run`).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use pulsedb::{Batch, Labels, MetricMetadata, MetricType};
use pulsedb_formats::remote::encode_write_request;
use pulsedb_testkit::browser::Browser;
use pulsedb_testkit::server::{enc, now_ms, TestServer};

const HOSTS: usize = 6;
const WAIT: Duration = Duration::from_secs(30);

/// Two hours at 15 s: node_load1 for six hosts of one service (host 5
/// jumps in the last 10 minutes), orders_total for two services; with
/// metadata. Returns the last sample's time in seconds.
fn load(server: &TestServer) -> i64 {
    let end = now_ms() / 60_000 * 60_000;
    let mut batch = Batch::new();
    for i in 0..480 {
        let t = end - (479 - i) * 15_000;
        for h in 0..HOSTS {
            let wave = ((i as f64 / 40.0) + h as f64).sin() * 0.2;
            let jump = if h == 5 && i >= 440 { 5.0 } else { 0.0 };
            let host = format!("web-{h}");
            batch.push(
                Labels::metric("node_load1", [("host", host.as_str()), ("service", "api")]),
                t,
                1.0 + wave + jump,
            );
        }
        for (s, rate) in [("api", 3), ("cart", 1)] {
            batch.push(Labels::metric("orders_total", [("service", s)]), t, (i * rate) as f64);
        }
    }
    let metadata = [
        MetricMetadata {
            metric: "node_load1".into(),
            kind: MetricType::Gauge,
            help: "1m load average.".into(),
            unit: String::new(),
        },
        MetricMetadata {
            metric: "orders_total".into(),
            kind: MetricType::Counter,
            help: "Orders placed.".into(),
            unit: String::new(),
        },
    ];
    let (code, body) = server.remote_write(&encode_write_request(&batch, &metadata));
    assert_eq!(code, 204, "{body}");
    end / 1000
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots")
}

fn browser() -> Option<Browser> {
    if !Browser::available() {
        assert!(
            std::env::var("PULSEDB_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "PULSEDB_REQUIRE_BROWSER=1 but chromium or chromedriver is missing: run scripts/setup-deps.sh"
        );
        eprintln!(
            "ui_browser: skipped, no /usr/bin/chromium or /usr/bin/chromedriver (scripts/setup-deps.sh installs them)"
        );
        return None;
    }
    Some(Browser::start(1200, 900).unwrap())
}

/// Opens `hash` under /ui/ in a fresh document (so each page starts clean).
fn open(b: &Browser, server: &TestServer, hash: &str) {
    b.goto("about:blank").unwrap();
    b.goto(&server.url(&format!("/ui/{hash}"))).unwrap();
}

fn no_console_errors(b: &Browser, page: &str) {
    let errors = b.console_errors().unwrap();
    assert!(errors.is_empty(), "{page}: console errors: {errors:#?}");
}

fn texts(b: &Browser, css: &str) -> Vec<String> {
    b.find_all(css).unwrap().iter().map(|e| b.text(e).unwrap()).collect()
}

#[test]
fn every_page_shows_what_the_api_has() {
    let Some(b) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let end = load(&server);
    let shots = screenshots();

    // Query page, graph: one line per host, the shared label shown once.
    open(&b, &server, &format!("#/query?q=node_load1&range=1h&end={end}"));
    let chart = b.wait_for("#result[data-drawn]", WAIT).unwrap();
    assert_eq!(b.attribute(&chart, "data-drawn").unwrap().as_deref(), Some("6"));
    let legend = texts(&b, ".legend .entry");
    assert_eq!(legend.len(), HOSTS, "{legend:?}");
    assert!(legend.iter().all(|e| e.contains("host=\"web-") && !e.contains("service")), "{legend:?}");
    let common = texts(&b, ".legend .common");
    assert!(common.first().is_some_and(|c| c.contains("service=\"api\"")), "{common:?}");
    assert!(b.find_all(".chart canvas").unwrap().len() == 1, "one uPlot canvas");
    b.screenshot(&shots.join("query-graph.png")).unwrap();
    // Hovering shows the exact values at that time, one line per series under a time.
    b.hover(&b.find_all("#result .u-over").unwrap()[0], 0.5).unwrap();
    let tooltip = b.text(&b.wait_for("#result .tooltip", WAIT).unwrap()).unwrap();
    let lines: Vec<&str> = tooltip.lines().collect();
    assert_eq!(lines.len(), 1 + HOSTS, "{tooltip}");
    assert!(lines[1..].iter().all(|l| l.contains("{host=\"web-")), "{tooltip}");
    // A click on a legend entry hides that series.
    let first = b.find_all(".legend .entry").unwrap().remove(0);
    b.click(&first).unwrap();
    assert!(b.attribute(&first, "class").unwrap().unwrap_or_default().contains("off"));
    no_console_errors(&b, "query graph");

    // Drag across the chart: the range zooms to what was dragged over (kept in the URL).
    b.drag_across(&b.find_all("#result .u-over").unwrap()[0], 0.25, 0.5).unwrap();
    let zoomed = b.script("return location.hash", serde_json::json!([])).unwrap();
    let zoomed = zoomed.as_str().unwrap();
    let range = zoomed.split("range=").nth(1).and_then(|r| r.split('&').next()).unwrap_or("");
    assert!(
        range.starts_with("14m") || range.starts_with("15m") || range.starts_with("16m"),
        "a quarter of 1h: {zoomed}"
    );

    // Two queries on one chart, told apart by their number; both in the history.
    open(&b, &server, &format!("#/query?q=node_load1&q=orders_total&range=1h&end={end}"));
    let chart = b.wait_for("#result[data-drawn]", WAIT).unwrap();
    assert_eq!(b.attribute(&chart, "data-drawn").unwrap().as_deref(), Some("8"));
    let legend = texts(&b, ".legend .entry");
    assert_eq!(legend.iter().filter(|e| e.contains("#=\"2\"")).count(), 2, "{legend:?}");
    let history = b.find_all("button").unwrap().into_iter().find(|e| b.text(e).unwrap() == "History").unwrap();
    b.click(&history).unwrap();
    let past = texts(&b, "ul.history li");
    assert!(past.iter().any(|p| p == "orders_total") && past.iter().any(|p| p == "node_load1"), "{past:?}");
    no_console_errors(&b, "two queries");

    // Table: the same values the API answers for an instant query at the range's end.
    open(&b, &server, &format!("#/query?q=node_load1&tab=table&end={end}"));
    b.wait_for("#result[data-rendered]", WAIT).unwrap();
    let rows = texts(&b, "#result table.data tbody tr");
    let (code, api) = server.json(&format!("/api/v1/query?query=node_load1&time={end}"));
    assert_eq!(code, 200);
    let want = api["data"]["result"].as_array().unwrap();
    assert_eq!(rows.len(), want.len(), "{rows:?}");
    for s in want {
        let host = s["metric"]["host"].as_str().unwrap();
        let value = s["value"][1].as_str().unwrap();
        assert!(
            rows.iter().any(|r| r.contains(&format!("host=\"{host}\"")) && r.ends_with(value)),
            "no row for {host} = {value} in {rows:?}"
        );
    }
    b.screenshot(&shots.join("query-table.png")).unwrap();
    no_console_errors(&b, "query table");

    // Autocomplete: a metric name with its type from the metadata, then label values.
    open(&b, &server, "#/query");
    let editor = b.wait_for("textarea.expr", WAIT).unwrap();
    b.type_into(&editor, "node_lo").unwrap();
    b.wait_for("ul.complete li", WAIT).unwrap();
    let offered = texts(&b, "ul.complete li");
    assert!(offered.iter().any(|o| o.starts_with("node_load1") && o.contains("gauge")), "{offered:?}");
    b.type_into(&editor, "ad1{host=\"").unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let values = loop {
        let v = texts(&b, "ul.complete li");
        if v.iter().any(|x| x.starts_with("web-")) || std::time::Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(values.iter().filter(|v| v.starts_with("web-")).count(), HOSTS, "{values:?}");
    b.screenshot(&shots.join("query-autocomplete.png")).unwrap();
    no_console_errors(&b, "autocomplete");

    // Explore: the metrics with their metadata, cardinality, storage.
    open(&b, &server, "#/explore");
    b.wait_for("#page[data-rendered]", WAIT).unwrap();
    let metrics = texts(&b, "#metrics tbody tr");
    assert!(metrics.iter().any(|m| m.contains("node_load1") && m.contains("gauge") && m.contains("6")), "{metrics:?}");
    let cardinality = b.text(&b.wait_for("#cardinality", WAIT).unwrap()).unwrap();
    assert!(cardinality.contains("8 series") && cardinality.contains("service=api"), "{cardinality}");
    let storage = b.text(&b.wait_for("#storage", WAIT).unwrap()).unwrap();
    assert!(storage.contains("headSeries") && storage.contains("walBytes"), "{storage}");
    b.screenshot(&shots.join("explore.png")).unwrap();
    no_console_errors(&b, "explore");

    // Anomaly view: the line with its band, the anomalous points, the forecast.
    let series = enc("node_load1{host=\"web-5\"}");
    open(&b, &server, &format!("#/anomaly?q={series}&history=1h&range=2h&end={end}"));
    let chart = b.wait_for("#anomaly-chart[data-drawn]", WAIT).unwrap();
    assert_eq!(b.attribute(&chart, "data-drawn").unwrap().as_deref(), Some("3"));
    let legend = texts(&b, "#anomaly-chart .legend .entry");
    assert!(legend.iter().any(|l| l.starts_with("anomalous")) && legend.iter().any(|l| l.starts_with("forecast")));
    let note = texts(&b, "#page p.note").join(" ");
    let marked: usize =
        note.split(" anomalous points").next().and_then(|s| s.rsplit(' ').next()).unwrap().parse().unwrap();
    assert!(marked > 0, "the jump of web-5 is marked: {note}");
    b.screenshot(&shots.join("anomaly.png")).unwrap();
    no_console_errors(&b, "anomaly");

    // Dashboards: the three shipped, and one drawn with every panel.
    open(&b, &server, "#/dashboards");
    b.wait_for("#page[data-rendered]", WAIT).unwrap();
    let listed = texts(&b, "#page table.data tbody tr");
    assert_eq!(listed.len(), 3, "{listed:?}");
    open(&b, &server, &format!("#/dashboards/business?range=2h&end={end}"));
    b.wait_for("#page[data-rendered]", WAIT).unwrap();
    assert_eq!(b.find_all("#panels .panel").unwrap().len(), 6);
    let panels = b
        .script(
            "return [...document.querySelectorAll('#panels .panel')].map(p => \
             [p.querySelector('h3').textContent, p.querySelector('.panel-body').dataset.drawn || ''])",
            serde_json::json!([]),
        )
        .unwrap();
    let drawn = |title: &str| panels.as_array().unwrap().iter().find(|p| p[0] == title).map(|p| p[1].clone());
    assert_eq!(drawn("Orders per minute by service"), Some("2".into()), "{panels}");
    assert_eq!(drawn("Orders in the last hour"), Some("1".into()), "{panels}");
    assert_eq!(drawn("p99 latency by service"), Some("0".into()), "no such data here: {panels}");
    b.screenshot(&shots.join("dashboard-business.png")).unwrap();
    no_console_errors(&b, "dashboard");

    // pulsedb's own dashboard, from the metrics a server records into itself (every second here).
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--self-monitor-interval", "1s"]);
    std::thread::sleep(Duration::from_millis(2500));
    open(&b, &server, "#/dashboards/pulsedb?range=5m");
    b.wait_for("#page[data-rendered]", WAIT).unwrap();
    let head = b.wait_for("#panels .panel:nth-child(5) .panel-body[data-drawn]", WAIT).unwrap();
    assert_eq!(b.text(&b.find_all("#panels .panel:nth-child(5) h3").unwrap()[0]).unwrap(), "Head series");
    assert_eq!(b.attribute(&head, "data-drawn").unwrap().as_deref(), Some("1"), "one pulsedb instance");
    b.screenshot(&shots.join("dashboard-pulsedb.png")).unwrap();
    no_console_errors(&b, "pulsedb dashboard");
}
