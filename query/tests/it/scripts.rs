//! Every PromQL script in `query/testdata/` against an in-memory querier:
//! the evaluator alone, no storage (the library runs the same scripts on a
//! data directory, head and blocks, in `tests/it/promql_scripts.rs`).

use crate::support::mem_querier::MemQuerier;
use crate::support::script::{run_all, ScriptStore};
use pulsedb_model::Batch;
use pulsedb_query::Querier;

impl ScriptStore for MemQuerier {
    fn clear(&mut self) {
        MemQuerier::clear(self);
    }

    fn load(&mut self, batch: &Batch) {
        self.append(batch);
    }

    fn querier(&self) -> &dyn Querier {
        self
    }
}

#[test]
fn promql_scripts_in_memory() {
    run_all(&mut MemQuerier::default(), "in memory");
}
