//! The WAL's integration scenarios, one file each, linked as one test binary.

mod common;
mod corruption;
mod drop_stops_thread;
mod enospc;
mod golden_v1;
mod group_commit;
mod poison;
mod replay_proptest;
mod rotation;
mod sync_modes;
mod tail;
mod truncate_before;
