//! pulsedb's shared vocabulary, defined once for every crate above it:
//! [`Labels`] and the label-name grammar, [`Matcher`]s with Prometheus
//! semantics, [`Sample`]s and the staleness marker, [`Series`] and
//! [`SeriesRef`], the unit of append ([`Batch`]), rollup summaries, metric
//! metadata ([`MetricMetadata`]), and the
//! two contracts between storage and its consumers: [`Querier`] (reads, with
//! [`SelectHints`]) and [`Appender`] (writes, committed or rolled back).
//!
//! It depends on nothing of ours and touches no file: the query engine
//! builds against it alone, and a test can stand in for storage with an
//! in-memory [`Querier`].
#![forbid(unsafe_code)]

mod appender;
mod batch;
mod error;
mod generations;
mod labels;
mod matcher;
mod means;
mod metadata;
mod querier;
mod regex_cache;
mod rollup;
mod sample;

pub use appender::Appender;
pub use batch::{Batch, Row, SeriesHandle};
pub use error::{Error, StoreError};
pub use generations::{Generations, SharedGenerations};
pub use labels::{is_valid_label_name, Label, LabelLimits, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use means::{window_means, window_means_of_samples, WindowMeans};
pub use metadata::{MetricMetadata, MetricType};
pub use querier::{MeansVisitor, Newest, Querier, SelectHints, Shard};
pub use rollup::{
    push_bucket, summarize, summarize_fields_into, summarize_into, RollupBucket, RollupFields, RollupSeries,
    Summarizer, RESOLUTIONS,
};
pub use sample::{is_stale_nan, Sample, Series, SeriesRef, SeriesSample, STALE_NAN};
