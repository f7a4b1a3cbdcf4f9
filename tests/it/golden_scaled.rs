//! Golden fixture `tests/fixtures/v5-scaled/`: block format 5's scaled
//! sealed chunks in checked-in bytes. The main fixtures' regular data
//! never needs them; this one holds data that does: timestamps at
//! irregular whole minutes and every 5 minutes with missing intervals
//! (scaled deltas), a reporter backing off a minute or two more each time
//! (scaled dods), readings in steps of 0.002 (scaled mantissa deltas) and
//! a counter in steps of 250 at a varying rate (scaled mantissa dods); the
//! test checks that each form and codec is in the checked-in bytes.
//! Written once by the ignored `write_scaled_golden` below, checked in,
//! never regenerated.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use pulsedb::{Labels, Sample};

use super::day_fixtures::{draws, formats, reads_back_exactly, write, END, MIN};

const FIXTURE: &str = "tests/fixtures/v5-scaled";

fn labels(name: &str) -> Labels {
    Labels::metric(name, [("host", "golden-s")])
}

fn expected() -> Vec<(Labels, Vec<Sample>)> {
    let gaps = [4, 5, 5, 5, 6, 9, 10, 15, 20];
    let mut t = 0;
    let speed = draws(7, 9)
        .zip(draws(11, 7))
        .map_while(|(gap, change)| {
            t += gaps[gap as usize] * MIN;
            (t < END).then_some((t, change as f64))
        })
        .scan(60.0, |v, (t, change)| {
            *v = f64::max(0.0, *v + change - 3.0);
            Some(Sample::new(t, *v))
        })
        .collect();
    let five_min = (0..END / (5 * MIN))
        .filter(|i| i % 13 != 5 && i % 29 != 3)
        .map(|i| Sample::new(i * 5 * MIN, (i % 17) as f64 * 0.5))
        .collect();
    let power = draws(3, 41)
        .take((END / MIN) as usize)
        .scan(500i64, |m, change| {
            *m = (*m + change as i64 - 20).max(0);
            Some(*m)
        })
        .enumerate()
        .map(|(i, m)| Sample::new(i as i64 * MIN, (m * 2) as f64 / 1000.0))
        .collect();
    let counter = (0..END / MIN).map(|i| Sample::new(i * MIN, ((i * i / 7) * 250) as f64)).collect();
    // Gaps growing by one or two minutes, back to one minute every 40 samples.
    let backing_off = (0..)
        .scan((0, 0), |(t, gap), i: i64| {
            *gap = if i % 40 == 0 { MIN } else { *gap + (1 + i % 2) * MIN };
            *t += *gap;
            Some(Sample::new(*t, (i % 40) as f64))
        })
        .take_while(|s| s.t < END)
        .collect();
    vec![
        (labels("backing_off"), backing_off),
        (labels("power_kw"), power),
        (labels("speed_irregular"), speed),
        (labels("up_every_5m"), five_min),
        (labels("wh_total"), counter),
    ]
}

#[test]
fn version_5_scaled_chunks_read_back_exactly() {
    let found = formats(Path::new(FIXTURE));
    for codec in ["decimal-delta-scaled", "decimal-dod-scaled"] {
        assert!(found.iter().any(|&(c, _, _, _)| c == codec), "the fixture holds {codec}: {found:?}");
    }
    for form in [1, 2] {
        assert!(found.iter().any(|&(_, f, _, _)| f == form), "the fixture holds timestamp form {form}: {found:?}");
    }
    assert!(found.iter().all(|&(_, _, sized, _)| !sized), "version 5 chunks have head bit 6 clear: {found:?}");
    reads_back_exactly(FIXTURE, "golden-s", &expected());
}

#[test]
#[ignore = "writes the checked-in fixture; run only to create it"]
fn write_scaled_golden() {
    write(FIXTURE, expected());
}
