//! Data for benchmarks and tests: a deterministic synthetic fleet and the
//! real NAB cloud metrics checked in under `testdata/nab/`. Not part of the
//! stable API.

mod devops;
mod fleet;
pub(crate) mod nab;
mod rng;

pub use devops::{DevopsShard, DevopsSpec};
pub use fleet::{CompressionFleet, FleetSpec};
pub use nab::{load_nab, NabSeries};
pub use rng::Rng;
