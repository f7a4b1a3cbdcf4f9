//! Templates in alert labels and annotations: Go's `text/template` as
//! Prometheus 2.42 runs it — text and actions, pipelines, variables,
//! `if`/`else if`/`else`, `range` (with `break`/`continue`), `with`,
//! `define`/`template`/`block`, comments and trim markers; Go's built-in
//! functions and Prometheus' (`query`, `first`, `label`, `value`,
//! `sortByLabel`, the humanize family, `printf`, `match`, `reReplaceAll`,
//! `graphLink`, …). The data is Prometheus': `.Labels` (the result
//! series' labels, name included), `.ExternalLabels`, `.ExternalURL`,
//! `.Value`, also as `$labels`, `$externalLabels`, `$externalURL`,
//! `$value`. A template that does not parse (syntax, an undefined function
//! or variable) refuses its rule file when read; one that fails while
//! running expands to Prometheus' `<error expanding template: …>` text.

mod exec;
mod format;
mod functions;
mod goregex;
mod lex;
mod parse;
mod strconv;
mod value;

use std::collections::BTreeMap;
use std::rc::Rc;

use pulsedb_model::Labels;

use exec::Exec;
use functions::Env;
use value::{AlertData, Value};

/// Runs a PromQL query at the evaluation time: each result series' labels
/// and value (a scalar is one series without labels).
pub(crate) type QueryFn<'a> = dyn Fn(&str) -> Result<QueryResult, String> + 'a;

/// A query's result: each series' labels (name included) and value.
pub(crate) type QueryResult = Vec<(BTreeMap<String, String>, f64)>;

/// What Prometheus writes before every alert template (error positions
/// count it, as Prometheus' do).
const PREAMBLE_LEN: usize =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
        .len();

const DECLARED: &[&str] = &["$", "$labels", "$externalLabels", "$externalURL", "$value"];

/// The expression browser's table view of `expr` (Prometheus' `tableLink`),
/// which alerts link to.
pub(crate) fn table_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", format::query_escape(expr))
}

/// Checks a template's syntax, functions and variables, as a rule file is
/// read; `rule` is the alerting rule's name (the template's is `__alert_<rule>`).
pub(crate) fn check(template: &str, rule: &str) -> Result<(), String> {
    parse::parse(template, DECLARED, &format!("__alert_{rule}")).map(|_| ()).map_err(|(_, message)| message)
}

/// What an alert's templates see.
pub(crate) struct AlertContext<'a> {
    /// The alerting rule's name (Prometheus names the template `__alert_<name>`).
    pub(crate) rule: &'a str,
    /// The series' labels, metric name included.
    pub(crate) labels: &'a Labels,
    pub(crate) value: f64,
    pub(crate) external_labels: &'a Labels,
    /// `None` where there is none (as in `promtool test rules`).
    pub(crate) external_url: Option<&'a str>,
    pub(crate) query: Option<&'a QueryFn<'a>>,
}

fn label_map(labels: &Labels) -> Rc<BTreeMap<String, String>> {
    Rc::new(labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect())
}

/// Line and column of `pos` as Go reports them (the preamble counted on line 1).
fn line_col(template: &str, pos: usize) -> (usize, usize) {
    let before = &template[..pos.min(template.len())];
    match before.rfind('\n') {
        Some(nl) => (1 + before.matches('\n').count(), pos - nl - 1),
        None => (1, PREAMBLE_LEN + pos),
    }
}

/// `template` expanded; an error writes Prometheus' error text in its place.
pub(crate) fn expand(template: &str, cx: &AlertContext<'_>) -> String {
    let name = format!("__alert_{}", cx.rule);
    let tree = match parse::parse(template, DECLARED, &name) {
        Ok(tree) => tree,
        Err((pos, message)) => {
            let (line, _) = line_col(template, pos);
            return format!(
                "<error expanding template: error parsing template {name}: template: {name}:{line}: {message}>"
            );
        }
    };
    let data = AlertData {
        labels: label_map(cx.labels),
        external_labels: label_map(cx.external_labels),
        external_url: cx.external_url.unwrap_or_default().to_string(),
        value: cx.value,
    };
    let dot = Value::AlertData(Rc::new(data));
    let vars = vec![
        ("$".to_string(), dot.clone()),
        ("$labels".to_string(), dot.field("Labels").unwrap_or(Value::Nil)),
        ("$externalLabels".to_string(), dot.field("ExternalLabels").unwrap_or(Value::Nil)),
        ("$externalURL".to_string(), Value::Str(cx.external_url.unwrap_or_default().to_string())),
        ("$value".to_string(), Value::Float(cx.value)),
    ];
    let env = Env { query: cx.query, external_url: cx.external_url };
    match Exec::run(&tree, &env, &dot, vars) {
        Ok(text) => text,
        Err(e) => {
            let (line, col) = line_col(template, e.pos);
            format!(
                "<error expanding template: error executing template {name}: template: {name}:{line}:{col}: executing \"{}\" at <{}>: {}>",
                e.template.as_deref().unwrap_or(&name),
                e.at,
                e.message
            )
        }
    }
}

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod runtime_tests;
#[cfg(test)]
mod tests;
