//! Recording and alerting rules in Prometheus' rule-file format. This
//! first part reads and checks rule files as `promtool check rules` does
//! ([`load_file`], [`check_str`]): the same files accepted and refused,
//! each refusal naming the file, the line where it can, and the reason —
//! and evaluates rule groups ([`RuleGroup`]) through an `Appender`:
//! recording rules, and alerting rules with Prometheus' pending / firing /
//! resolved states, state restored after a restart, and Go templates in
//! labels and annotations.

mod alerting;
mod file;
mod group;
mod template;

pub use alerting::{Alert, AlertState, AlertingRule};
pub use file::{check_str, duration as parse_duration, load_file, Group, Rule, RuleFile, RuleKind};
pub use group::{RuleGroup, RuleOutcome, RuleStatus};

/// Why a rule file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The YAML does not parse, or has fields the format does not know.
    #[error("{path}: {message}")]
    Syntax { path: String, message: String },
    /// It parses, but a group or rule breaks the format's rules.
    #[error("{path}: {}", .problems.join("; "))]
    Invalid { path: String, problems: Vec<String> },
}
