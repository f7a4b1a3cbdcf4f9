//! The Numenta Anomaly Benchmark in the project: its scorer
//! ([`scorer`]), written from NAB's published rules.

pub mod scorer;
