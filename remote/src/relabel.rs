//! What goes to a destination: series matching any of its `pulsedb_match`
//! selectors (all series when there are none), then its
//! `write_relabel_configs` `keep` and `drop` rules in order, with
//! Prometheus' semantics (source label values joined by the separator,
//! the regex anchored at both ends).

use pulsedb::{Labels, Matcher};
use regex::Regex;

#[derive(Clone, Debug)]
pub(crate) struct Rule {
    keep: bool,
    source_labels: Vec<String>,
    separator: String,
    regex: Regex,
}

impl Rule {
    /// A `keep` or `drop` rule.
    pub(crate) fn new(
        action: &str,
        source_labels: Vec<String>,
        separator: String,
        regex: &str,
    ) -> Result<Self, regex::Error> {
        Ok(Self { keep: action == "keep", source_labels, separator, regex: Regex::new(&format!("^(?:{regex})$"))? })
    }

    fn passes(&self, labels: &Labels) -> bool {
        let joined =
            self.source_labels.iter().map(|n| labels.get(n).unwrap_or("")).collect::<Vec<_>>().join(&self.separator);
        self.regex.is_match(&joined) == self.keep
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Filter {
    selectors: Vec<Vec<Matcher>>,
    rules: Vec<Rule>,
}

impl Filter {
    pub(crate) fn new(selectors: Vec<Vec<Matcher>>, rules: Vec<Rule>) -> Self {
        Self { selectors, rules }
    }

    /// Whether every series passes (nothing to check per series).
    pub(crate) fn is_empty(&self) -> bool {
        self.selectors.is_empty() && self.rules.is_empty()
    }

    /// Whether the series goes to the destination.
    pub(crate) fn keeps(&self, labels: &Labels) -> bool {
        let selected = self.selectors.is_empty()
            || self.selectors.iter().any(|set| set.iter().all(|m| m.matches(labels.get(m.name()).unwrap_or(""))));
        selected && self.rules.iter().all(|r| r.passes(labels))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn labels(name: &str, job: &str) -> Labels {
        Labels::metric(name, [("job", job)])
    }

    #[test]
    fn selectors_then_keep_and_drop_in_order() {
        let filter = Filter::new(
            vec![pulsedb::parse_matchers(r#"{job=~"api|web"}"#).unwrap()],
            vec![
                Rule::new("drop", vec!["__name__".into()], ";".into(), "go_.*").unwrap(),
                Rule::new("keep", vec!["__name__".into(), "job".into()], ";".into(), "http_.*;api").unwrap(),
            ],
        );
        assert!(filter.keeps(&labels("http_requests_total", "api")));
        assert!(!filter.keeps(&labels("http_requests_total", "web")), "kept only with job api");
        assert!(!filter.keeps(&labels("go_goroutines", "api")), "dropped");
        assert!(!filter.keeps(&labels("http_requests_total", "db")), "not selected");
        assert!(Filter::default().keeps(&labels("x", "y")));
        // Anchored: a partial match is no match.
        let keep = Filter::new(vec![], vec![Rule::new("keep", vec!["job".into()], ";".into(), "ap").unwrap()]);
        assert!(!keep.keeps(&labels("x", "api")));
    }
}
