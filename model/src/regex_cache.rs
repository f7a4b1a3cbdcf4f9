//! Compiled matcher regexes, shared by pattern. Dashboards, rules and
//! Grafana's template variables send the same matchers again and again,
//! and compiling one (the regex crate builds a DFA for small patterns)
//! cost more than the rest of a five-series `rate` query over HTTP.

use std::sync::OnceLock;

use regex::Regex;

use crate::SharedGenerations;

/// Patterns kept at most.
const CAPACITY: usize = 1024;

/// Longer patterns are compiled for each use and not kept: with the count
/// above, this bounds what the cache can hold whatever clients send (a
/// long pattern can compile to megabytes), and dashboards' patterns are
/// far shorter.
const MAX_CACHED_PATTERN: usize = 4096;

/// Regexes by pattern, at most `capacity` of them.
struct RegexCache {
    map: SharedGenerations<String, Regex>,
}

impl RegexCache {
    fn new(capacity: usize) -> Self {
        Self { map: SharedGenerations::new(capacity, |_| 1) }
    }

    fn compiled(&self, pattern: &str) -> Result<Regex, regex::Error> {
        if pattern.len() > MAX_CACHED_PATTERN {
            return Regex::new(pattern);
        }
        // Compiled outside the lock: other queries need not wait for it.
        self.map.get_or_try_insert_with(pattern, || Regex::new(pattern))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// `Regex::new(pattern)`, compiled once per pattern while it stays cached
/// (process-wide). Errors are not cached.
pub(crate) fn compiled(pattern: &str) -> Result<Regex, regex::Error> {
    static CACHE: OnceLock<RegexCache> = OnceLock::new();
    CACHE.get_or_init(|| RegexCache::new(CAPACITY)).compiled(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_is_compiled_once_and_errors_are_not_kept() {
        let cache = RegexCache::new(8);
        let a = cache.compiled("^(?s:a|b)$").expect("valid");
        assert!(a.is_match("b") && !a.is_match("c"));
        cache.compiled("^(?s:a|b)$").expect("valid");
        assert_eq!(cache.len(), 1);
        assert!(cache.compiled("^(?s:()$").is_err());
        assert_eq!(cache.len(), 1);
        let long = format!("^{}$", "x".repeat(MAX_CACHED_PATTERN));
        assert!(cache.compiled(&long).expect("valid").is_match(&"x".repeat(MAX_CACHED_PATTERN)));
        assert_eq!(cache.len(), 1, "long patterns are not kept");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = RegexCache::new(16);
        for i in 0..100 {
            cache.compiled(&format!("^bound-{i}$")).expect("valid");
            assert!(cache.len() <= 16);
        }
        assert!(compiled("^(?s:shared)$").expect("valid").is_match("shared"));
    }
}
