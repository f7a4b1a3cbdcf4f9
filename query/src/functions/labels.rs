//! Label rewriting: `label_replace` (regex capture into a label) and
//! `label_join` (labels joined into one). Series that end up with the same
//! labels merge, or fail where they collide at a step.

use regex::Regex;

use super::{Function, Impl};
use crate::ast::Call;
use crate::error::{Error, Result};
use crate::eval::{with_label, EvalValue, Evaluator, StepSeries};
use crate::value::ValueType::{String as Str, Vector};

pub(super) static FUNCTIONS: &[Function] = &[
    Function::new("label_replace", &[Vector, Str, Str, Str, Str], Vector, Impl::Call(label_replace)),
    Function::new("label_join", &[Vector, Str, Str, Str], Vector, Impl::Call(label_join)).variadic(-1),
];

fn label_replace(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let series = ev.eval_vector(&c.args[0])?;
    let dst = ev.string_arg(&c.args[1])?;
    let replacement = ev.string_arg(&c.args[2])?;
    let src = ev.string_arg(&c.args[3])?;
    let pattern = ev.string_arg(&c.args[4])?;
    let regex = Regex::new(&format!("^(?s:{pattern})$"))
        .map_err(|e| Error::Execution(format!("invalid regular expression in label_replace(): {pattern}: {e}")))?;
    if !pulsedb_model::is_valid_label_name(&dst) {
        return Err(Error::Execution(format!("invalid destination label name in label_replace(): {dst}")));
    }
    let series: Vec<StepSeries> = series
        .into_iter()
        .map(|s| {
            let value = s.labels.get(&src).unwrap_or("");
            let labels = match regex.captures(value) {
                Some(caps) => {
                    let mut out = String::new();
                    caps.expand(&replacement, &mut out);
                    with_label(&s.labels, &dst, &out)
                }
                None => s.labels.clone(),
            };
            StepSeries { labels, points: s.points }
        })
        .collect();
    ev.relabel(series, |l| Some(l.clone()))
}

fn label_join(ev: &mut Evaluator<'_>, c: &Call) -> Result<EvalValue> {
    let series = ev.eval_vector(&c.args[0])?;
    let dst = ev.string_arg(&c.args[1])?;
    let sep = ev.string_arg(&c.args[2])?;
    let mut srcs = Vec::new();
    for a in &c.args[3..] {
        srcs.push(ev.string_arg(a)?);
    }
    if !pulsedb_model::is_valid_label_name(&dst) {
        return Err(Error::Execution(format!("invalid destination label name in label_join(): {dst}")));
    }
    let series: Vec<StepSeries> = series
        .into_iter()
        .map(|s| {
            let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
            StepSeries { labels: with_label(&s.labels, &dst, &joined.join(&sep)), points: s.points }
        })
        .collect();
    ev.relabel(series, |l| Some(l.clone()))
}
