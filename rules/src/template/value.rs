//! The values a template handles. Go's templates are dynamically typed;
//! each variant stands for the Go type Prometheus hands its templates, so
//! printing, truth, comparison and errors follow Go's rules for that type.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::format::{go_float, go_time, time_method};

/// A label set as Go's `map[string]string`.
pub(crate) type LabelMap = BTreeMap<String, String>;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// No value (Go's nil interface): prints `<no value>`.
    Nil,
    Bool(bool),
    /// Go's `int`: integer literals and indexes.
    Int(i64),
    /// Go's `float64`: `$value`, sample values, number literals with a point.
    Float(f64),
    /// Go's `complex128` (an imaginary literal such as `1i`): real and imaginary parts.
    Complex(f64, f64),
    Str(String),
    /// Go's `template.HTML` (what `safeHtml` returns): a string, but not of
    /// type string where a function wants one.
    Html(String),
    /// Go's `map[string]string`: `$labels`, `$externalLabels`, a sample's labels.
    Labels(Rc<BTreeMap<String, String>>),
    /// Go's `map[string]interface{}` (what `args` builds).
    Map(BTreeMap<String, Value>),
    /// A query's result (Prometheus' `queryResult`, a list of samples).
    List(Vec<Value>),
    /// One sample of a query's result: labels and value.
    Sample(Rc<BTreeMap<String, String>>, f64),
    /// A time (`toTime`), in milliseconds since the epoch.
    Time(i64),
    /// The data of an alert's templates (`.Labels`, `.ExternalLabels`,
    /// `.ExternalURL`, `.Value`).
    AlertData(Rc<AlertData>),
}

#[derive(Debug, PartialEq)]
pub(crate) struct AlertData {
    pub labels: Rc<BTreeMap<String, String>>,
    pub external_labels: Rc<BTreeMap<String, String>>,
    pub external_url: String,
    pub value: f64,
}

impl Value {
    /// The Go type's name, as Go's error messages print it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::Labels(_) => "map[string]string",
            Value::Map(_) => "map[string]interface {}",
            Value::List(_) => "template.queryResult",
            Value::Sample(..) => "*template.sample",
            Value::Time(_) => "*time.Time",
            Value::AlertData(_) => "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }",
        }
    }

    /// How Go's `fmt.Sprint` prints it (and so an action's output).
    pub(crate) fn print(&self) -> String {
        match self {
            Value::Nil => "<no value>".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(v) => go_float(*v),
            Value::Complex(re, im) => {
                let im = go_float(*im);
                let sign = if im.starts_with(['+', '-']) { "" } else { "+" };
                format!("({}{sign}{im}i)", go_float(*re))
            }
            Value::Str(s) | Value::Html(s) => s.clone(),
            Value::Labels(m) => {
                let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", pairs.join(" "))
            }
            Value::Map(m) => {
                let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{}", v.print_nested())).collect();
                format!("map[{}]", pairs.join(" "))
            }
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(Value::print_nested).collect();
                format!("[{}]", items.join(" "))
            }
            Value::Sample(labels, v) => {
                format!("{{{} {}}}", Value::Labels(labels.clone()).print(), go_float(*v))
            }
            Value::Time(ms) => go_time(*ms),
            Value::AlertData(d) => format!(
                "{{{} {} {} {}}}",
                Value::Labels(d.labels.clone()).print(),
                Value::Labels(d.external_labels.clone()).print(),
                d.external_url,
                go_float(d.value)
            ),
        }
    }

    /// How `fmt.Sprint` prints it as an operand of `print` or inside a
    /// container: nil as `<nil>`, a sample (a pointer) as `&{…}` (inside a
    /// container Go prints its address; by value is what a reader wants).
    pub(crate) fn print_nested(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Sample(..) => format!("&{}", self.print()),
            other => other.print(),
        }
    }

    /// Go's truth: false, 0, nil and empty strings, maps and lists are false.
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(v) => *v != 0.0,
            Value::Complex(re, im) => *re != 0.0 || *im != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::Labels(m) => !m.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Sample(..) | Value::Time(_) | Value::AlertData(_) => true,
        }
    }

    /// `.name` on this value: a struct's field or a map's key (a missing
    /// key gives the map's zero value, as Prometheus' `missingkey=zero`).
    pub(crate) fn field(&self, name: &str) -> Result<Value, String> {
        let labels = |m: &Rc<BTreeMap<String, String>>| Value::Str(m.get(name).cloned().unwrap_or_default());
        Ok(match (self, name) {
            (Value::Labels(m), _) => labels(m),
            (Value::Map(m), _) => m.get(name).cloned().unwrap_or(Value::Nil),
            (Value::Sample(l, _), "Labels") => Value::Labels(l.clone()),
            (Value::Sample(_, v), "Value") => Value::Float(*v),
            (Value::AlertData(d), "Labels") => Value::Labels(d.labels.clone()),
            (Value::AlertData(d), "ExternalLabels") => Value::Labels(d.external_labels.clone()),
            (Value::AlertData(d), "ExternalURL") => Value::Str(d.external_url.clone()),
            (Value::AlertData(d), "Value") => Value::Float(d.value),
            // A field of nothing is nothing (Prometheus runs with missingkey=zero).
            (Value::Nil, _) => Value::Nil,
            (Value::Time(_), "Format") => return Err("wrong number of args for Format: want 1 got 0".into()),
            (Value::Time(ms), method) if time_method(*ms, method).is_some() => {
                time_method(*ms, method).unwrap_or(Value::Nil)
            }
            (other, _) => return Err(format!("can't evaluate field {name} in type {}", other.type_name())),
        })
    }
}
