//! End-to-end scenarios of the `pulsedb` binary (server, CLI, bench), one
//! per file, linked as one test binary so the suite links once.

mod bench_forward_smoke;
mod bench_rules_smoke;
mod bench_smoke;
mod check_and_corruption;
mod cli_closed_pipe;
mod cli_import_export;
mod forward_remote_write;
mod nab_smoke;
mod prometheus_client;
mod recovery_crash_states;
mod recovery_wal_corruption;
mod rules_unit_tests;
mod server_admin;
mod server_alertmanager;
mod server_anomalies;
mod server_hostile;
mod server_line_protocol;
mod server_metrics_health;
mod server_query_api;
mod server_query_limits;
mod server_remote_read;
mod server_remote_write;
mod server_restart;
mod server_rules;
mod server_series_limit;
mod server_tls_auth;
mod server_ui_api;
mod ui_browser;
mod ui_speed;
