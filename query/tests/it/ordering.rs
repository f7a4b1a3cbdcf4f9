//! The order of equal values (and NaN) in `sort`, `sort_desc`, `topk` and
//! `bottomk`, against what a real Prometheus 2.42 returned for the same
//! input order (`query/testdata/ordering/record.py`): 400 cases of 5 to 150
//! samples, all equal, few distinct values, with NaN, ascending and
//! descending, so insertion sort, partial insertion sort, the ninther and
//! pattern breaking are all exercised.
#![allow(clippy::unwrap_used)]

use crate::support::mem_querier::MemQuerier;
use pulsedb_query::{Engine, Value};

const RECORDED: &str = include_str!("../../testdata/ordering/prometheus-2.42.json");

/// The query `record.py` sent: the values joined with `or`, in order, each
/// labelled `i` with its position.
fn query_of(function: &str, k: Option<u64>, values: &str) -> String {
    let terms: Vec<String> = values
        .split(' ')
        .enumerate()
        .map(|(n, v)| format!("label_replace(vector({v}), \"i\", \"{n:03}\", \"\", \"\")"))
        .collect();
    let v = terms.join(" or ");
    match k {
        Some(k) => format!("{function}({k}, {v})"),
        None => format!("{function}({v})"),
    }
}

#[test]
fn ties_come_out_in_prometheus_order() {
    let cases: Vec<serde_json::Value> = serde_json::from_str(RECORDED).unwrap();
    assert!(cases.len() >= 400, "{} cases", cases.len());
    let engine = Engine::default();
    let querier = MemQuerier::default();
    let mut wrong = Vec::new();
    for case in &cases {
        let function = case["function"].as_str().unwrap();
        let k = case["k"].as_u64();
        let values = case["values"].as_str().unwrap();
        let want: Vec<u64> = case["order"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap()).collect();
        let Value::Vector(got) = engine.instant(&querier, &query_of(function, k, values), 1_000_000).unwrap() else {
            panic!("not a vector")
        };
        let got: Vec<u64> = got.iter().map(|s| s.labels.get("i").unwrap().parse().unwrap()).collect();
        if got != want {
            wrong.push(format!("{function} k={k:?} [{values}]: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases in another order:\n{}",
        wrong.len(),
        cases.len(),
        wrong[..wrong.len().min(5)].join("\n")
    );
}
