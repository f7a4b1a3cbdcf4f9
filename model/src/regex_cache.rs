//! Compiled matcher regexes, shared by pattern. Dashboards, rules and
//! Grafana's template variables send the same matchers again and again,
//! and compiling one (the regex crate builds a DFA for small patterns)
//! cost more than the rest of a five-series `rate` query over HTTP.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use regex::Regex;

/// Patterns kept at most; past it the cache starts over, so a client that
/// sends ever new patterns holds a bounded amount of memory.
const CAPACITY: usize = 1024;

fn cache() -> &'static Mutex<HashMap<String, Regex>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Regex>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// `Regex::new(pattern)`, compiled once per pattern while it stays cached.
/// Errors are not cached.
pub(crate) fn compiled(pattern: &str) -> Result<Regex, regex::Error> {
    // A poisoned lock only means another thread panicked mid-insert: the
    // map itself is still sound.
    if let Some(regex) = cache().lock().unwrap_or_else(PoisonError::into_inner).get(pattern) {
        return Ok(regex.clone());
    }
    // Compiled outside the lock: other queries need not wait for it.
    let regex = Regex::new(pattern)?;
    let mut cache = cache().lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= CAPACITY {
        cache.clear();
    }
    cache.insert(pattern.to_owned(), regex.clone());
    Ok(regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_compiles_once_and_errors_are_errors() {
        let a = compiled("^(?s:cache-test-a|b)$").expect("valid");
        let b = compiled("^(?s:cache-test-a|b)$").expect("valid");
        assert_eq!(a.as_str(), b.as_str());
        assert!(a.is_match("b") && !a.is_match("c"));
        assert!(compiled("^(?s:cache-test-()$").is_err());
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..CAPACITY + 10 {
            compiled(&format!("^bound-{i}$")).expect("valid");
            assert!(cache().lock().unwrap_or_else(PoisonError::into_inner).len() <= CAPACITY);
        }
    }
}
