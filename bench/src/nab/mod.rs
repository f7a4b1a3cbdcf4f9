//! The Numenta Anomaly Benchmark in the project: its scorer ([`scorer`]),
//! written from NAB's published rules, and `pulsedb nab` ([`run`]), which
//! scores an anomaly query on NAB's files through the query engine.

mod run;
pub mod scorer;

pub use run::{run, NabArgs};
