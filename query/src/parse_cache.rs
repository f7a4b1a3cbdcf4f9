//! Parsed queries, shared by text. Dashboards and rules send the same
//! query text again and again (a panel's refresh, a rule's every round),
//! and parsing it (lexing, building matchers) was a tenth of a five-series
//! `rate` over compacted blocks. VictoriaMetrics keeps such a cache too.

use std::sync::{Arc, OnceLock};

use pulsedb_model::SharedGenerations;

use crate::ast::Expr;
use crate::error::Result;
use crate::parser::parse;

/// Queries kept at most.
const CAPACITY: usize = 512;

/// Longer queries are parsed for each use and not kept, which bounds what
/// the cache holds whatever clients send: a tree takes tens of bytes per
/// token, so at most a few tens of MiB in all (dashboards' queries are a
/// few hundred bytes).
const MAX_CACHED_QUERY: usize = 2048;

/// `parse(query)`, parsed once per text while it stays cached
/// (process-wide). Errors are not cached.
pub(crate) fn parsed(query: &str) -> Result<Arc<Expr>> {
    static CACHE: OnceLock<SharedGenerations<String, Arc<Expr>>> = OnceLock::new();
    if query.len() > MAX_CACHED_QUERY {
        return parse(query).map(Arc::new);
    }
    let cache = CACHE.get_or_init(|| SharedGenerations::new(CAPACITY, |_| 1));
    // Parsed outside the lock: other queries need not wait for it.
    cache.get_or_try_insert_with(query, || parse(query).map(Arc::new))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_cached_parse_is_the_parse_and_errors_stay_errors() {
        for q in ["rate(x{a=~\"b|c\"}[1m])", "sum by (h) (x) / on (h) group_left y", "x offset 5m @ 100"] {
            let first = parsed(q).unwrap();
            assert_eq!(*first, parse(q).unwrap());
            assert!(Arc::ptr_eq(&first, &parsed(q).unwrap()), "{q} parsed again");
        }
        for _ in 0..2 {
            assert_eq!(parsed("rate(x[1m]").unwrap_err().to_string(), parse("rate(x[1m]").unwrap_err().to_string());
        }
        let long = format!("x{{a=\"{}\"}}", "v".repeat(MAX_CACHED_QUERY));
        assert!(!Arc::ptr_eq(&parsed(&long).unwrap(), &parsed(&long).unwrap()), "long queries are not kept");
    }
}
