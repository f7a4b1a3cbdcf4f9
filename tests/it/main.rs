//! pulsedb library scenarios, one per file, linked as one test binary so
//! the suite links once (CI has 2 cores).

mod append_by_handle;
mod churn_storm;
mod crash_checkpoint;
mod crash_kill9;
mod day_fixtures;
mod db_basics;
mod delete_series;
mod fixture_reads;
mod fuzz_corpora;
mod golden_fixtures;
mod golden_head_chunks;
mod golden_markers;
mod golden_meter;
mod golden_scaled;
mod model;
mod newest_vs_raw;
mod only_labels;
mod power_cut;
mod promql_scripts;
mod rollups_vs_raw;
mod snapshot;
mod stress;
