//! The function registry: every PromQL function once, with its signature
//! (argument and result types), its implementation, and — for those storage
//! summaries can answer — the rollup fields it reads and how it combines
//! them. One file per family; a new function is one entry in its family's
//! `FUNCTIONS`, and the parser, the evaluator and the rollup planner all
//! find it here (a typo in a name is a parse error, not a silent miss).

mod anomaly;
mod counters;
mod date;
mod histogram;
mod labels;
mod math;
mod over_time;
pub(crate) mod sliding;
mod smoothing;
mod sorting;
pub(crate) mod stats;
mod types;

use std::fmt;

use pulsedb_model::{RollupBucket, RollupFields, Sample};

use crate::ast::Call;
use crate::error::Result;
use crate::eval::{EvalValue, Evaluator};
use crate::value::ValueType::{self, Scalar};

/// A function's signature, as the parser checks it.
pub struct Function {
    pub name: &'static str,
    /// Argument types; when `variadic`, the last may repeat (or be left
    /// out, for `optional`).
    pub args: &'static [ValueType],
    /// Extra trailing arguments allowed: -1 for any number of repeats of
    /// the last type, 0 for none, 1 for one optional.
    pub variadic: i8,
    pub returns: ValueType,
    pub(crate) imp: Impl,
    pub(crate) rollup: Option<RollupPlan>,
}

/// How a function is evaluated.
pub(crate) enum Impl {
    /// Evaluates the whole call (its arguments included).
    Call(fn(&mut Evaluator<'_>, &Call) -> Result<EvalValue>),
    /// The same math on every sample of its one instant-vector argument;
    /// the metric name is dropped.
    Elementwise(fn(f64) -> f64),
    /// A value per series and step from the samples in the step's window of
    /// its range-vector argument.
    Window(WindowFn),
}

/// A function of one window of a range vector.
pub(crate) struct WindowFn {
    /// The window's value, or `None` for no output at that step.
    pub(crate) value: fn(&Window<'_>) -> Option<f64>,
    /// Keeps the metric name (`last_over_time`), as Prometheus does.
    pub(crate) keeps_name: bool,
    /// Wants [`Window::resets`]: the evaluator counts value drops once per
    /// series, so windows without a counter reset skip a scan.
    pub(crate) counts_resets: bool,
    /// Checks the scalar arguments at a step where some series has samples
    /// (Prometheus checks them only there); the error fails the query.
    pub(crate) check_params: Option<ParamCheck>,
    /// The value is this extreme of the window's samples, which a range
    /// query computes over its moving windows without rescanning them.
    pub(crate) extreme: Option<sliding::Extreme>,
}

impl WindowFn {
    /// A window function that drops the name, counts no resets and takes
    /// any scalar arguments.
    pub(crate) const fn plain(value: fn(&Window<'_>) -> Option<f64>) -> Self {
        Self { value, keeps_name: false, counts_resets: false, check_params: None, extreme: None }
    }
}

/// A check of a window function's scalar arguments at one step.
pub(crate) type ParamCheck = fn(&[f64; MAX_SCALAR_PARAMS]) -> Result<(), String>;

/// What a [`WindowFn`] sees of one step.
pub(crate) struct Window<'a> {
    /// The samples in `[start, end]`, time-ordered, never empty.
    pub(crate) samples: &'a [Sample],
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// The step's own time (before `offset` and `@`).
    pub(crate) step_time: i64,
    /// The call's scalar arguments at this step, in order (NaN past them).
    pub(crate) params: [f64; MAX_SCALAR_PARAMS],
    /// Value drops inside the window, when the function counts resets.
    pub(crate) resets: Option<u32>,
}

/// Most scalar arguments a window function takes besides its range vector.
pub(crate) const MAX_SCALAR_PARAMS: usize = 4;

/// How a function is answered from rollup buckets: which fields it reads
/// (every plan also gets the count and each bucket's first sample) and its
/// value from a window's whole buckets plus the sample at its end.
pub(crate) struct RollupPlan {
    pub(crate) fields: RollupFields,
    pub(crate) value: fn(&Buckets<'_>) -> Option<f64>,
}

/// One window as rollups see it: its whole buckets and the sample exactly
/// at its end (the first of the next bucket).
pub(crate) struct Buckets<'a> {
    pub(crate) whole: &'a [RollupBucket],
    pub(crate) edge: Option<Sample>,
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// Samples in the window (never 0: empty windows are skipped).
    pub(crate) count: u64,
}

impl Buckets<'_> {
    /// The window's sum: bucket sums and the edge sample, compensated as
    /// `sum_over_time` compensates samples.
    pub(crate) fn sum(&self) -> f64 {
        let mut sum = stats::KahanSum::default();
        self.whole.iter().map(|b| b.sum).chain(self.edge.map(|e| e.v)).for_each(|v| sum.add(v));
        sum.value()
    }

    /// The window's mean, summed as parts of the mean so that it does not
    /// overflow where the total would (as `avg_over_time`'s incremental mean).
    pub(crate) fn mean(&self) -> f64 {
        let n = self.count as f64;
        let mut mean = stats::KahanSum::default();
        self.whole.iter().map(|b| b.sum / n).chain(self.edge.map(|e| e.v / n)).for_each(|v| mean.add(v));
        mean.value()
    }

    /// Prometheus' min/max fold: NaN only when every value is NaN.
    pub(crate) fn fold(&self, pick: fn(f64, f64) -> bool, get: fn(&RollupBucket) -> f64) -> f64 {
        self.whole.iter().map(get).chain(self.edge.map(|e| e.v)).fold(f64::NAN, |acc, v| {
            if pick(v, acc) || acc.is_nan() {
                v
            } else {
                acc
            }
        })
    }
}

impl Function {
    pub(crate) const fn new(name: &'static str, args: &'static [ValueType], returns: ValueType, imp: Impl) -> Self {
        Self { name, args, variadic: 0, returns, imp, rollup: None }
    }

    /// See [`Function::variadic`].
    pub(crate) const fn variadic(mut self, extra: i8) -> Self {
        self.variadic = extra;
        self
    }

    pub(crate) const fn rollup(mut self, fields: RollupFields, value: fn(&Buckets<'_>) -> Option<f64>) -> Self {
        self.rollup = Some(RollupPlan { fields, value });
        self
    }

    /// Checks an argument count, returning what is wrong in Prometheus'
    /// words.
    pub(crate) fn check_arity(&self, n: usize) -> Result<(), String> {
        let all = self.args.len();
        // Prometheus' rule: a variadic function's last argument may also
        // be left out (`label_join(v, "dst", ",")` joins no label).
        let fixed = if self.variadic == 0 { all } else { all.saturating_sub(1) };
        let expected = match self.variadic {
            0 if n != all => format!("{all}"),
            1 if n > all => format!("at most {all}"),
            _ if n < fixed => format!("at least {fixed}"),
            _ => return Ok(()),
        };
        Err(format!("expected {expected} argument(s) in call to \"{}\", got {n}", self.name))
    }

    /// Type expected for argument `i`.
    pub(crate) fn arg_type(&self, i: usize) -> ValueType {
        self.args.get(i).or(self.args.last()).copied().unwrap_or(Scalar)
    }
}

/// Names are unique in the registry, so a function is its name.
impl PartialEq for Function {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Function {}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("args", &self.args)
            .field("variadic", &self.variadic)
            .field("returns", &self.returns)
            .finish_non_exhaustive()
    }
}

/// Every family's functions.
static FAMILIES: [&[Function]; 10] = [
    math::FUNCTIONS,
    date::FUNCTIONS,
    over_time::FUNCTIONS,
    smoothing::FUNCTIONS,
    counters::FUNCTIONS,
    labels::FUNCTIONS,
    histogram::FUNCTIONS,
    sorting::FUNCTIONS,
    types::FUNCTIONS,
    anomaly::FUNCTIONS,
];

/// Every registered function.
pub(crate) fn all() -> impl Iterator<Item = &'static Function> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

pub(crate) fn lookup(name: &str) -> Option<&'static Function> {
    all().find(|f| f.name == name)
}

/// Why pulsedb refuses a function Prometheus has, for the parse error.
pub(crate) fn refusal(name: &str) -> Option<&'static str> {
    Some(match name {
        "histogram_count" | "histogram_sum" | "histogram_fraction" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            "it reads native histograms, which pulsedb does not store; for classic histograms use the \
             _count and _sum series, and histogram_quantile on the _bucket series"
        }
        "info" => {
            "it is Prometheus 3's experimental join with info metrics; join them with `* on (…) group_left (…)` instead"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ValueType::Matrix;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = all().map(|f| f.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name is registered twice");
    }

    #[test]
    fn window_functions_take_a_range_vector_and_rollups_only_window_functions() {
        for f in all() {
            if matches!(f.imp, Impl::Window(_)) {
                assert!(f.args.contains(&Matrix), "{} is a window function without a range vector", f.name);
                let scalars = f.args.iter().filter(|t| **t == Scalar).count();
                assert!(scalars <= MAX_SCALAR_PARAMS, "{} takes too many scalars", f.name);
            }
            if f.rollup.is_some() {
                assert!(matches!(f.imp, Impl::Window(_)), "{} has a rollup plan but no window function", f.name);
            }
        }
    }
}
