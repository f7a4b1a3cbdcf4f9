//! A headless Chromium for the UI's tests, driven over W3C WebDriver by
//! Debian's `chromedriver` on a free loopback port: load a page, wait for
//! what a person would see, type, click, read the console, take a
//! screenshot. Nothing downloads a browser: [`Browser::start`] uses the
//! packaged `/usr/bin/chromium` or says it is missing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// W3C WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Debug)]
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

/// One element found on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// Whether Debian's chromium and chromedriver are installed.
    pub fn available() -> bool {
        Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()
    }

    /// Starts chromedriver and a headless Chromium window of `width` × `height`.
    pub fn start(width: u32, height: u32) -> Result<Self, String> {
        if !Self::available() {
            return Err(format!("{CHROMIUM} or {CHROMEDRIVER} is missing: run scripts/setup-deps.sh"));
        }
        let port = crate::server::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {CHROMEDRIVER}: {e}"))?;
        let profile = tempfile::tempdir().map_err(|e| format!("profile directory: {e}"))?;
        let mut browser =
            Self { driver, base: format!("http://127.0.0.1:{port}"), session: String::new(), _profile: profile };
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{}/status", browser.base)).call().is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not answer within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--no-first-run".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let created = browser.call("POST", "/session", Some(caps))?;
        browser.session =
            created["sessionId"].as_str().ok_or_else(|| format!("no sessionId in {created}"))?.to_string();
        Ok(browser)
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = if path.starts_with("/session/") || path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let request = ureq::request(method, &url).timeout(Duration::from_secs(60));
        let response = match body {
            Some(b) => request.send_json(b),
            None => request.call(),
        };
        let value: Value = match response {
            Ok(r) => r.into_json().map_err(|e| format!("{method} {path}: {e}"))?,
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                return Err(format!("{method} {path}: HTTP {code}: {text}"));
            }
            Err(e) => return Err(format!("{method} {path}: {e}")),
        };
        Ok(value.get("value").cloned().unwrap_or(Value::Null))
    }

    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.call("POST", "/url", Some(json!({ "url": url }))).map(|_| ())
    }

    /// Every element matching the CSS selector, now.
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let found = self.call("POST", "/elements", Some(json!({ "using": "css selector", "value": css })))?;
        Ok(found
            .as_array()
            .map(|all| all.iter().filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_string()))).collect())
            .unwrap_or_default())
    }

    /// The first element matching `css`, waiting up to `timeout` for it.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.find_all(css)?.into_iter().next() {
                return Ok(e);
            }
            if Instant::now() > deadline {
                let errors = self.console_errors().unwrap_or_default();
                return Err(format!("no element {css:?} after {timeout:?}; console errors: {errors:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn text(&self, e: &Element) -> Result<String, String> {
        Ok(self.call("GET", &format!("/element/{}/text", e.0), None)?.as_str().unwrap_or("").to_string())
    }

    pub fn attribute(&self, e: &Element, name: &str) -> Result<Option<String>, String> {
        Ok(self.call("GET", &format!("/element/{}/attribute/{name}", e.0), None)?.as_str().map(str::to_string))
    }

    pub fn click(&self, e: &Element) -> Result<(), String> {
        self.call("POST", &format!("/element/{}/click", e.0), Some(json!({}))).map(|_| ())
    }

    /// Moves the mouse over the element's middle, `at` (a fraction) of its width.
    pub fn hover(&self, e: &Element, at: f64) -> Result<(), String> {
        let rect = self.call("GET", &format!("/element/{}/rect", e.0), None)?;
        let width = rect["width"].as_f64().ok_or_else(|| format!("no width in {rect}"))?;
        let actions = json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [{ "type": "pointerMove", "origin": { ELEMENT: e.0 }, "x": ((at - 0.5) * width).round() as i64, "y": 0 }],
        }]});
        self.call("POST", "/actions", Some(actions)).map(|_| ())
    }

    /// Drags the mouse across the element's middle, from `from` to `to`
    /// (fractions of its width), as a person selecting a span does.
    pub fn drag_across(&self, e: &Element, from: f64, to: f64) -> Result<(), String> {
        let rect = self.call("GET", &format!("/element/{}/rect", e.0), None)?;
        let width = rect["width"].as_f64().ok_or_else(|| format!("no width in {rect}"))?;
        // Offsets are from the element's centre.
        let x = |f: f64| ((f - 0.5) * width).round() as i64;
        let origin = json!({ ELEMENT: e.0 });
        let actions = json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "origin": origin, "x": x(from), "y": 0 },
                { "type": "pointerDown", "button": 0 },
                { "type": "pointerMove", "origin": origin, "x": x((from + to) / 2.0), "y": 0, "duration": 50 },
                { "type": "pointerMove", "origin": origin, "x": x(to), "y": 0, "duration": 50 },
                { "type": "pointerUp", "button": 0 },
            ],
        }]});
        self.call("POST", "/actions", Some(actions)).map(|_| ())
    }

    /// Types `text` into the element as keystrokes (`\u{E007}` is Enter).
    pub fn type_into(&self, e: &Element, text: &str) -> Result<(), String> {
        self.call("POST", &format!("/element/{}/value", e.0), Some(json!({ "text": text }))).map(|_| ())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn script(&self, script: &str, args: Value) -> Result<Value, String> {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Writes a PNG of the window to `path`.
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        use base64::Engine as _;
        let data = self.call("GET", "/screenshot", None)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or(""))
            .map_err(|e| format!("screenshot: {e}"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The console's messages at level SEVERE (errors, uncaught exceptions,
    /// failed loads) since the last call.
    pub fn console_errors(&self) -> Result<Vec<String>, String> {
        let log = self.call("POST", "/se/log", Some(json!({ "type": "browser" })))?;
        Ok(log
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|m| m["level"] == "SEVERE")
                    .map(|m| m["message"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
