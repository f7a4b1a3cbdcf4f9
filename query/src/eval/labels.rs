//! Label-set surgery the operators need: dropping the metric name, keeping
//! or removing a list of labels, setting one.

use pulsedb_model::{Labels, METRIC_NAME};

pub(crate) fn drop_metric_name(labels: &Labels) -> Labels {
    if labels.metric_name().is_none() {
        return labels.clone();
    }
    labels.iter().filter(|l| l.name != METRIC_NAME).map(|l| (l.name.clone(), l.value.clone())).collect()
}

/// Only the labels named in `keep`.
pub(crate) fn keep_only(labels: &Labels, keep: &[String]) -> Labels {
    labels.iter().filter(|l| keep.contains(&l.name)).map(|l| (l.name.clone(), l.value.clone())).collect()
}

/// All labels but those in `drop` (and the metric name when `drop_name`).
pub(crate) fn without(labels: &Labels, drop: &[String], drop_name: bool) -> Labels {
    labels
        .iter()
        .filter(|l| !(drop.contains(&l.name) || drop_name && l.name == METRIC_NAME))
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// `labels` with `name` set to `value` (removed when `value` is empty).
pub(crate) fn with(labels: &Labels, name: &str, value: &str) -> Labels {
    labels
        .iter()
        .filter(|l| l.name != name)
        .map(|l| (l.name.clone(), l.value.clone()))
        .chain((!value.is_empty()).then(|| (name.to_string(), value.to_string())))
        .collect()
}

/// The matching signature: the labels in `names` (`on`), or all but those in
/// `names` and the metric name (`ignoring`, and the default).
pub(crate) fn signature(labels: &Labels, on: bool, names: &[String]) -> Labels {
    if on {
        keep_only(labels, names)
    } else {
        without(labels, names, true)
    }
}

/// Formats a value as Go's `strconv.FormatFloat(v, 'f', -1, 64)`, as
/// Prometheus does in `count_values` and `le` labels.
pub(crate) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
}
