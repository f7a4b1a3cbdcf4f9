//! pulsedb's anomaly functions (extensions; no Prometheus function has
//! these names): `anomaly_score(v[range])`, in [0, 1], how unusual the
//! series' latest sample in each step's window is given the samples before
//! it in the window (`crate::anomaly`). The range is the history the
//! detector may learn from; the score depends on nothing outside it.

use super::{Function, Impl, Window, WindowFn};
use crate::anomaly::score_last;
use crate::value::ValueType::{Matrix, Vector};

pub(super) static FUNCTIONS: &[Function] =
    &[Function::new("anomaly_score", &[Matrix], Vector, Impl::Window(WindowFn::plain(anomaly_score)))];

fn anomaly_score(w: &Window<'_>) -> Option<f64> {
    score_last(w.samples)
}
