//! The Numenta Anomaly Benchmark's scoring, written from its published
//! rules: each labelled anomaly window counts once, by its earliest
//! detection, weighted by a scaled sigmoid of where in the window it falls
//! (earlier is better); a detection outside every window is a false
//! positive, penalised less just after a window; the first 15 % of each
//! file (at most 750 points) is a probationary period nobody is scored on.
//! One threshold is optimised over the whole corpus per cost profile, and
//! scores are normalised so that a detector that never fires scores 0 and
//! one that fires at the start of every window scores 100.

use std::borrow::Borrow;

/// A cost profile: the weights of true positives, false positives and
/// missed windows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub tp_weight: f64,
    pub fp_weight: f64,
    pub fn_weight: f64,
}

pub const STANDARD: Profile = Profile { name: "standard", tp_weight: 1.0, fp_weight: 0.11, fn_weight: 1.0 };
pub const REWARD_LOW_FP: Profile =
    Profile { name: "reward_low_FP_rate", tp_weight: 1.0, fp_weight: 0.22, fn_weight: 1.0 };
pub const REWARD_LOW_FN: Profile =
    Profile { name: "reward_low_FN_rate", tp_weight: 1.0, fp_weight: 0.11, fn_weight: 2.0 };
pub const PROFILES: [Profile; 3] = [STANDARD, REWARD_LOW_FP, REWARD_LOW_FN];

/// Share of each file that is probationary, and the cap (15 % of 5,000).
const PROBATIONARY_SHARE: f64 = 0.15;
const PROBATIONARY_CAP: usize = 750;

/// One file's detector output: a score in [0, 1] per timestamp (time
/// order) and the labelled windows, inclusive, as timestamps.
#[derive(Clone, Debug, Default)]
pub struct ScoredFile {
    pub timestamps: Vec<i64>,
    pub scores: Vec<f64>,
    pub windows: Vec<(i64, i64)>,
}

/// 2σ(-5x) - 1, and -1 well past a window.
fn scaled_sigmoid(relative_position: f64) -> f64 {
    if relative_position > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * relative_position).exp()) - 1.0
    }
}

/// One scored point: its anomaly score, its window (an index into the
/// corpus' windows) and what detecting it is worth under a profile.
#[derive(Clone, Copy, Debug)]
struct Point {
    score: f64,
    window: Option<usize>,
    worth: f64,
}

/// The points of one file after its probationary period, with what each
/// is worth under `profile`; windows are numbered from `first_window`.
fn sweep(file: &ScoredFile, profile: &Profile, first_window: usize) -> Vec<Point> {
    let n = file.timestamps.len();
    let probation = ((PROBATIONARY_SHARE * n as f64).floor() as usize).min(PROBATIONARY_CAP);
    // Windows as inclusive index ranges over the file's timestamps.
    let windows: Vec<(usize, usize)> = file
        .windows
        .iter()
        .filter_map(|&(start, end)| {
            let left = file.timestamps.partition_point(|&t| t < start);
            let right = file.timestamps.partition_point(|&t| t <= end).checked_sub(1)?;
            (left <= right).then_some((left, right))
        })
        .collect();
    let max_tp = scaled_sigmoid(-1.0);
    let mut out = Vec::with_capacity(n.saturating_sub(probation));
    let mut previous: Option<(usize, usize)> = None;
    let mut w = 0;
    for i in 0..n {
        while w < windows.len() && windows[w].1 < i {
            previous = Some(windows[w]);
            w += 1;
        }
        let inside = windows.get(w).filter(|&&(left, _)| left <= i);
        let (window, worth) = match inside {
            Some(&(left, right)) => {
                let width = (right - left + 1) as f64;
                let position = -((right - i + 1) as f64) / width;
                (Some(first_window + w), scaled_sigmoid(position) * profile.tp_weight / max_tp)
            }
            None => {
                let unweighted = match previous {
                    None => -1.0,
                    Some((left, right)) => {
                        let width = (right - left + 1) as f64;
                        // A one-point window: everything after counts as far past it.
                        let past = if width > 1.0 { (i - right) as f64 / (width - 1.0) } else { f64::INFINITY };
                        scaled_sigmoid(past)
                    }
                };
                (None, unweighted * profile.fp_weight)
            }
        };
        if i >= probation {
            out.push(Point { score: file.scores[i], window, worth });
        }
    }
    out
}

/// The corpus' score under one profile at its best threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CorpusScore {
    pub profile: &'static str,
    /// Points scoring at least this are detections.
    pub threshold: f64,
    pub raw: f64,
    /// 0 for a detector that never fires, 100 for a perfect one.
    pub normalized: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub windows: usize,
}

/// Scores `files` under `profile`, choosing the threshold that maximises
/// the corpus' total (one threshold for all files, as NAB optimises it).
pub fn score_corpus<F: Borrow<ScoredFile>>(files: &[F], profile: &Profile) -> CorpusScore {
    let mut points = Vec::new();
    let mut windows = 0;
    for file in files.iter().map(Borrow::borrow) {
        points.extend(sweep(file, profile, windows));
        windows += file.windows.len();
    }
    // Highest scores first: lowering the threshold past each distinct
    // score adds the points that have it.
    points.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut window_worth = vec![-profile.fn_weight; windows];
    let (mut fp_total, mut fp, mut tp) = (0.0, 0, 0);
    let null = -profile.fn_weight * windows as f64;
    let mut best = (f64::INFINITY, null, 0, 0);
    let mut i = 0;
    while i < points.len() {
        let threshold = points[i].score;
        while i < points.len() && points[i].score == threshold {
            let p = points[i];
            match p.window {
                Some(w) => {
                    if window_worth[w] == -profile.fn_weight {
                        tp += 1;
                    }
                    window_worth[w] = window_worth[w].max(p.worth);
                }
                None => {
                    fp_total += p.worth;
                    fp += 1;
                }
            }
            i += 1;
        }
        let total = window_worth.iter().sum::<f64>() + fp_total;
        if total > best.1 {
            best = (threshold, total, tp, fp);
        }
    }
    CorpusScore {
        profile: profile.name,
        threshold: best.0,
        raw: best.1,
        normalized: normalized(best.1, windows, profile),
        true_positives: best.2,
        false_positives: best.3,
        windows,
    }
}

/// Scores `files` under `profile` at a threshold chosen elsewhere (the
/// shipped constant, or the one another category chose).
pub fn score_at<F: Borrow<ScoredFile>>(files: &[F], profile: &Profile, threshold: f64) -> CorpusScore {
    let mut windows = 0;
    let mut window_worth = Vec::new();
    let (mut fp_total, mut fp) = (0.0, 0);
    for file in files.iter().map(Borrow::borrow) {
        window_worth.extend(std::iter::repeat_n(-profile.fn_weight, file.windows.len()));
        for p in sweep(file, profile, windows).into_iter().filter(|p| p.score >= threshold) {
            match p.window {
                Some(w) => window_worth[w] = window_worth[w].max(p.worth),
                None => {
                    fp_total += p.worth;
                    fp += 1;
                }
            }
        }
        windows += file.windows.len();
    }
    let raw = window_worth.iter().sum::<f64>() + fp_total;
    CorpusScore {
        profile: profile.name,
        threshold,
        raw,
        normalized: normalized(raw, windows, profile),
        true_positives: window_worth.iter().filter(|&&w| w != -profile.fn_weight).count(),
        false_positives: fp,
        windows,
    }
}

/// A raw total on NAB's scale: the null detector 0, a perfect one 100.
pub fn normalized(raw: f64, windows: usize, profile: &Profile) -> f64 {
    let null = -profile.fn_weight * windows as f64;
    let perfect = profile.tp_weight * windows as f64;
    if perfect > null {
        100.0 * (raw - null) / (perfect - null)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 100 points at 1 s; windows by index.
    fn file(scores: Vec<f64>, windows: &[(usize, usize)]) -> ScoredFile {
        let timestamps: Vec<i64> = (0..scores.len() as i64).map(|i| i * 1000).collect();
        let windows = windows.iter().map(|&(a, b)| (timestamps[a], timestamps[b])).collect();
        ScoredFile { timestamps, scores, windows }
    }

    #[test]
    fn a_detector_that_never_fires_scores_zero() {
        let f = file(vec![0.0; 100], &[(40, 49), (70, 79)]);
        for profile in PROFILES {
            let s = score_corpus(std::slice::from_ref(&f), &profile);
            assert_eq!(s.normalized, 0.0, "{profile:?}");
        }
    }

    #[test]
    fn a_detection_at_every_window_start_scores_one_hundred() {
        let mut scores = vec![0.0; 100];
        scores[40] = 1.0;
        scores[70] = 1.0;
        let f = file(scores, &[(40, 49), (70, 79)]);
        for profile in PROFILES {
            let s = score_corpus(std::slice::from_ref(&f), &profile);
            assert!((s.normalized - 100.0).abs() < 1e-9, "{profile:?}: {s:?}");
            assert_eq!((s.true_positives, s.false_positives), (2, 0));
        }
    }

    #[test]
    fn hand_worked_windows() {
        // One 10-point window at 40..=49; a detection at its last point,
        // one at its start (only the best counts), and one false positive
        // long after it. Probation is the first 15 points.
        let mut scores = vec![0.0; 100];
        scores[49] = 0.9;
        scores[95] = 0.9;
        let f = file(scores.clone(), &[(40, 49)]);
        let s = score_corpus(std::slice::from_ref(&f), &STANDARD);
        // Last point of the window: position -1/10; far past it: -1 × 0.11.
        let tp = (2.0 / (1.0 + (-0.5f64).exp()) - 1.0) / scaled_sigmoid(-1.0);
        let want_raw = tp - 0.11;
        assert!((s.raw - want_raw).abs() < 1e-12, "{s:?} vs {want_raw}");
        assert!((s.normalized - 100.0 * (want_raw + 1.0) / 2.0).abs() < 1e-9);
        // Adding the window's first point makes the window worth 1.
        scores[40] = 0.9;
        let s = score_corpus(&[file(scores, &[(40, 49)])], &STANDARD);
        assert!((s.raw - (1.0 - 0.11)).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn what_each_point_is_worth() {
        let f = file(vec![0.0; 100], &[(40, 49)]);
        let points = sweep(&f, &STANDARD, 0);
        // The first 15 points are probationary.
        assert_eq!(points.len(), 85);
        let worth = |i: usize| points[i - 15].worth;
        assert!((worth(40) - 1.0).abs() < 1e-12, "a window's first point is worth a whole window");
        assert!(worth(45) > 0.0 && worth(45) < worth(40), "later in the window is worth less");
        assert_eq!(worth(20), -0.11, "before any window: a full false positive");
        assert!(worth(50) < 0.0 && worth(50) > -0.11 * 0.5, "just after a window costs less");
        assert_eq!(worth(95), -0.11, "far past a window: a full false positive");
    }

    #[test]
    fn detections_in_the_probationary_period_do_not_count() {
        let mut s = vec![0.0; 100];
        s[3] = 1.0;
        let score = score_corpus(&[file(s, &[(40, 49)])], &STANDARD);
        assert_eq!((score.normalized, score.false_positives), (0.0, 0));
    }

    #[test]
    fn a_fixed_threshold_scores_what_the_chosen_one_would_at_the_same_value() {
        let mut scores = vec![0.0; 100];
        scores[30] = 0.5; // a false positive
        scores[45] = 0.9; // a detection in the middle of the window
        scores[80] = 0.3; // a false positive below the threshold
        let f = file(scores, &[(40, 49)]);
        let best = score_corpus(std::slice::from_ref(&f), &STANDARD);
        let fixed = score_at(std::slice::from_ref(&f), &STANDARD, best.threshold);
        assert_eq!((fixed.raw, fixed.true_positives, fixed.false_positives), (best.raw, 1, 0));
        let lower = score_at(std::slice::from_ref(&f), &STANDARD, 0.5);
        assert_eq!((lower.true_positives, lower.false_positives), (1, 1));
        assert!((lower.raw - (best.raw - 0.11)).abs() < 1e-12);
        let none = score_at(&[f], &STANDARD, 0.95);
        assert_eq!((none.normalized, none.true_positives), (0.0, 0));
    }

    #[test]
    fn the_threshold_is_chosen_for_the_corpus() {
        // A high score in the window, lower noise outside: the best
        // threshold keeps the detection and drops the noise.
        let mut scores = vec![0.3; 100];
        scores[41] = 0.8;
        let s = score_corpus(&[file(scores, &[(40, 49)])], &STANDARD);
        assert_eq!(s.threshold, 0.8);
        assert_eq!((s.true_positives, s.false_positives), (1, 0));
    }
}
