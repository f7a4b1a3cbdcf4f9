//! The fuzz entry point for rule files and their templates, with the
//! fixed series and the discarding appender it evaluates rules against.

/// Rule files and their templates. The first byte picks what the rest is:
/// a whole rule file, or a template put in an alert's label and
/// annotation. Checking never panics; a file that checks is evaluated
/// (templates expanded, their `query` run) against a few fixed series
/// without panicking or overflowing the stack.
pub fn rule_file(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let file = if mode % 2 == 0 {
        text.to_string()
    } else {
        let Ok(quoted) = serde_json::to_string(text) else { return };
        format!(
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      l: {quoted}\n    annotations:\n      a: {quoted}\n"
        )
    };
    let Ok(parsed) = pulsedb_rules::check_str("fuzz.yml", &file) else { return };
    let engine = pulsedb::Engine::default();
    for group in parsed.groups {
        let mut group =
            pulsedb_rules::RuleGroup::new(group, pulsedb::Labels::default()).with_external_url("http://127.0.0.1:9201");
        for t in [60_000, 120_000] {
            let _ = group.evaluate(&engine, &FixedSeries, &mut Discard, t);
        }
    }
}

/// Two `up` series with a sample every 15 s over the first 3 minutes.
struct FixedSeries;

impl pulsedb::Querier for FixedSeries {
    fn select(
        &self,
        matchers: &[pulsedb::Matcher],
        hints: &pulsedb::SelectHints,
    ) -> Result<Vec<pulsedb::Series>, pulsedb::StoreError> {
        let mut out = Vec::new();
        for instance in ["a:9100", "b.example.com:9100"] {
            let labels = pulsedb::Labels::metric("up", [("instance", instance), ("job", "node")]);
            if !matchers.iter().all(|m| m.matches(labels.get(m.name()).unwrap_or(""))) {
                continue;
            }
            let samples = (0..12)
                .map(|k| pulsedb::Sample::new(k * 15_000, (k % 2) as f64))
                .filter(|s| s.t >= hints.mint && s.t <= hints.maxt)
                .collect();
            out.push(pulsedb::Series { labels, samples });
        }
        Ok(out)
    }
}

/// Accepts and drops what rules write.
struct Discard;

impl pulsedb::Appender for Discard {
    fn append(&mut self, _: &pulsedb::Labels, _: i64, _: f64) -> Result<(), pulsedb::StoreError> {
        Ok(())
    }
    fn resolve(&mut self, _: &pulsedb::Labels) -> Result<pulsedb::SeriesHandle, pulsedb::StoreError> {
        Ok(pulsedb::SeriesHandle::new(0, pulsedb::SeriesRef(0)))
    }
    fn append_by_handle(&mut self, _: pulsedb::SeriesHandle, _: i64, _: f64) -> Result<(), pulsedb::StoreError> {
        Ok(())
    }
    fn pending(&self) -> usize {
        0
    }
    fn commit(&mut self) -> Result<(), pulsedb::StoreError> {
        Ok(())
    }
    fn rollback(&mut self) {}
}
