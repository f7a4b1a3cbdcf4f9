//! Label matchers with Prometheus semantics: `=`, `!=`, `=~`, `!~`, regexes
//! fully anchored, and a missing label reading as the empty string.

use std::fmt;

use regex::Regex;

use crate::Error;

/// The four matcher operators of PromQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MatchOp {
    Equal,
    NotEqual,
    RegexMatch,
    RegexNoMatch,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::RegexMatch => "=~",
            MatchOp::RegexNoMatch => "!~",
        }
    }
}

/// A compiled matcher on one label.
#[derive(Clone, Debug)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<Regex>,
    /// For `=~a|b|c` style regexes: the exact values they match.
    alternatives: Option<Vec<String>>,
}

impl Matcher {
    /// Builds a matcher; regexes are anchored at both ends, as in Prometheus.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let value = value.into();
        let (regex, alternatives) = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                let regex = Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| Error::InvalidMatcher(format!("{name}{}{value:?}: {e}", op.as_str())))?;
                (Some(regex), literal_alternatives(&value))
            }
            _ => (None, None),
        };
        Ok(Self { name, op, value, regex, alternatives })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), op: MatchOp::Equal, value: value.into(), regex: None, alternatives: None }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchOp {
        self.op
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a label value (the empty string for a missing label) matches.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Equal => self.value == value,
            MatchOp::NotEqual => self.value != value,
            MatchOp::RegexMatch => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::RegexNoMatch => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }

    /// The exact values a positive matcher can match, when they are few
    /// and known (`=` or a regex that is an alternation of literals).
    pub fn exact_values(&self) -> Option<Vec<String>> {
        match self.op {
            MatchOp::Equal => Some(vec![self.value.clone()]),
            MatchOp::RegexMatch => self.alternatives.clone(),
            _ => None,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}

/// `a|b\.c|d` → `["a", "b.c", "d"]` when the pattern is nothing but escaped
/// or plain literal characters separated by `|`.
fn literal_alternatives(pattern: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => out.push(std::mem::take(&mut current)),
            '\\' => {
                let escaped = chars.next()?;
                if escaped.is_ascii_alphanumeric() {
                    return None; // \d, \w, \b ... are classes, not literals
                }
                current.push(escaped);
            }
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' => return None,
            c => current.push(c),
        }
    }
    out.push(current);
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn regexes_are_fully_anchored() {
        let m = Matcher::new(MatchOp::RegexMatch, "job", "api").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("api-server"));
        assert!(!m.matches("my-api"));
        let m = Matcher::new(MatchOp::RegexMatch, "job", "a.*").unwrap();
        assert!(m.matches("a\nb"), "dot matches newline like Prometheus");
        let m = Matcher::new(MatchOp::RegexNoMatch, "job", "a|b").unwrap();
        assert!(m.matches(""));
        assert!(!m.matches("a"));
    }

    #[test]
    fn literal_alternations_are_recognised() {
        let m = Matcher::new(MatchOp::RegexMatch, "i", r"10\.0\.0\.1|host-2").unwrap();
        assert_eq!(m.exact_values().unwrap(), vec!["10.0.0.1".to_string(), "host-2".to_string()]);
        assert!(Matcher::new(MatchOp::RegexMatch, "i", r"10\.0\..*").unwrap().exact_values().is_none());
        assert!(Matcher::new(MatchOp::RegexMatch, "i", r"\d+").unwrap().exact_values().is_none());
    }

    #[test]
    fn bad_regex_is_a_typed_error() {
        let err = Matcher::new(MatchOp::RegexMatch, "job", "(").unwrap_err();
        assert!(err.to_string().contains("job=~"));
    }
}
