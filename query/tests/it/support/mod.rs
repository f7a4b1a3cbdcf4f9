//! Test support shared by the query crate's tests (and, by path, by the
//! library's PromQL script test): an in-memory querier and the script runner.

pub(crate) mod mem_querier;
pub(crate) mod script;
