//! `pulsedb query`: evaluates a PromQL query on a data directory and prints
//! a table or Prometheus-API JSON.

use std::path::Path;

use pulsedb::{Options, Value};

use pulsedb_formats::timefmt::{parse_duration_ms, parse_time_ms, rfc3339};

pub(crate) struct Args<'a> {
    pub(crate) data_dir: &'a Path,
    pub(crate) query: &'a str,
    pub(crate) time: Option<&'a str>,
    pub(crate) start: Option<&'a str>,
    pub(crate) end: Option<&'a str>,
    pub(crate) step: Option<&'a str>,
    pub(crate) json: bool,
    /// No rollup plans: raw samples only.
    pub(crate) raw: bool,
}

pub(crate) fn run(a: Args<'_>) -> anyhow::Result<()> {
    let mut options = Options::default();
    options.background_maintenance = false;
    let mut db = super::open_existing(a.data_dir, options)?;
    if a.raw {
        let mut engine = pulsedb::EngineOptions::default();
        engine.use_rollups = false;
        db.set_query_options(engine);
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64)?;
    let value = match (a.start, a.end) {
        (None, None) => {
            let t = a.time.map(parse_time_ms).transpose()?.unwrap_or(now);
            db.query(a.query, t)?
        }
        (start, end) => {
            let end = end.map(parse_time_ms).transpose()?.unwrap_or(now);
            let start = start.map(parse_time_ms).transpose()?.unwrap_or(end - 3_600_000);
            let step = match a.step {
                Some(s) => parse_duration_ms(s)?,
                // Like Grafana: about 250 points over the range, at least 1 s.
                None => ((end - start) / 250).max(1000),
            };
            db.query_range(a.query, start, end, step)?
        }
    };
    if a.json {
        println!("{}", pulsedb_formats::api::success(pulsedb_formats::api::query_data(&value)));
    } else {
        print_table(&value);
    }
    db.close()?;
    Ok(())
}

fn print_table(value: &Value) {
    use pulsedb_formats::api::format_value;
    match value {
        Value::Scalar { v, .. } => println!("{}", format_value(*v)),
        Value::String { v, .. } => println!("{v:?}"),
        Value::Vector(samples) => {
            for s in samples {
                println!("{} {} @ {}", s.labels, format_value(s.v), rfc3339(s.t));
            }
        }
        Value::Matrix(series) => {
            for s in series {
                println!("{}", s.labels);
                for p in &s.points {
                    println!("  {} {}", rfc3339(p.t), format_value(p.v));
                }
            }
        }
    }
}
