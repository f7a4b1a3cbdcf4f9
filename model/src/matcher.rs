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
    /// For a regex, the literal text every match starts with (`api-0` of
    /// `api-0.*`), so an index can seek to it instead of trying every value.
    prefix: Option<String>,
    /// For a regex that is a plain string test (`.+`, `api.*`, `.*err.*`),
    /// that test: `matches` runs it instead of the regex.
    shortcut: Option<Shortcut>,
}

impl Matcher {
    /// Builds a matcher; regexes are anchored at both ends, as in Prometheus.
    pub fn new(op: MatchOp, name: impl Into<String>, value: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        let value = value.into();
        let (regex, alternatives) = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => {
                let regex = crate::regex_cache::compiled(&format!("^(?s:{value})$"))
                    .map_err(|e| Error::InvalidMatcher(format!("{name}{}{value:?}: {e}", op.as_str())))?;
                (Some(regex), literal_alternatives(&value))
            }
            _ => (None, None),
        };
        let (prefix, shortcut) = match op {
            MatchOp::RegexMatch | MatchOp::RegexNoMatch => (literal_prefix(&value), Shortcut::of(&value)),
            _ => (None, None),
        };
        Ok(Self { name, op, value, regex, alternatives, prefix, shortcut })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
            alternatives: None,
            prefix: None,
            shortcut: None,
        }
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
            MatchOp::RegexMatch => self.regex_matches(value),
            MatchOp::RegexNoMatch => !self.regex_matches(value),
        }
    }

    fn regex_matches(&self, value: &str) -> bool {
        match &self.shortcut {
            Some(shortcut) => shortcut.matches(value),
            None => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
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

impl Matcher {
    /// For `=~`, the literal text every matching value starts with, if the
    /// pattern has one (`api-0.*` → `api-0`; not `a|b.*`, not `(?i)api`).
    pub fn literal_prefix(&self) -> Option<&str> {
        match self.op {
            MatchOp::RegexMatch => self.prefix.as_deref().filter(|p| !p.is_empty()),
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

/// The literal text at the start of an anchored regex, when no top-level
/// alternation could bypass it: `api-00001.*` → `api-00001`,
/// `10\.0\.0\.1.` → `10.0.0.1`, `ab?c` → `a` (a quantifier takes its
/// character back). `None` when there is none or it cannot be sure.
fn literal_prefix(pattern: &str) -> Option<String> {
    // A top-level `|`: every branch must start with the prefix, so it is
    // the branches' common prefix (`api-1.*|api-2.*` → `api-`).
    let (mut depth, mut in_class, mut escaped) = (0i32, false, false);
    let mut branches = Vec::new();
    let mut start = 0;
    for (i, c) in pattern.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth -= 1,
            '|' if !in_class && depth == 0 => {
                branches.push(pattern.get(start..i)?);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !branches.is_empty() {
        branches.push(pattern.get(start..)?);
        let mut prefixes = branches.into_iter().map(literal_prefix);
        let mut common = prefixes.next()??;
        for p in prefixes {
            let p = p?;
            let shared = common.chars().zip(p.chars()).take_while(|(a, b)| a == b).map(|(a, _)| a.len_utf8()).sum();
            common.truncate(shared);
        }
        return Some(common);
    }
    let mut prefix = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let literal = match c {
            '\\' => match chars.next() {
                Some(e) if escapes_literal(e) => e,
                _ => break, // \d, \w, \b, \Q, \< … are not one literal
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '^' | '$' | '|' => break,
            c => c,
        };
        // `x?`, `x*`, `x{0,…}` may match without `x`; `x+` needs one `x`, then may repeat.
        match chars.peek() {
            Some('?' | '*' | '{') => break,
            Some('+') => {
                prefix.push(literal);
                break;
            }
            _ => prefix.push(literal),
        }
    }
    Some(prefix)
}

/// A regex that is a plain string test. Regexes are compiled with `(?s)`,
/// so `.` is any character and `.*` any text.
#[derive(Clone, Debug)]
enum Shortcut {
    /// `lit`, `lit.*` or `lit.+`: starts with `lit`, then exactly nothing,
    /// anything, or at least one character.
    Starts(String, Rest),
    /// `.*lit` or `.+lit`: ends with `lit`, after anything or at least one character.
    Ends(String, Rest),
    /// `.*lit.*`: contains `lit` (`.*` alone and `.*.*` contain ""),
    /// searched with a precompiled SIMD finder (`str::contains` spent
    /// most of a 20,000-value scan in `memcmp`).
    Contains(Box<memchr::memmem::Finder<'static>>),
}

/// What may follow (or precede) a literal.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rest {
    Nothing,
    Anything,
    Something,
}

#[cfg(test)]
impl PartialEq for Shortcut {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Starts(a, x), Self::Starts(b, y)) | (Self::Ends(a, x), Self::Ends(b, y)) => a == b && x == y,
            (Self::Contains(a), Self::Contains(b)) => a.needle() == b.needle(),
            _ => false,
        }
    }
}

impl Shortcut {
    fn of(pattern: &str) -> Option<Self> {
        let wildcard = |s: &str| match s {
            ".*" => Some(Rest::Anything),
            ".+" => Some(Rest::Something),
            _ => None,
        };
        let (lead, rest) = match pattern.get(..2).and_then(wildcard) {
            Some(w) => (w, &pattern[2..]),
            None => (Rest::Nothing, pattern),
        };
        let (trail, middle) = match rest.len().checked_sub(2).and_then(|i| Some((rest.get(i..).and_then(wildcard)?, i)))
        {
            Some((w, i)) => (w, &rest[..i]),
            None => (Rest::Nothing, rest),
        };
        // The middle must be one literal: a dangling `\` (the trailing
        // `.` escaped) or any metacharacter makes it none.
        let mut literal = literal_alternatives(middle)?;
        if literal.len() != 1 {
            return None;
        }
        let literal = literal.pop()?;
        match (lead, trail) {
            (Rest::Nothing, trail) => Some(Self::Starts(literal, trail)),
            (lead, Rest::Nothing) => Some(Self::Ends(literal, lead)),
            (Rest::Anything, Rest::Anything) => {
                Some(Self::Contains(Box::new(memchr::memmem::Finder::new(literal.as_bytes()).into_owned())))
            }
            _ => None,
        }
    }

    fn matches(&self, value: &str) -> bool {
        let fits = |rest: &str, what: Rest| match what {
            Rest::Nothing => rest.is_empty(),
            Rest::Anything => true,
            Rest::Something => !rest.is_empty(),
        };
        match self {
            Self::Starts(literal, trail) => value.strip_prefix(literal.as_str()).is_some_and(|r| fits(r, *trail)),
            Self::Ends(literal, lead) => value.strip_suffix(literal.as_str()).is_some_and(|r| fits(r, *lead)),
            Self::Contains(finder) => finder.find(value.as_bytes()).is_some(),
        }
    }
}

/// Whether `\c` is the literal character `c` to the regex crate: not for
/// letters and digits (classes, assertions, escapes like `\n`), nor `<`
/// and `>`, which are word-boundary assertions there.
fn escapes_literal(c: char) -> bool {
    !c.is_ascii_alphanumeric() && c != '<' && c != '>'
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
                if !escapes_literal(escaped) {
                    return None; // \d, \w, \b, \< ... are classes or assertions, not literals
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
mod prefix_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn prefix(p: &str) -> Option<String> {
        Matcher::new(MatchOp::RegexMatch, "l", p).ok().and_then(|m| m.literal_prefix().map(str::to_string))
    }

    #[test]
    fn literal_prefixes_of_regexes() {
        assert_eq!(prefix("api-00001.*").as_deref(), Some("api-00001"));
        assert_eq!(prefix(r"10\.0\.0\.1.").as_deref(), Some("10.0.0.1"));
        assert_eq!(prefix("ab?c").as_deref(), Some("a"));
        assert_eq!(prefix("ab+c").as_deref(), Some("ab"));
        assert_eq!(prefix("ab*").as_deref(), Some("a"));
        assert_eq!(prefix("ab{0,2}").as_deref(), Some("a"));
        assert_eq!(prefix("web-(1|2)"), Some("web-".to_string()));
        assert_eq!(prefix("web-[12]").as_deref(), Some("web-"));
        assert_eq!(prefix("a|b.*"), None, "branches with no common prefix");
        assert_eq!(prefix("api-00001-.|api-00002-.").as_deref(), Some("api-0000"), "the branches' common prefix");
        assert_eq!(prefix("(a|b)x|ay"), None);
        assert_eq!(prefix("(?i)api"), None, "case-insensitive: no literal prefix");
        assert_eq!(prefix(r"\d+"), None);
        assert_eq!(prefix(".*api"), None);
        assert_eq!(prefix("[|]x").as_deref(), None, "a class first: no prefix");
        assert_eq!(Matcher::new(MatchOp::RegexNoMatch, "l", "api.*").unwrap().literal_prefix(), None);
        // Whatever the prefix, every value the regex matches starts with it.
        for (p, values) in [
            ("api-0.*", ["api-0", "api-01", "api-0x"]),
            ("ab+c", ["abc", "abbc", "abbbc"]),
            ("xy1.|xy2|xz", ["xy1a", "xy2", "xz"]),
        ] {
            let m = Matcher::new(MatchOp::RegexMatch, "l", p).unwrap();
            for v in values {
                assert!(m.matches(v) && v.starts_with(m.literal_prefix().unwrap()), "{p} {v}");
            }
        }
    }
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
    fn plain_string_regexes_take_a_shortcut() {
        let shape = |p: &str| Shortcut::of(p);
        assert_eq!(shape(".+"), Some(Shortcut::Ends(String::new(), Rest::Something)));
        assert_eq!(shape(".*"), Some(Shortcut::Ends(String::new(), Rest::Anything)));
        assert_eq!(shape("api-.*"), Some(Shortcut::Starts("api-".into(), Rest::Anything)));
        assert!(matches!(shape(".*-00001-.*"), Some(Shortcut::Contains(f)) if f.needle() == b"-00001-"));
        assert_eq!(shape(r".+\.local"), Some(Shortcut::Ends(".local".into(), Rest::Something)));
        assert_eq!(shape(r"a\.*"), None, "an escaped dot then a star is not a wildcard");
        assert_eq!(shape(r"a\\.*"), Some(Shortcut::Starts("a\\".into(), Rest::Anything)));
        assert_eq!(shape("a|b.*"), None);
        assert_eq!(shape(".+x.+"), None);
        assert_eq!(shape("(?i)a.*"), None);
    }

    proptest::proptest! {
        /// A shortcut answers exactly what the regex answers.
        #[test]
        fn shortcuts_agree_with_the_regex(
            lead in proptest::sample::select(vec!["", ".*", ".+", "."]),
            literal in proptest::collection::vec(proptest::sample::select(vec!["a", "b", "-", "\\.", "\\\\", "é", "\n", "*", "\\*", "\\<", "\\>", "<"]), 0..4),
            trail in proptest::sample::select(vec!["", ".*", ".+", "*", "\\"]),
            value in proptest::collection::vec(proptest::sample::select(vec!["a", "b", "-", ".", "\\", "é", "\n", "*"]), 0..7),
        ) {
            let pattern = format!("{lead}{}{trail}", literal.concat());
            let value = value.concat();
            let Ok(regex) = regex::Regex::new(&format!("^(?s:{pattern})$")) else { return Ok(()) };
            if let Some(shortcut) = Shortcut::of(&pattern) {
                proptest::prop_assert_eq!(shortcut.matches(&value), regex.is_match(&value), "{:?} on {:?}", pattern, value);
            }
            let m = Matcher::new(MatchOp::RegexMatch, "l", &pattern).unwrap();
            proptest::prop_assert_eq!(m.matches(&value), regex.is_match(&value), "{:?} on {:?}", pattern, value);
        }
    }

    #[test]
    fn bad_regex_is_a_typed_error() {
        let err = Matcher::new(MatchOp::RegexMatch, "job", "(").unwrap_err();
        assert!(err.to_string().contains("job=~"));
    }
}
