//! The PromQL scripts of `query/testdata/` against a real pulsedb data
//! directory, through the runner the query crate uses in memory: with the
//! data in the head and flushed to 10-minute blocks after every load, from
//! raw samples (bit for bit), and on blocks with the rollup planner too
//! (within 1e-12 relative).
#![allow(clippy::unwrap_used)]

#[path = "../../query/tests/it/support/script.rs"]
mod script;

use std::time::Duration;

use pulsedb::{Batch, Db, Options, Querier};
use script::{run_all, ScriptStore};

struct DbStore {
    in_blocks: bool,
    rollups: bool,
    dir: tempfile::TempDir,
    db: Option<Db>,
}

impl DbStore {
    fn new(in_blocks: bool, rollups: bool) -> Self {
        let mut store = Self { in_blocks, rollups, dir: tempfile::tempdir().unwrap(), db: None };
        store.clear();
        store
    }

    fn db(&self) -> &Db {
        self.db.as_ref().unwrap()
    }
}

impl ScriptStore for DbStore {
    fn clear(&mut self) {
        drop(self.db.take());
        self.dir = tempfile::tempdir().unwrap();
        let mut o = Options::default();
        if self.in_blocks {
            o.block_span = Duration::from_secs(600);
        }
        o.background_maintenance = false;
        o.retention = Duration::ZERO;
        o.sync = pulsedb::SyncMode::Never;
        self.db = Some(Db::open(self.dir.path(), o).unwrap());
    }

    fn load(&mut self, batch: &Batch) {
        self.db().append(batch).unwrap();
        if self.in_blocks {
            self.db().flush().unwrap();
        }
    }

    fn querier(&self) -> &dyn Querier {
        self.db()
    }

    fn rollups(&self) -> bool {
        self.rollups
    }
}

#[test]
fn promql_scripts_on_the_head() {
    run_all(&mut DbStore::new(false, false), "head");
}

#[test]
fn promql_scripts_on_blocks() {
    run_all(&mut DbStore::new(true, false), "blocks");
}

#[test]
fn promql_scripts_on_blocks_with_rollups() {
    run_all(&mut DbStore::new(true, true), "blocks, rollup planner");
}
