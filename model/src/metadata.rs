//! Metric metadata: a metric family's type, help text and unit, as
//! Prometheus' remote-write metadata records and the text formats'
//! `# TYPE`, `# HELP` and `# UNIT` lines carry them.

/// A metric family's type, named as Prometheus' `/api/v1/metadata` writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum MetricType {
    #[default]
    Unknown,
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
}

impl MetricType {
    pub const ALL: [MetricType; 8] = [
        Self::Unknown,
        Self::Counter,
        Self::Gauge,
        Self::Histogram,
        Self::GaugeHistogram,
        Self::Summary,
        Self::Info,
        Self::StateSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::GaugeHistogram => "gaugehistogram",
            Self::Summary => "summary",
            Self::Info => "info",
            Self::StateSet => "stateset",
        }
    }

    /// The type named `s` (as [`as_str`](Self::as_str) writes it; `untyped`
    /// is the text format's word for unknown).
    pub fn parse(s: &str) -> Option<Self> {
        if s == "untyped" {
            return Some(Self::Unknown);
        }
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The remote-write protobuf's `MetricMetadata.MetricType` number; an unknown number is `Unknown`.
    pub fn from_proto(n: i32) -> Self {
        usize::try_from(n).ok().and_then(|i| Self::ALL.get(i).copied()).unwrap_or_default()
    }
}

/// One metric family's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MetricMetadata {
    /// The family's name (for a histogram, without `_bucket`).
    pub metric: String,
    pub kind: MetricType,
    pub help: String,
    pub unit: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_proto_numbers_round_trip() {
        for (i, t) in MetricType::ALL.into_iter().enumerate() {
            assert_eq!(MetricType::parse(t.as_str()), Some(t));
            assert_eq!(MetricType::from_proto(i as i32), t);
        }
        assert_eq!(MetricType::parse("untyped"), Some(MetricType::Unknown));
        assert_eq!(MetricType::parse("Counter"), None);
        assert_eq!(MetricType::from_proto(99), MetricType::Unknown);
        assert_eq!(MetricType::from_proto(-1), MetricType::Unknown);
    }
}
