//! `GET /api/v1/anomalies` and `pulsedb anomalies` on a real server and
//! data directory: of three series, the one whose level jumps comes first,
//! abnormal since about the jump; bad parameters get 400.
#![allow(clippy::unwrap_used)]

use pulsedb_testkit::server::{enc, now_ms, TestServer};

const DAY_MINUTES: i64 = 1_440;

/// A day of one sample a minute for three hosts; host "c" jumps in the last hour.
fn load(server: &TestServer) -> i64 {
    let end = now_ms() / 60_000 * 60;
    let mut body = String::new();
    for m in 0..DAY_MINUTES {
        let t = end - (DAY_MINUTES - 1 - m) * 60;
        for (host, jump) in [("a", 0.0), ("b", 0.0), ("c", if m >= DAY_MINUTES - 60 { 40.0 } else { 0.0 })] {
            let wobble = ((m * 7 + host.len() as i64 * 13) % 11) as f64 / 10.0;
            body.push_str(&format!("load,host={host} v={} {t}\n", 50.0 + wobble + jump));
        }
    }
    assert_eq!(server.post("/write?precision=s", "text/plain", body.as_bytes()).0, 204);
    end
}

#[test]
fn the_series_that_jumped_is_ranked_first_with_when_it_turned() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let end = load(&server);
    let path = format!("/api/v1/anomalies?match[]={}&time={end}&window=2h&history=1d", enc("load_v"));
    let (code, json) = server.json(&path);
    assert_eq!(code, 200, "{json}");
    let rows = json["data"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{json}");
    assert_eq!(rows[0]["metric"]["host"], "c", "{json}");
    let score: f64 = rows[0]["score"].as_str().unwrap().parse().unwrap();
    assert!(score >= pulsedb::ANOMALOUS, "{json}");
    let since = rows[0]["since"].as_f64().unwrap() as i64;
    let jump = end - 59 * 60;
    assert!((since - jump).abs() <= 10 * 60, "abnormal since {since}, jump at {jump}: {json}");
    for bad in ["/api/v1/anomalies", "/api/v1/anomalies?match[]=rate(x[5m])", "/api/v1/anomalies?match[]=x&window=-1h"]
    {
        let (code, json) = server.json(bad);
        assert_eq!(code, 400, "{bad}: {json}");
    }
}
