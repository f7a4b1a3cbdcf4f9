//! Golden fixture `tests/fixtures/v7-meter/`: block format 7's sealed
//! chunks in checked-in bytes, on a household meter's 1-minute readings:
//! a sub-meter idle at 0 and switching to a few levels, active power in
//! steps of 0.002 kW with an appliance switching on and off, a voltage in
//! hundredths (these take value codec 5, varint bytes for the frame's
//! zstd), and a reporter whose readings come a few milliseconds late and
//! stop for hours now and then (its timestamps' Rice groups escape the
//! outages, sized). The test checks that codec 5, the sized-escape flag
//! and sized escapes are in the checked-in bytes, and that the fixture
//! reads back exactly, before and after compaction.
//! Written once by the ignored `write_meter_golden` below, checked in,
//! never regenerated.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use pulsedb::{Labels, Sample};

use super::day_fixtures::{draws, formats, reads_back_exactly, write, END, MIN};

const FIXTURE: &str = "tests/fixtures/v7-meter";

fn labels(name: &str) -> Labels {
    Labels::metric(name, [("host", "golden-m")])
}

fn minutes(values: impl Iterator<Item = f64>) -> Vec<Sample> {
    values.take((END / MIN) as usize).enumerate().map(|(i, v)| Sample::new(i as i64 * MIN, v)).collect()
}

fn expected() -> Vec<(Labels, Vec<Sample>)> {
    // Idle most minutes; on for a while at 17-19 Wh, now and then 1.
    let sub_meter = minutes(draws(5, 1000).scan(0.0, |wh, d| {
        *wh = match (*wh == 0.0, d) {
            (true, 0..=19) => 17.0 + (d % 3) as f64,
            (true, 20..=29) => 1.0,
            (true, _) => 0.0,
            (false, 0..=99) => 0.0,
            (false, 100..=299) => f64::max(1.0, *wh + (d % 3) as f64 - 1.0),
            (false, _) => *wh,
        };
        Some(*wh)
    }));
    // Steps of 0.002 kW, an appliance adding 1.5 kW for a while.
    let power = minutes(draws(9, 1000).scan((400i64, false), |(m, on), d| {
        *m = (*m + (d % 9) as i64 - 4).max(40);
        if d < 8 {
            *on = !*on;
        }
        Some(((*m + if *on { 750 } else { 0 }) * 2) as f64 / 1000.0)
    }));
    let voltage = minutes(draws(13, 81).scan(24_000i64, |cv, d| {
        *cv = (*cv + d as i64 - 40).clamp(22_500, 25_200);
        Some(*cv as f64 / 100.0)
    }));
    // Every minute, up to 30 ms late; an outage of 1-3 hours about once a day.
    let reporter: Vec<Sample> = draws(17, 1440)
        .scan(0i64, |minute, d| {
            *minute += if d == 0 { 60 + (*minute % 121) } else { 1 };
            Some(Sample::new(*minute * MIN + (d % 31) as i64, 1.0))
        })
        .take_while(|s| s.t < END)
        .collect();
    vec![
        (labels("active_power_kw"), power),
        (labels("reporter_up"), reporter),
        (labels("sub_metering_wh"), sub_meter),
        (labels("voltage"), voltage),
    ]
}

#[test]
fn version_7_meter_chunks_read_back_exactly() {
    let found = formats(Path::new(FIXTURE));
    assert!(found.iter().any(|&(c, _, _, _)| c == "decimal-delta-bytes"), "the fixture holds codec 5: {found:?}");
    assert!(found.iter().all(|&(_, _, sized, _)| sized), "every version 7 chunk has sized escapes: {found:?}");
    assert!(found.iter().any(|&(_, _, _, escapes)| escapes > 0), "the fixture holds sized escapes: {found:?}");
    reads_back_exactly(FIXTURE, "golden-m", &expected());
}

#[test]
#[ignore = "writes the checked-in fixture; run only to create it"]
fn write_meter_golden() {
    write(FIXTURE, expected());
}
