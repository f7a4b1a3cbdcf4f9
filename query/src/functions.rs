//! The function table: each function's name, argument types and result
//! type. Evaluation lives in `eval/functions.rs`.

use crate::value::ValueType::{self, Matrix, Scalar, String as Str, Vector};

/// A function's signature.
#[derive(Debug, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    /// Argument types; when `variadic`, the last may repeat (or be left
    /// out, for `optional`).
    pub args: &'static [ValueType],
    /// Extra trailing arguments allowed: -1 for any number of repeats of
    /// the last type, 0 for none, 1 for one optional.
    pub variadic: i8,
    pub returns: ValueType,
}

macro_rules! functions {
    ($($name:literal: [$($arg:expr),*] $var:literal -> $ret:expr;)*) => {
        pub(crate) static FUNCTIONS: &[Function] = &[
            $(Function { name: $name, args: &[$($arg),*], variadic: $var, returns: $ret },)*
        ];
    };
}

functions! {
    "abs": [Vector] 0 -> Vector;
    "absent": [Vector] 0 -> Vector;
    "absent_over_time": [Matrix] 0 -> Vector;
    "avg_over_time": [Matrix] 0 -> Vector;
    "ceil": [Vector] 0 -> Vector;
    "changes": [Matrix] 0 -> Vector;
    "clamp": [Vector, Scalar, Scalar] 0 -> Vector;
    "clamp_max": [Vector, Scalar] 0 -> Vector;
    "clamp_min": [Vector, Scalar] 0 -> Vector;
    "count_over_time": [Matrix] 0 -> Vector;
    "delta": [Matrix] 0 -> Vector;
    "deriv": [Matrix] 0 -> Vector;
    "exp": [Vector] 0 -> Vector;
    "floor": [Vector] 0 -> Vector;
    "histogram_quantile": [Scalar, Vector] 0 -> Vector;
    "idelta": [Matrix] 0 -> Vector;
    "increase": [Matrix] 0 -> Vector;
    "irate": [Matrix] 0 -> Vector;
    "label_join": [Vector, Str, Str, Str] -1 -> Vector;
    "label_replace": [Vector, Str, Str, Str, Str] 0 -> Vector;
    "last_over_time": [Matrix] 0 -> Vector;
    "ln": [Vector] 0 -> Vector;
    "log10": [Vector] 0 -> Vector;
    "log2": [Vector] 0 -> Vector;
    "max_over_time": [Matrix] 0 -> Vector;
    "min_over_time": [Matrix] 0 -> Vector;
    "predict_linear": [Matrix, Scalar] 0 -> Vector;
    "present_over_time": [Matrix] 0 -> Vector;
    "quantile_over_time": [Scalar, Matrix] 0 -> Vector;
    "rate": [Matrix] 0 -> Vector;
    "resets": [Matrix] 0 -> Vector;
    "round": [Vector, Scalar] 1 -> Vector;
    "scalar": [Vector] 0 -> Scalar;
    "sgn": [Vector] 0 -> Vector;
    "sort": [Vector] 0 -> Vector;
    "sort_desc": [Vector] 0 -> Vector;
    "sqrt": [Vector] 0 -> Vector;
    "stddev_over_time": [Matrix] 0 -> Vector;
    "stdvar_over_time": [Matrix] 0 -> Vector;
    "sum_over_time": [Matrix] 0 -> Vector;
    "time": [] 0 -> Scalar;
    "timestamp": [Vector] 0 -> Vector;
    "vector": [Scalar] 0 -> Vector;
}

pub(crate) fn lookup(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

impl Function {
    /// Checks an argument count, returning what is wrong.
    pub(crate) fn check_arity(&self, n: usize) -> Result<(), String> {
        let fixed = if self.variadic == 1 { self.args.len() - 1 } else { self.args.len() };
        let ok = match self.variadic {
            0 => n == self.args.len(),
            1 => n == fixed || n == self.args.len(),
            _ => n >= fixed,
        };
        if ok {
            return Ok(());
        }
        let expected = match self.variadic {
            0 => format!("{}", self.args.len()),
            1 => format!("{fixed} or {}", self.args.len()),
            _ => format!("at least {fixed}"),
        };
        Err(format!("function \"{}\" expects {expected} argument(s), got {n}", self.name))
    }

    /// Type expected for argument `i`.
    pub(crate) fn arg_type(&self, i: usize) -> ValueType {
        self.args.get(i).or(self.args.last()).copied().unwrap_or(Scalar)
    }
}
