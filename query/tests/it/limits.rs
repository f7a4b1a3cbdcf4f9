//! The nesting limit: a query of every recursive kind at exactly
//! [`MAX_DEPTH`] parses, prints, evaluates and drops on a thread with a
//! quarter of [`STACK_SIZE`] (in a debug build, whose frames are the
//! largest), and one level deeper is a parse error naming the limit — never
//! a stack overflow, whatever the input.
#![allow(clippy::unwrap_used)]

use crate::support::mem_querier::MemQuerier;
use pulsedb_model::Labels;
use pulsedb_query::{parse, Engine, Error, MAX_DEPTH, STACK_SIZE};

/// Queries of tree depth `n` (each kind nests differently).
fn queries(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("parentheses", format!("{}up{}", "(".repeat(n - 1), ")".repeat(n - 1))),
        ("unary minus", format!("{}up", "-".repeat(n - 1))),
        ("function calls", format!("{}up{}", "abs(".repeat(n - 1), ")".repeat(n - 1))),
        ("aggregations", format!("{}up{}", "sum(".repeat(n - 1), ")".repeat(n - 1))),
        ("left-deep operator chain", format!("up{}", " + up".repeat(n - 1))),
        ("right-deep power chain", format!("{}up", "2 ^ ".repeat(n - 1))),
        ("and/or chain", format!("up{}", " or up".repeat(n - 1))),
        ("mixed", mixed(n)),
    ]
}

/// `-(abs(` units (three levels each), topped up with parentheses to depth `n`.
fn mixed(n: usize) -> String {
    let units = (n - 1) / 3;
    let pad = n - 1 - 3 * units;
    format!("{}{}up{}{}", "(".repeat(pad), "-(abs(".repeat(units), "))".repeat(units), ")".repeat(pad))
}

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(STACK_SIZE / 4).spawn(f).unwrap().join().unwrap()
}

#[test]
fn the_deepest_admitted_queries_run_within_a_quarter_of_the_stack() {
    on_small_stack(|| {
        let q = MemQuerier::default().with(Labels::metric("up", [("job", "a")]), (0..=60).map(|i| (i * 1000, 1.0)));
        let engine = Engine::default();
        for (kind, text) in queries(MAX_DEPTH) {
            let expr = parse(&text).unwrap_or_else(|e| panic!("{kind} at depth {MAX_DEPTH}: {e}"));
            let printed = expr.to_string();
            assert!(parse(&printed).is_ok(), "{kind}: the printed query parses again");
            drop(expr);
            engine.instant(&q, &text, 60_000).unwrap_or_else(|e| panic!("{kind}: {e}"));
            engine.range(&q, &text, 0, 60_000, 10_000).unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
        // Nested subqueries, two levels each (subquery and call).
        let n = MAX_DEPTH / 2 - 1;
        let text = format!("{}up{}", "max_over_time(".repeat(n), "[5m:1m])".repeat(n));
        engine.instant(&q, &text, 60_000).unwrap_or_else(|e| panic!("nested subqueries: {e}"));
    });
}

#[test]
fn one_level_deeper_is_a_parse_error_naming_the_limit() {
    on_small_stack(|| {
        for (kind, text) in queries(MAX_DEPTH + 1) {
            match parse(&text) {
                Err(Error::Parse { message, .. }) => {
                    assert!(message.contains(&format!("limit of {MAX_DEPTH} levels")), "{kind}: {message}")
                }
                Ok(_) => panic!("{kind} at depth {} parsed", MAX_DEPTH + 1),
                Err(other) => panic!("{kind} at depth {}: {other}", MAX_DEPTH + 1),
            }
        }
    });
}

#[test]
fn hostile_inputs_far_past_the_limit_are_refused_quickly() {
    on_small_stack(|| {
        for text in [
            format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("{}1", "-".repeat(100_000)),
            format!("{}up", "- ".repeat(100_000)),
            format!("{}up{}", "abs(".repeat(30_000), ")".repeat(30_000)),
            format!("1{}", " + 1".repeat(200_000)),
            format!("{}1", "2 ^ ".repeat(100_000)),
            "(".repeat(1_000_000),
            "1+".repeat(pulsedb_query::MAX_QUERY_BYTES),
        ] {
            let err = parse(&text).unwrap_err();
            assert!(err.to_string().contains("limit"), "{err}");
        }
    });
}

/// The parser and evaluator grow the stack when it runs low, so even a
/// thread far smaller than `STACK_SIZE` (an embedding program's pool, say)
/// parses and evaluates the deepest admitted queries.
#[test]
fn the_deepest_queries_run_on_a_small_thread_too() {
    let thread = std::thread::Builder::new().stack_size(1 << 20).spawn(|| {
        let q = MemQuerier::default().with(Labels::metric("up", [("job", "a")]), (0..=60).map(|i| (i * 1000, 1.0)));
        let engine = Engine::default();
        for (kind, text) in queries(MAX_DEPTH) {
            engine.instant(&q, &text, 60_000).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(parse(&format!("({text}")).is_err(), "{kind}: unbalanced");
        }
    });
    thread.unwrap().join().unwrap();
}
