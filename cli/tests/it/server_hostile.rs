//! Hostile requests against one real `pulsedb serve`: deep and long
//! queries, huge regexes, bodies that decompress to far more than the limit,
//! lying lengths, oversized headers, malformed HTTP, senders that stall, and
//! many idle connections. Every request is answered 2xx/4xx within a bound
//! (a stalled sender gets 408 or its connection closed), and afterwards the
//! server is up and serves the data written before.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use pulsedb_testkit::server::{enc, now_ms, TestServer};

/// Longest any hostile request may take to be answered (the server's query
/// timeout is 5 s, its header and body timeouts 2 s).
const BOUND: Duration = Duration::from_secs(15);

/// Sends raw bytes, then reads the answer's status code; `None` when the
/// server closed the connection without one.
fn raw(addr: &str, request: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    // A server may answer (and close) before reading everything we send.
    let _ = stream.write_all(request);
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                head.extend_from_slice(&buf[..n]);
                if head.windows(2).any(|w| w == b"\r\n") {
                    break;
                }
            }
        }
    }
    let line = String::from_utf8_lossy(&head);
    line.split_whitespace().nth(1).and_then(|code| code.parse().ok())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn hostile_requests_are_answered_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        dir.path(),
        &[
            "--max-body-bytes",
            "4194304",
            "--query-timeout",
            "5s",
            "--header-read-timeout",
            "2s",
            "--body-read-timeout",
            "2s",
            "--response-write-timeout",
            "2s",
        ],
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let now = now_ms() / 1000;
    let lines: String = (0..50).map(|i| format!("hostile,host=h{} v={i} {}\n", i % 5, now - 50 + i)).collect();
    assert_eq!(server.post("/write?precision=s", "text/plain", lines.as_bytes()).0, 204);

    let query = |q: &str| format!("/api/v1/query?query={}&time={now}", enc(q));
    // Long queries go in a form body, as Grafana sends them.
    let post_query = |q: &str| {
        let form = format!("query={}&time={now}", enc(q));
        server.post("/api/v1/query", "application/x-www-form-urlencoded", form.as_bytes())
    };
    let deep = |open: &str, inner: &str, close: &str, n: usize| format!("{}{inner}{}", open.repeat(n), close.repeat(n));
    let mut checked = 0;
    let mut answered = |what: &str, started: Instant, code: Option<u16>, allowed: &[u16]| {
        let elapsed = started.elapsed();
        assert!(elapsed < BOUND, "{what}: took {elapsed:?}");
        match code {
            Some(c) => assert!(allowed.contains(&c), "{what}: status {c}, expected one of {allowed:?}"),
            None => assert!(allowed.contains(&0), "{what}: connection closed without an answer"),
        }
        checked += 1;
    };

    // Queries: nesting, length, regexes, numbers, parameters.
    let queries: Vec<(&str, String, &[u16])> = vec![
        ("2,000 parentheses", deep("(", "hostile_v", ")", 2_000), &[400]),
        ("3,000 nested calls", deep("abs(", "hostile_v", ")", 3_000), &[400]),
        ("5,000 unary minus", format!("{}hostile_v", "-".repeat(5_000)), &[400]),
        ("5,000 unary minus on a number", format!("{}1", "-".repeat(5_000)), &[400]),
        ("2,000 nested aggregations", deep("sum(", "hostile_v", ")", 2_000), &[400]),
        ("100,000-term sum", format!("hostile_v{}", " + 1".repeat(100_000)), &[400]),
        ("20,000 `or`", format!("hostile_v{}", " or hostile_v".repeat(20_000)), &[400]),
        ("5,000 `^` right-deep", format!("{}2", "2 ^ ".repeat(5_000)), &[400]),
        ("1,000 nested subqueries", deep("max_over_time(", "hostile_v", "[5m:1m])", 1_000), &[400]),
        ("a regex over the size limit", format!("hostile_v{{host=~\"{}\"}}", "(a|b)".repeat(150_000)), &[400]),
        ("a catastrophic-backtracking regex", "hostile_v{host=~\"(h*)*x\"}".into(), &[200]),
        ("10,000 matchers", format!("hostile_v{{{}}}", "host!=\"x\",".repeat(10_000)), &[200]),
        ("100,000 grouping labels", format!("sum by ({}) (hostile_v)", "a,".repeat(100_000)), &[200]),
        ("a 512 kB string literal", format!("\"{}\"", "x".repeat(1 << 19)), &[200]),
        ("a query over 1 MiB", format!("\"{}\"", "x".repeat(2 << 20)), &[400]),
        ("a number past f64", "1e400 + hostile_v".into(), &[200, 400]),
        ("a subquery of a billion steps", "max_over_time(hostile_v[1000d:1ms])".into(), &[422, 503]),
        ("count_values over everything", "count_values(\"v\", hostile_v)".into(), &[200]),
        ("@ far in the future", "hostile_v @ 1e20".into(), &[200, 400]),
        ("an empty query", String::new(), &[400]),
        ("garbage", "}{)(][".into(), &[400]),
    ];
    for (what, q, allowed) in &queries {
        let started = Instant::now();
        let (code, _) = post_query(q);
        answered(what, started, Some(code), allowed);
    }
    for (what, path, allowed) in [
        ("a step of 0", format!("/api/v1/query_range?query=hostile_v&start=0&end={now}&step=0"), &[400][..]),
        ("a negative step", format!("/api/v1/query_range?query=hostile_v&start=0&end={now}&step=-1"), &[400]),
        ("11,001 points", "/api/v1/query_range?query=hostile_v&start=0&end=11001&step=1".into(), &[400]),
        ("end before start", "/api/v1/query_range?query=hostile_v&start=100&end=1&step=1".into(), &[400]),
        ("a time that is no time", "/api/v1/query?query=hostile_v&time=yesterday".into(), &[400]),
        ("a time past i64", "/api/v1/query?query=hostile_v&time=1e30".into(), &[400]),
        ("series matching everything", "/api/v1/series?match[]={__name__=~\".*\"}".into(), &[400]),
        ("a label name that is no name", "/api/v1/label/1-bad/values".into(), &[400]),
        ("an unknown path", "/no/such/thing".into(), &[404]),
    ] {
        let started = Instant::now();
        let (code, _) = server.get(&path.replace('{', "%7B").replace('}', "%7D").replace('"', "%22"));
        answered(what, started, Some(code), allowed);
    }

    // Write bodies: bombs, garbage, expansion.
    let zeros = gzip(&vec![b'x'; 64 << 20]);
    let started = Instant::now();
    let (code, _) = server.post_with("/write", &[("Content-Encoding", "gzip")], &zeros);
    answered("a gzip body of 64 MiB decompressed", started, Some(code), &[413]);
    let mut snappy_bomb = Vec::new();
    let mut declared: u64 = 1 << 40;
    while declared >= 0x80 {
        snappy_bomb.push((declared as u8) | 0x80);
        declared >>= 7;
    }
    snappy_bomb.push(declared as u8);
    snappy_bomb.extend_from_slice(&[0; 64]);
    let started = Instant::now();
    answered("snappy declaring 1 TiB", started, Some(server.remote_write(&snappy_bomb).0), &[400, 413]);
    let started = Instant::now();
    answered("snappy of garbage", started, Some(server.remote_write(&[0xff; 1000]).0), &[400]);
    let protobuf_garbage = snap::raw::Encoder::new().compress_vec(&[0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2]).unwrap();
    let started = Instant::now();
    answered("protobuf lying about a length", started, Some(server.remote_write(&protobuf_garbage).0), &[400]);
    let tags: String = (0..100_000).map(|i| format!(",t{i}=v")).collect();
    let started = Instant::now();
    let (code, _) = server.post("/write", "text/plain", format!("m{tags} f=1").as_bytes());
    answered("a line of 100,000 tags", started, Some(code), &[400, 413]);
    let tags: String = (0..200).map(|i| format!(",t{i}=v")).collect();
    let fields: Vec<String> = (0..40_000).map(|i| format!("f{i}=1")).collect();
    let started = Instant::now();
    let (code, _) = server.post("/write", "text/plain", format!("m{tags} {}", fields.join(",")).as_bytes());
    answered("200 tags x 40,000 fields", started, Some(code), &[400]);
    let started = Instant::now();
    let (code, _) = server.post("/write", "text/plain", b"m v=1e400");
    answered("a float past f64", started, Some(code), &[400]);
    let started = Instant::now();
    let (code, _) = server.post("/write", "text/plain", &[b'm', b' ', b'v', b'=', 0xff, 0xfe]);
    answered("line protocol that is not UTF-8", started, Some(code), &[400]);
    let started = Instant::now();
    let (code, _) = server.post("/write", "text/plain", format!("m,t={} v=1", "x".repeat(100_000)).as_bytes());
    answered("a 100 kB label value", started, Some(code), &[400]);
    let started = Instant::now();
    let form = b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000000\r\n\r\nquery=up";
    answered("a form body over the limit", started, raw(&addr, form), &[413]);

    // Malformed HTTP and lying lengths, on raw sockets.
    let raw_cases: Vec<(&str, Vec<u8>, &[u16])> = vec![
        ("a request line of garbage", b"\x00\x01\x02 nonsense\r\n\r\n".to_vec(), &[400, 0]),
        (
            "a 100 kB header",
            format!("GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(100_000)).into_bytes(),
            &[200, 431],
        ),
        (
            "a 1 MB header",
            format!("GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(1 << 20)).into_bytes(),
            &[431, 0],
        ),
        (
            "1,000 headers",
            format!("GET /-/healthy HTTP/1.1\r\nHost: x\r\n{}\r\n", "X-H: 1\r\n".repeat(1_000)).into_bytes(),
            &[431, 400, 0],
        ),
        (
            "Content-Length and Transfer-Encoding",
            b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
            &[204, 400, 0],
        ),
        (
            "a bad chunk size",
            b"POST /write HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nm v=1\r\n0\r\n\r\n".to_vec(),
            &[400, 0],
        ),
        (
            "a Content-Length over the limit",
            b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n".to_vec(),
            &[413],
        ),
        (
            "a Content-Length that is no number",
            b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n".to_vec(),
            &[400, 0],
        ),
        (
            "a body shorter than its Content-Length (stalls)",
            b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nm v=1".to_vec(),
            &[408, 0],
        ),
        ("headers that never end (stalls)", b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n".to_vec(), &[408, 0]),
        ("an HTTP version from the future", b"GET /-/healthy HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(), &[505, 400, 0]),
    ];
    for (what, bytes, allowed) in &raw_cases {
        let started = Instant::now();
        let code = raw(&addr, bytes);
        answered(what, started, code, allowed);
    }

    // 500 connections that send nothing: normal requests are served while
    // they are open, and the server closes them after its header timeout.
    let idle: Vec<TcpStream> = (0..500).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let started = Instant::now();
    let (code, _) = server.get("/-/healthy");
    answered("a request beside 500 idle connections", started, Some(code), &[200]);
    std::thread::sleep(Duration::from_secs(3));
    let closed = idle
        .into_iter()
        .filter(|s| {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // Closed: end of stream or a reset. A read that times out means
            // the server still holds the connection open.
            match (&*s).read(&mut [0u8; 16]) {
                Ok(0) => true,
                Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
                Ok(_) => false,
            }
        })
        .count();
    assert_eq!(closed, 500, "idle connections still open past the header timeout");
    checked += 1;

    // A client that pipelines 40 large responses and reads none of them:
    // once the socket buffers are full the server's write stalls, and after
    // the response write timeout it closes the connection rather than hold
    // it, and the responses, forever.
    let big = format!("/api/v1/query_range?query=hostile_v&start={}&end={now}&step=0.005", now - 50);
    let (code, body) = server.get(&big);
    assert_eq!(code, 200, "{body}");
    let mut reader = TcpStream::connect(&addr).unwrap();
    let request = format!("GET {big} HTTP/1.1\r\nHost: x\r\n\r\n");
    for _ in 0..40 {
        reader.write_all(request.as_bytes()).unwrap();
    }
    std::thread::sleep(Duration::from_secs(4));
    let started = Instant::now();
    reader.set_read_timeout(Some(BOUND)).unwrap();
    let mut received = 0usize;
    let ended = loop {
        match reader.read(&mut [0u8; 1 << 16]) {
            Ok(0) => break true,
            Ok(n) => received += n,
            Err(e) => break !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
        }
    };
    assert!(ended, "a connection whose client reads nothing is still open after the write timeout");
    assert!(received < 40 * body.len(), "all {received} bytes were sent: the test filled no buffer");
    assert!(started.elapsed() < BOUND, "reading 40 unread responses took {:?}", started.elapsed());
    checked += 1;

    assert!(checked >= 40, "only {checked} hostile requests");
    // Still up, and the data written before is all there.
    let (code, json) = server.json(&query("count_over_time(hostile_v[10m])"));
    assert_eq!(code, 200, "{json}");
    let total: f64 = json["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 50.0, "{json}");
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("pulsedb_http_handler_panics_total 0"), "a handler panicked");
}
