//! Structure-aware fuzz inputs: the bytes a fuzzer mutates drive small
//! grammars that build what byte-level mutation rarely reaches — queries
//! nested thousands of levels deep or tens of thousands of terms long, huge
//! regexes and numbers, lines with many tags and fields, label sets past
//! every limit. The entry points run on a thread with the server's query
//! stack ([`pulsedb::QUERY_STACK_SIZE`]), as a request would, so a stack
//! overflow the server could hit is one here too.

use std::sync::OnceLock;
use std::time::Duration;

use pulsedb::{Batch, Db, EngineOptions, Labels, Options, Sample};

/// Reads the fuzzer's bytes as choices; past the end every choice is 0.
struct Choices<'a> {
    data: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A count in `0..=max`, skewed small, but reaching `max`: a selector
    /// byte, then two bytes of the count.
    fn count(&mut self, max: usize) -> usize {
        let scale = self.byte() % 4;
        let wide = usize::from(self.byte()) << 8 | usize::from(self.byte());
        match scale {
            0 => wide % 4,
            1 => wide % 64,
            _ => wide % (max + 1),
        }
    }

    fn pick<'s>(&mut self, options: &[&'s str]) -> &'s str {
        options.get(usize::from(self.byte()) % options.len()).copied().unwrap_or("")
    }
}

/// A query: a handful of grammar rules, each able to repeat tens of
/// thousands of times.
pub fn query_text(data: &[u8]) -> String {
    let mut c = Choices { data, at: 0 };
    let mut out = String::new();
    gen_query(&mut c, &mut out, 0);
    out
}

fn gen_query(c: &mut Choices<'_>, out: &mut String, level: usize) {
    // The grammar itself recurses only a few levels; depth comes from repetition.
    if level > 4 {
        out.push_str(c.pick(&["up", "1", "node_cpu{mode=\"idle\"}", "\"s\""]));
        return;
    }
    let n = c.count(20_000);
    match c.byte() % 14 {
        0 => wrap(c, out, level, &"(".repeat(n), &")".repeat(n)),
        1 => wrap(c, out, level, &"-".repeat(n), ""),
        2 => wrap(c, out, level, &"abs(".repeat(n), &")".repeat(n)),
        3 => wrap(c, out, level, &"sum by (a) (".repeat(n), &")".repeat(n)),
        4 => wrap(c, out, level, &"max_over_time(".repeat(n), &"[5m:1m])".repeat(n)),
        5 => {
            gen_query(c, out, level + 1);
            let op = c.pick(&[" + ", " or ", " * on() group_left ", " > bool ", " ^ ", " and "]);
            for _ in 0..n {
                out.push_str(op);
                out.push_str(c.pick(&["up", "1", "up offset 5m"]));
            }
        }
        6 => {
            out.push_str("up{");
            for i in 0..n {
                out.push_str(&format!("l{}{}\"v\",", i % 7, c.pick(&["=", "!=", "=~", "!~"])));
            }
            out.push('}');
        }
        7 => {
            out.push_str("up{job=~\"");
            let piece = c.pick(&["(a|b)", "a*", ".*", "[a-z]+", "(x+x+)+y", "\\\\d{1,1000}"]);
            out.push_str(&piece.repeat(n));
            out.push_str("\"}");
        }
        8 => out.push_str(c.pick(&["1e400", "-1e400", "0x7fffffffffffffff", "NaN", "Inf", "1e-400", "0.0000001"])),
        9 => {
            out.push_str("label_replace(");
            gen_query(c, out, level + 1);
            out.push_str(", \"dst\", \"$1\", \"src\", \"(.*)\")");
        }
        10 => {
            out.push_str("sum by (");
            out.push_str(&"a,".repeat(n));
            out.push_str(") (");
            gen_query(c, out, level + 1);
            out.push(')');
        }
        11 => {
            gen_query(c, out, level + 1);
            out.push_str(c.pick(&[" @ 1e20", " offset -1000y", " @ start()", "[1000d:1ms]", "[1y]"]));
        }
        12 => {
            out.push_str(c.pick(&["rate(", "quantile_over_time(0.5, ", "predict_linear("]));
            out.push_str("up[5m]");
            out.push_str(c.pick(&[")", ", 3600)", ""]));
        }
        _ => out.push_str(&"x".repeat(n)),
    }
}

fn wrap(c: &mut Choices<'_>, out: &mut String, level: usize, open: &str, close: &str) {
    out.push_str(open);
    gen_query(c, out, level + 1);
    out.push_str(close);
}

/// Runs `f` on a thread with the stack a server query runs with.
fn on_server_stack(f: impl FnOnce() + Send + 'static) {
    let thread = std::thread::Builder::new().stack_size(pulsedb::QUERY_STACK_SIZE).spawn(f).expect("spawning");
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

/// A small database every generated query is evaluated against.
fn database() -> &'static Db {
    static DB: OnceLock<(tempfile::TempDir, Db)> = OnceLock::new();
    let (_, db) = DB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = Options::default();
        options.background_maintenance = false;
        options.sync = pulsedb::SyncMode::Never;
        let mut db = Db::open(dir.path(), options).expect("opening the fuzz database");
        let mut batch = Batch::new();
        for job in ["a", "b"] {
            let samples = (0..100).map(|i| Sample::new(1_700_000_000_000 + i * 15_000, i as f64));
            batch.add(Labels::metric("up", [("job", job), ("a", "x")]), samples);
        }
        db.append(&batch).expect("loading the fuzz database");
        let mut query = EngineOptions::default();
        query.timeout = Duration::from_millis(200);
        query.max_samples = 100_000;
        db.set_query_options(query);
        (dir, db)
    });
    db
}

/// Generated queries: parsing never overflows the stack or panics; what
/// parses prints to text that parses the same; evaluation answers or fails
/// cleanly within its limits.
pub fn query_structured(data: &[u8]) {
    let text = query_text(data);
    on_server_stack(move || {
        let Ok(expr) = pulsedb::parse_query(&text) else { return };
        let printed = expr.to_string();
        let again = pulsedb::parse_query(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse again: {e}"));
        assert_eq!(again.to_string(), printed);
        let _ = database().query(&text, 1_700_000_001_000);
    });
}

/// A line-protocol body: lines with many tags, fields and escapes, huge and
/// odd numbers and timestamps.
pub fn line_protocol_text(data: &[u8]) -> Vec<u8> {
    let mut c = Choices { data, at: 0 };
    let mut out = String::new();
    for _ in 0..c.count(8).max(1) {
        out.push_str(c.pick(&["cpu", "m\\ x", "a\\,b", "_", "é"]));
        for i in 0..c.count(100_000) {
            out.push_str(&format!(
                ",{}{i}={}",
                c.pick(&["t", "host", "__name__", "a\\=b"]),
                c.pick(&["v", "x\\ y", ""])
            ));
        }
        out.push(' ');
        for i in 0..c.count(20_000).max(1) {
            if i > 0 {
                out.push(',');
            }
            let value = c.pick(&[
                "1",
                "1e400",
                "-0",
                "1i",
                "9223372036854775808i",
                "18446744073709551615u",
                "t",
                "\"s\"",
                "NaN",
            ]);
            out.push_str(&format!("f{i}={value}"));
        }
        out.push(' ');
        out.push_str(c.pick(&["", "0", "-1", "99999999999999999999", "1700000000000000000", "x"]));
        out.push('\n');
    }
    out.into_bytes()
}

/// Generated ingest bodies: line protocol (the parser stays within its
/// limits and never panics) and remote-write bodies with many or huge labels
/// (what decodes, re-encodes the same).
pub fn ingest_structured(data: &[u8]) {
    let body = line_protocol_text(data);
    let data = data.to_vec();
    on_server_stack(move || {
        let _ = pulsedb_formats::line_protocol::parse_bytes(
            &body,
            pulsedb_formats::line_protocol::Precision::Nanoseconds,
            0,
        );
        let mut c = Choices { data: &data, at: 0 };
        let mut batch = Batch::new();
        // At most 20 series × 200 labels × 10 kB: past every limit, within memory.
        for s in 0..c.count(20).max(1) {
            let pairs: Vec<(String, String)> =
                (0..c.count(200)).map(|i| (format!("l{i}"), "v".repeat(c.count(10_000)))).collect();
            let labels = Labels::new(pairs.into_iter().chain([("__name__".to_string(), format!("m{s}"))]));
            let value = f64::from_bits(u64::from(c.byte()) << 56 | u64::from(c.byte()));
            batch.push(labels, i64::from(c.byte()) << 40, value);
        }
        let body = pulsedb_formats::remote::encode_write(&batch);
        let decoded = pulsedb_formats::remote::decode_write(&body, 256 << 20).expect("our own body decodes");
        assert_eq!(crate::fuzzing::rows(&decoded), crate::fuzzing::rows(&batch));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_reach_deep_and_long_inputs() {
        let deep = query_text(&[2, 0x4e, 0x20, 0]);
        assert!(deep.len() > 20_000, "{}", deep.len());
        assert!(pulsedb::parse_query(&deep).unwrap_err().to_string().contains("limit"));
        for seed in 0..64u8 {
            query_structured(&[2, seed, 0x10, seed % 14, 1, 0, 9, seed]);
            ingest_structured(&[2, 0, seed % 9, 0, 2, seed, 0x30, 2, 0, 40, seed]);
        }
    }
}
