//! The evaluator's scenarios against in-memory queriers, one file each,
//! linked as one test binary.

mod engine;
mod limits;
mod ordering;
mod scripts;
mod sliding;
mod support;
