//! Series identity: [`Labels`] (a sorted set of name/value pairs, the metric
//! name being `__name__`), the label-name grammar and the checks every stored
//! series obeys. The canonical byte key of a label set belongs to storage
//! (`storage/src/series_key.rs`), which owns every byte layout.

use std::fmt;

/// The label holding the metric name, as in Prometheus.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label {
    pub name: String,
    pub value: String,
}

/// A series' label set, sorted by name. Construction never fails; checks
/// happen on append (see [`LabelLimits`]) so the error can name the series.
/// Labels with an empty value are dropped, as Prometheus treats them as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set from pairs in any order.
    pub fn new<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        let mut labels: Vec<Label> = pairs
            .into_iter()
            .map(|(n, v)| Label { name: n.into(), value: v.into() })
            .filter(|l| !l.value.is_empty())
            .collect();
        // Stable, so a duplicated name keeps both entries for validation to report.
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        Self(labels)
    }

    /// `metric{pairs}`: a metric name plus labels.
    pub fn metric<N, V>(name: &str, pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: Into<String>,
    {
        let pairs = pairs.into_iter().map(|(n, v)| (n.into(), v.into()));
        Self::new(std::iter::once((METRIC_NAME.to_string(), name.to_string())).chain(pairs))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|l| l.value.as_str())
    }

    /// The metric name (`__name__`), if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Checks the set against the rules every stored series obeys; the
    /// error text says what is wrong (the caller adds the series).
    pub fn validate(&self, limits: &LabelLimits) -> Result<(), String> {
        if self.0.is_empty() {
            return Err("empty label set".to_string());
        }
        if self.0.len() > limits.max_labels {
            return Err(format!("{} labels, more than the limit of {}", self.0.len(), limits.max_labels));
        }
        for pair in self.0.windows(2) {
            if let [a, b] = pair {
                if a.name == b.name {
                    return Err(format!("duplicate label name {:?}", a.name));
                }
            }
        }
        for label in &self.0 {
            if !is_valid_label_name(&label.name) {
                return Err(format!("invalid label name {:?}: must match [a-zA-Z_][a-zA-Z0-9_]*", label.name));
            }
            if label.name.len() > limits.max_name_bytes {
                return Err(format!(
                    "label name {:?} is {} bytes, more than the limit of {}",
                    truncated(&label.name),
                    label.name.len(),
                    limits.max_name_bytes
                ));
            }
            if label.value.len() > limits.max_value_bytes {
                return Err(format!(
                    "value of label {:?} is {} bytes, more than the limit of {}",
                    label.name,
                    label.value.len(),
                    limits.max_value_bytes
                ));
            }
            if label.value.contains('\0') {
                return Err(format!("value of label {:?} contains a NUL byte", label.name));
            }
        }
        Ok(())
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(64).collect()
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, the Prometheus label name grammar.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Formats like Prometheus: `metric{a="x", b="y"}`.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        if let Some(name) = name {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for label in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", label.name, label.value)?;
        }
        f.write_str("}")
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self::new(iter)
    }
}

/// Limits checked on every new series. The defaults are those of the
/// Prometheus remote-write ecosystem (Cortex/Mimir: 30 labels, 1024-byte
/// names, 2048-byte values); Prometheus itself sets none by default.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelLimits {
    pub max_labels: usize,
    pub max_name_bytes: usize,
    pub max_value_bytes: usize,
}

impl Default for LabelLimits {
    fn default() -> Self {
        Self { max_labels: 30, max_name_bytes: 1024, max_value_bytes: 2048 }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sorted_and_empty_values_dropped() {
        let l = Labels::new([("b", "2"), ("a", "1"), ("c", "")]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("a"), Some("1"));
        assert_eq!(l.get("c"), None);
        assert_eq!(Labels::metric("up", [("job", "x")]).to_string(), "up{job=\"x\"}");
    }

    #[test]
    fn validation_names_the_problem() {
        let limits = LabelLimits::default();
        let cases = [
            (Labels::new(Vec::<(String, String)>::new()), "empty label set"),
            (Labels::new([("a", "1"), ("a", "2")]), "duplicate label name"),
            (Labels::new([("1a", "x")]), "invalid label name"),
            (Labels::new([("a-b", "x")]), "invalid label name"),
            (Labels::new([("a", "x".repeat(3000))]), "more than the limit"),
            (Labels::new([("a", "x\0y")]), "NUL"),
        ];
        for (labels, want) in cases {
            let err = labels.validate(&limits).unwrap_err();
            assert!(err.contains(want), "{err} does not mention {want}");
        }
        assert!(Labels::metric("up", [("job", "x")]).validate(&limits).is_ok());
    }
}
