//! Durability through the server: concurrent remote-writers are stopped by
//! a SIGTERM (graceful: drain, flush, close, exit 0) and by a SIGKILL
//! (no warning); after a restart every acknowledged sample is served.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pulsedb::{Batch, Labels};
use pulsedb_formats::remote::{decode_read_response, encode_read, encode_write};
use pulsedb_testkit::server::{now_ms, TestServer};

const WRITERS: usize = 4;
const SERIES_PER_BATCH: usize = 50;

/// Runs writers until `stop`; returns, per writer, how many batches were acknowledged (2xx).
fn write_until_stopped(base: String, t0: i64, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<u64>> {
    (0..WRITERS)
        .map(|w| {
            let (base, stop) = (base.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut acked = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut b = Batch::new();
                    for s in 0..SERIES_PER_BATCH {
                        let labels = Labels::metric("restart", [("writer", w.to_string()), ("s", s.to_string())]);
                        b.push(labels, t0 + acked as i64, acked as f64);
                    }
                    let sent = ureq::post(&format!("{base}/api/v1/write"))
                        .set("Content-Encoding", "snappy")
                        .timeout(Duration::from_secs(10))
                        .send_bytes(&encode_write(&b));
                    match sent {
                        Ok(r) if r.status() == 204 => acked += 1,
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        // The server is going away: this batch is not acknowledged.
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

/// Per writer, the set of timestamps stored for every one of its series.
fn stored(server: &TestServer, t0: i64) -> BTreeMap<String, Vec<i64>> {
    let body = encode_read(&[(t0, t0 + 10_000_000, vec![(0, "__name__", "restart")])]);
    let response = ureq::post(&server.url("/api/v1/read")).set("Content-Encoding", "snappy").send_bytes(&body).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).unwrap();
    let results = decode_read_response(&bytes, 1 << 30).unwrap();
    results[0].iter().map(|s| (s.labels.to_string(), s.samples.iter().map(|x| x.t).collect())).collect()
}

fn check(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &[]);
    let t0 = now_ms() - 60_000;
    let stop = Arc::new(AtomicBool::new(false));
    let writers = write_until_stopped(server.base.clone(), t0, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    let status = server.stop_with(signal);
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<u64> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    if signal == "TERM" {
        assert!(status.success(), "graceful shutdown must exit 0, got {status}");
    }
    assert!(acked.iter().all(|&n| n > 0), "every writer should have been acknowledged at least once: {acked:?}");

    let server = TestServer::start(dir.path(), &[]);
    let stored = stored(&server, t0);
    for (w, &n) in acked.iter().enumerate() {
        for s in 0..SERIES_PER_BATCH {
            let key = format!("restart{{s=\"{s}\", writer=\"{w}\"}}");
            let times = stored.get(&key).map(Vec::as_slice).unwrap_or(&[]);
            // Every acknowledged batch k wrote t0 + k; later, unacknowledged ones may also be there.
            assert!(times.len() as u64 >= n, "SIG{signal}: {key} has {} samples, {n} were acknowledged", times.len());
            assert!(times.iter().take(n as usize).copied().eq((0..n as i64).map(|k| t0 + k)), "SIG{signal}: {key}");
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigterm() {
    check("TERM");
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    check("KILL");
}
