//! Anomaly scores: how unusual each sample of a series is, given the
//! samples before it in the window. Pure numerics over a time-ordered
//! slice, so a score depends on the window's samples and nothing else
//! (causal, and the same for an instant query and any range query).
//!
//! The detector ([`Detector`]) predicts each sample from the series'
//! recent level (and forecasts with its trend) and, once it has two days
//! or a week of history, from the same time on earlier days or weeks
//! ([`season`]: the median of what those said, so one bad day does not
//! move it), keeping whichever predictor has erred less lately; its error
//! scale draws the expected band and the forecast's.
//! The score ([`record`]) is how improbable it is that the value, or the
//! prediction error, just set a record for the window — by how far — so
//! it needs no per-series scale and one threshold ([`ANOMALOUS`]) serves
//! every series; an incident scores at its onset, and again only if it
//! grows.

mod detector;
mod recent;
mod record;
mod season;
mod stream;

pub use detector::ANOMALOUS;
pub(crate) use stream::{anchor, Asked, Stream};
