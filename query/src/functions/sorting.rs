//! Sorting: `sort` and `sort_desc` by sample value (NaN last), and
//! `sort_by_label` / `sort_by_label_desc` by label values in natural order
//! (Prometheus 3; extensions against 2.42). Only an instant query's order
//! is visible, so they sort on the one step.

use std::cmp::Ordering;

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator, StepSeries};
use crate::gosort;
use crate::value::ValueType::{self, Vector};

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("sort", &[Vector], Vector, Impl::Call(sort)),
    Function::new("sort_desc", &[Vector], Vector, Impl::Call(sort)),
    Function::new("sort_by_label", &[Vector, ValueType::String], Vector, Impl::Call(sort_by_label)).variadic(-1),
    Function::new("sort_by_label_desc", &[Vector, ValueType::String], Vector, Impl::Call(sort_by_label)).variadic(-1),
];

fn sort(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let mut series = ev.eval_vector(&c.args[0])?;
    let first = |s: &StepSeries| s.points.first().map_or(f64::NAN, |p| p.1);
    // Prometheus sorts with Go's sort.Sort and a reversed NaN-first
    // comparator: NaN ends up last, equal values in Go's order.
    if c.func.name == "sort_desc" {
        gosort::sort(&mut series, |a, b| first(b).is_nan() || first(b) < first(a));
    } else {
        gosort::sort(&mut series, |a, b| first(b).is_nan() || first(b) > first(a));
    }
    Ok(EvalValue::Vector(series))
}

/// By the given labels' values in natural order (digit runs compare as
/// numbers), then by the whole label set; descending reverses both.
fn sort_by_label(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let mut series = ev.eval_vector(&c.args[0])?;
    let mut names = Vec::new();
    for arg in &c.args[1..] {
        names.push(ev.string_arg(arg)?);
    }
    let desc = c.func.name == "sort_by_label_desc";
    series.sort_by(|a, b| {
        let by_names = names
            .iter()
            .map(|n| natural_cmp(a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or("")))
            .find(|o| o.is_ne());
        let order = by_names.unwrap_or_else(|| a.labels.cmp(&b.labels));
        if desc {
            order.reverse()
        } else {
            order
        }
    });
    Ok(EvalValue::Vector(series))
}

/// Natural order: runs of digits compare by numeric value (then the one
/// with fewer leading zeros first), everything else byte by byte.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (dx, rest_x) = split_digits(x);
                let (dy, rest_y) = split_digits(y);
                let (tx, ty) = (trim_zeros(dx), trim_zeros(dy));
                let order = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty)).then_with(|| dx.len().cmp(&dy.len()));
                if order.is_ne() {
                    return order;
                }
                (x, y) = (rest_x, rest_y);
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    s.split_at(s.iter().position(|c| !c.is_ascii_digit()).unwrap_or(s.len()))
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    &s[s.iter().position(|&c| c != b'0').unwrap_or(s.len())..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut v = vec!["host10", "host9", "host1", "a", "host09", "b2c", "b10c"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "b2c", "b10c", "host1", "host9", "host09", "host10"]);
    }
}
