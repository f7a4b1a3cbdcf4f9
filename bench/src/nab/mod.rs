//! The Numenta Anomaly Benchmark in the project: its scorer ([`scorer`]),
//! written from NAB's published rules, and `pulsedb nab` ([`run`]), which
//! scores an anomaly query on NAB's files through the query engine, or
//! (`--forecast`) compares 1 h-ahead forecasts with baselines.

mod data;
mod forecast;
mod run;
pub mod scorer;

pub use run::{run, NabArgs};
