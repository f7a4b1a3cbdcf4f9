//! Anomaly scores: how unusual each sample of a series is, given the
//! samples before it in the window. Pure numerics over a time-ordered
//! slice, so a score depends on the window's samples and nothing else
//! (causal, and the same for an instant query and any range query).
//!
//! The detector ([`Detector`]) predicts each sample from the series'
//! recent level and, once it has a day or a week of history, from the same
//! time on earlier days (the median of what those days said, so one bad
//! day does not move it), keeping whichever predictor has erred less
//! lately. The error, divided by a robust running scale of past errors, is
//! the raw surprise; the score is how unlikely the recent run of surprise
//! is given the surprise seen over the window (a Gaussian tail of the
//! short-term mean against the long-term mean and spread), so a
//! one-off blip in a noisy series scores low and a sustained change in a
//! quiet one scores high. A value beyond anything the window has seen
//! scores by how far beyond; after a report the detector is quieter for a
//! while, as an incident is one event.

mod detector;
mod stream;

pub use detector::ANOMALOUS;
pub(crate) use stream::Stream;
