//! An HTTP proxy for forwarding tests that sits between pulsedb and a real
//! receiver and misbehaves on demand: passes requests through, refuses
//! connections (the receiver is down), answers a status of its choosing
//! (503, 429 with `Retry-After`, 400), or hangs without answering.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward to the receiver and return its answer.
    Pass,
    /// Close the connection without answering, as a dead receiver's port would.
    Down,
    /// Answer this status (and `Retry-After` seconds, if given) without forwarding.
    Status(u16, Option<u64>),
    /// Keep the connection open without answering until the mode changes.
    Hang,
    /// Forward, but only after this many milliseconds (a slow receiver).
    Slow(u64),
}

#[derive(Debug)]
pub struct FaultProxy {
    pub base: String,
    mode: Arc<Mutex<Mode>>,
    stop: Arc<AtomicBool>,
    /// Requests seen, and those forwarded and answered 2xx by the receiver.
    pub requests: Arc<AtomicU64>,
    pub passed: Arc<AtomicU64>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (a base URL).
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let base = format!("http://{}", listener.local_addr().expect("proxy address"));
        let proxy = Self {
            base,
            mode: Arc::new(Mutex::new(Mode::Pass)),
            stop: Arc::new(AtomicBool::new(false)),
            requests: Arc::default(),
            passed: Arc::default(),
        };
        let (mode, stop, requests, passed) =
            (proxy.mode.clone(), proxy.stop.clone(), proxy.requests.clone(), proxy.passed.clone());
        let upstream = upstream.trim_end_matches('/').to_string();
        std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (mode, stop, requests, passed, upstream) =
                            (mode.clone(), stop.clone(), requests.clone(), passed.clone(), upstream.clone());
                        std::thread::spawn(move || serve(conn, &upstream, &mode, &stop, &requests, &passed));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        proxy
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock() = mode;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
    }
}

fn serve(
    conn: TcpStream,
    upstream: &str,
    mode: &Mutex<Mode>,
    stop: &AtomicBool,
    requests: &AtomicU64,
    passed: &AtomicU64,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(write_half) = conn.try_clone() else { return };
    let mut out = write_half;
    let mut reader = BufReader::new(conn);
    loop {
        // Request line and headers.
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_string();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Relaxed);
        let current = mode.lock().clone();
        let (status, text, retry_after) = match current {
            Mode::Down => return,
            Mode::Hang => {
                while *mode.lock() == Mode::Hang && !stop.load(Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Mode::Status(code, after) => (code, format!("fault proxy: {code}"), after),
            Mode::Pass | Mode::Slow(_) => {
                if let Mode::Slow(ms) = current {
                    std::thread::sleep(Duration::from_millis(ms));
                }
                let mut request = ureq::post(&format!("{upstream}{path}")).timeout(Duration::from_secs(30));
                for (name, value) in &headers {
                    if [
                        "content-type",
                        "content-encoding",
                        "x-prometheus-remote-write-version",
                        "authorization",
                        "x-scope-orgid",
                    ]
                    .contains(&name.to_ascii_lowercase().as_str())
                    {
                        request = request.set(name, value);
                    }
                }
                match request.send_bytes(&body) {
                    Ok(r) => {
                        passed.fetch_add(1, Relaxed);
                        (r.status(), r.into_string().unwrap_or_default(), None)
                    }
                    Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default(), None),
                    Err(_) => (502, "fault proxy: upstream unreachable".to_string(), None),
                }
            }
        };
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n", text.len());
        if let Some(s) = retry_after {
            head.push_str(&format!("Retry-After: {s}\r\n"));
        }
        head.push_str("\r\n");
        if out.write_all(head.as_bytes()).and_then(|()| out.write_all(text.as_bytes())).is_err() {
            return;
        }
    }
}
