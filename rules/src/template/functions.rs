//! The functions a template may call: Go's built-ins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print`, `printf`, `println`, `eq`, `ne`,
//! `lt`, `le`, `gt`, `ge`, `html`, `js`, `urlquery`, `call`) and
//! Prometheus 2.42's template functions — the set `promtool check rules`
//! accepts in alert templates (so not `tmpl`, which only consoles have).

use std::cmp::Ordering;
use std::rc::Rc;

use super::format::{
    go_float, go_g, go_time, html_escape, humanize, humanize_duration, js_escape, query_escape, sprint,
    sprint_printable, sprintf, sprintln,
};
use super::goregex;
use super::strconv;
use super::value::{LabelMap, Value};

const GO_BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
    "html", "js", "urlquery", "call",
];

const PROMETHEUS: &[&str] = &[
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "title",
    "toUpper",
    "toLower",
    "match",
    "reReplaceAll",
    "graphLink",
    "tableLink",
    "args",
    "safeHtml",
    "externalURL",
    "pathPrefix",
    "parseDuration",
    "stripPort",
    "stripDomain",
];

/// What Prometheus' `externalURL` and `pathPrefix` fail with where no
/// external URL is set (as in `promtool test rules`): a nil pointer.
const NIL_URL: &str = "runtime error: invalid memory address or nil pointer dereference";

/// Whether a template may call `name`.
pub(super) fn exists(name: &str) -> bool {
    GO_BUILTINS.contains(&name) || PROMETHEUS.contains(&name)
}

/// A parameter's Go type, as far as templates check it before a call.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Param {
    /// `interface{}` or `reflect.Value`: anything.
    Any,
    Str,
    /// `*template.sample`.
    Sample,
    /// `template.queryResult`.
    List,
}

impl Param {
    /// The Go type's name, as Go's error messages print it.
    pub(super) fn type_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Sample => "*template.sample",
            Param::List => "template.queryResult",
        }
    }

    /// Whether a value of this type may be passed.
    pub(super) fn admits(self, v: &Value) -> bool {
        match self {
            Param::Any => true,
            Param::Str => matches!(v, Value::Str(_)),
            Param::Sample => matches!(v, Value::Sample(..)),
            Param::List => matches!(v, Value::List(_)),
        }
    }
}

/// A function's parameters, and the type of any further (variadic) ones.
pub(super) fn signature(name: &str) -> (&'static [Param], Option<Param>) {
    use Param::{Any, List, Sample, Str};
    match name {
        "and" | "or" | "index" | "slice" | "eq" | "call" => (&[Any], Some(Any)),
        "print" | "println" | "html" | "js" | "urlquery" | "args" => (&[], Some(Any)),
        "printf" => (&[Str], Some(Any)),
        "ne" | "lt" | "le" | "gt" | "ge" => (&[Any, Any], None),
        "not" | "len" | "humanize" | "humanize1024" | "humanizeDuration" | "humanizePercentage"
        | "humanizeTimestamp" | "toTime" => (&[Any], None),
        "query" | "title" | "toUpper" | "toLower" | "graphLink" | "tableLink" | "safeHtml" | "parseDuration"
        | "stripPort" | "stripDomain" => (&[Str], None),
        "first" => (&[List], None),
        "label" => (&[Str, Sample], None),
        "value" | "strvalue" => (&[Sample], None),
        "sortByLabel" => (&[Str, List], None),
        "match" => (&[Str, Str], None),
        "reReplaceAll" => (&[Str, Str, Str], None),
        _ => (&[], None),
    }
}

/// What a function may reach beyond its arguments.
pub(super) struct Env<'a> {
    /// Runs a PromQL query at the evaluation time (`None`: no queries here).
    pub query: Option<&'a super::QueryFn<'a>>,
    pub external_url: Option<&'a str>,
}

fn want(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!("wrong number of args for {name}: want {n} got {}", args.len()))
    }
}

fn want_str(v: &Value) -> Result<String, String> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(format!("wrong type for value; expected string; got {}", other.type_name())),
    }
}

/// Prometheus' `convertToFloat`: numbers and numeric strings.
fn to_float(v: &Value) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => parse_go_float(s),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn parse_go_float(s: &str) -> Result<f64, String> {
    strconv::parse_float(s).map_err(|e| strconv::float_error(s, &e))
}

fn sample_of<'v>(name: &str, v: &'v Value) -> Result<(&'v LabelMap, f64), String> {
    match v {
        Value::Sample(labels, value) => Ok((labels, *value)),
        // A nil *sample (the literal nil) is dereferenced.
        Value::Nil => Err(NIL_URL.into()),
        other => Err(format!("{name}: wrong type for value; expected *template.sample; got {}", other.type_name())),
    }
}

fn list_of(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::List(items) => Ok(items),
        other => Err(format!("wrong type for value; expected template.queryResult; got {}", other.type_name())),
    }
}

/// Go's kinds as its comparison functions see them: the basic ones, or
/// `None` for anything else (maps, lists, samples, times, nil).
#[derive(PartialEq)]
enum Kind {
    Bool,
    Int,
    Float,
    Complex,
    Str,
}

fn kind(v: &Value) -> Option<Kind> {
    Some(match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Complex(..) => Kind::Complex,
        Value::Str(_) | Value::Html(_) => Kind::Str,
        _ => return None,
    })
}

/// Two values of the same basic kind in order (`None` for NaN or complex).
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Complex(a, b), Value::Complex(c, d)) => (a == c && b == d).then_some(Ordering::Equal),
        (Value::Str(x) | Value::Html(x), Value::Str(y) | Value::Html(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// lt, le, gt, ge: basic kinds only, the same kind, and not bool or complex.
fn ordered(name: &str, args: &[Value], test: fn(Ordering) -> bool) -> Result<Value, String> {
    want(name, args, 2)?;
    let (Some(k1), Some(k2)) = (kind(&args[0]), kind(&args[1])) else {
        return Err("invalid type for comparison".into());
    };
    if k1 != k2 {
        return Err("incompatible types for comparison".into());
    }
    if matches!(k1, Kind::Bool | Kind::Complex) {
        return Err("invalid type for comparison".into());
    }
    Ok(Value::Bool(order(&args[0], &args[1]).is_some_and(test)))
}

fn eq(args: &[Value]) -> Result<bool, String> {
    let (first, rest) = args.split_first().ok_or("missing argument for comparison")?;
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let non_comparable = |v: &Value| match v {
        Value::Labels(_) | Value::Map(_) | Value::List(_) => {
            Err(format!("non-comparable type {}: {}", v.print(), v.type_name()))
        }
        _ => Ok(()),
    };
    for other in rest {
        let equal = match (first, other) {
            // Nil equals only nil, and compares with anything.
            (Value::Nil, o) | (o, Value::Nil) => matches!(o, Value::Nil),
            _ if kind(first) != kind(other) => return Err("incompatible types for comparison".into()),
            // Neither basic, and not of one type.
            _ if kind(first).is_none() && std::mem::discriminant(first) != std::mem::discriminant(other) => {
                return Err(format!(
                    "non-comparable types {}: {}, {}: {}",
                    sprintf("%s", std::slice::from_ref(first)),
                    first.type_name(),
                    other.type_name(),
                    other.print()
                ));
            }
            // A sample (a pointer) equals only itself; so does a time (each
            // toTime makes a new one).
            (Value::Sample(a, _), Value::Sample(b, _)) => std::rc::Rc::ptr_eq(a, b),
            (Value::Time(_), Value::Time(_)) => false,
            _ => {
                non_comparable(first)?;
                non_comparable(other)?;
                if kind(first).is_none() {
                    return Err("invalid type for comparison".into());
                }
                order(first, other) == Some(Ordering::Equal)
            }
        };
        if equal {
            return Ok(true);
        }
    }
    Ok(false)
}

fn index(args: &[Value]) -> Result<Value, String> {
    let (item, keys) = args.split_first().ok_or("wrong number of args for index: want at least 1 got 0")?;
    let mut item = item.clone();
    for key in keys {
        item = match (&item, key) {
            (Value::Labels(m), Value::Str(k)) => Value::Str(m.get(k).cloned().unwrap_or_default()),
            (Value::Map(m), Value::Str(k)) => m.get(k).cloned().unwrap_or(Value::Nil),
            (Value::Labels(_) | Value::Map(_), other) => {
                return Err(format!("value has type {}; should be string", other.type_name()))
            }
            (Value::List(l), Value::Int(i)) => {
                usize::try_from(*i).ok().and_then(|i| l.get(i)).cloned().ok_or(format!("index out of range: {i}"))?
            }
            (Value::Str(_), Value::Int(i)) if *i < 0 => {
                return Err(format!("index out of range: {i}"));
            }
            (Value::Str(s), Value::Int(i)) => Value::Int(i64::from(
                *usize::try_from(*i)
                    .ok()
                    .and_then(|i| s.as_bytes().get(i))
                    .ok_or("reflect: string index out of range")?,
            )),
            (Value::Str(_) | Value::List(_), Value::Nil) => return Err("cannot index slice/array with nil".into()),
            (Value::Str(_) | Value::List(_), other) => {
                return Err(format!("cannot index slice/array with type {}", other.type_name()))
            }
            (Value::Nil, _) => return Err("index of untyped nil".into()),
            (other, _) => return Err(format!("can't index item of type {}", indirect_type(other))),
        };
    }
    Ok(item)
}

/// The type Go's `index` and `len` name: a pointer's target type.
fn indirect_type(v: &Value) -> &'static str {
    let name = v.type_name();
    name.strip_prefix('*').unwrap_or(name)
}

fn slice(args: &[Value]) -> Result<Value, String> {
    let (item, bounds) = args.split_first().ok_or("wrong number of args for slice: want at least 1 got 0")?;
    let len = match item {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut idx = Vec::new();
    for b in bounds {
        match b {
            Value::Int(i) if *i >= 0 && (*i as usize) <= len => idx.push(*i as usize),
            Value::Int(i) => return Err(format!("index out of range: {i}")),
            Value::Nil => return Err("cannot index slice/array with nil".into()),
            other => return Err(format!("cannot index slice/array with type {}", other.type_name())),
        }
    }
    let (lo, hi) = match idx.as_slice() {
        [] => (0, len),
        [lo] => (*lo, len),
        [lo, hi] => (*lo, *hi),
        [_, _, _] if matches!(item, Value::Str(_)) => return Err("cannot 3-index slice a string".into()),
        [lo, hi, _] => (*lo, *hi),
        more => return Err(format!("too many slice indexes: {}", more.len())),
    };
    if lo > hi {
        return Err(format!("invalid slice index: {lo} > {hi}"));
    }
    Ok(match item {
        Value::Str(s) => Value::Str(String::from_utf8_lossy(&s.as_bytes()[lo..hi]).into_owned()),
        Value::List(l) => Value::List(l[lo..hi].to_vec()),
        _ => Value::Nil,
    })
}

/// The text the escapers work on: one string as is, else `fmt.Sprint`.
fn escaper_input(args: &[Value]) -> String {
    match args {
        [Value::Str(s)] => s.clone(),
        _ => sprint_printable(args),
    }
}

/// Go's `unicode.ToUpper`: one character for one; a character whose
/// upper case is several (`ß`, `ﬁ`, `ŉ`) stays as it is.
fn upper(c: char) -> char {
    // Greek with ypogegrammeni: one-character upper (title) case in Go,
    // two characters in the full mapping.
    let iota_subscript = match c as u32 {
        n @ (0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7) => Some(n + 8),
        0x1FB3 | 0x1FC3 | 0x1FF3 => Some(c as u32 + 9),
        _ => None,
    };
    if let Some(u) = iota_subscript.and_then(char::from_u32) {
        return u;
    }
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToLower`: one character for one (`İ` gives `i`; `Σ`
/// is always `σ`, with no final-sigma rule).
fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Go's `unicode.ToTitle`: the upper case, but the title-case letter of
/// the Latin digraphs (`ǆ` gives `ǅ`).
fn title_case(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c => upper(c),
    }
}

fn title(s: &str) -> String {
    // Go's strings.Title: a letter after a separator (anything but a
    // letter, digit or underscore among ASCII; space among the rest) is
    // upper-cased.
    let mut out = String::with_capacity(s.len());
    let mut prev_separator = true;
    for c in s.chars() {
        if prev_separator {
            out.push(title_case(c));
        } else {
            out.push(c);
        }
        prev_separator = if c.is_ascii() { !(c.is_ascii_alphanumeric() || c == '_') } else { c.is_whitespace() };
    }
    out
}

/// The path of a URL as Go's `url.URL.Path` holds it: after the host,
/// before any query or fragment, percent-decoded.
fn url_path(url: &str) -> String {
    let url = &url[..url.find(['?', '#']).unwrap_or(url.len())];
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's `net.SplitHostPort`, or `None` where it fails (a stray `[` or
/// `]` is a failure too).
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        let stray = rest.contains('[') || after.contains(']');
        return (!port.contains(':') && !stray).then_some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    (!host.contains(':') && !s.contains(['[', ']'])).then_some((host, port))
}

fn strip_domain(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let (host, port) = split_host_port(s).unwrap_or((s, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return s.to_string();
    }
    let host = host.split('.').next().unwrap_or(host);
    match (port.is_empty(), host.contains(':')) {
        (true, _) => host.to_string(),
        (false, true) => format!("[{host}]:{port}"),
        (false, false) => format!("{host}:{port}"),
    }
}

/// Prometheus' `model.ParseDuration` in seconds (`1h30m`, `90s`, `1w`).
fn parse_duration(s: &str) -> Result<f64, String> {
    crate::file::duration(s).map(|d| d.as_secs_f64()).map_err(|e| {
        // Prometheus' texts: the range error does not quote the string.
        if e.starts_with("duration out of range") {
            "duration out of range".to_string()
        } else {
            e
        }
    })
}

fn to_time(v: f64) -> Result<i64, String> {
    if !v.is_finite() {
        return Err("value is NaN or Inf".into());
    }
    let nanos = v * 1e9;
    if nanos > i64::MAX as f64 || nanos < i64::MIN as f64 {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            go_float(v)
        ));
    }
    // Nanoseconds to milliseconds as Prometheus divides: toward zero.
    Ok((nanos as i64) / 1_000_000)
}

/// Calls `name` (not `and`/`or`, which the executor evaluates lazily).
pub(super) fn call(name: &str, args: Vec<Value>, env: &Env<'_>) -> Result<Value, String> {
    let one = |args: &[Value]| -> Result<Value, String> {
        want(name, args, 1)?;
        Ok(args[0].clone())
    };
    Ok(match name {
        "not" => Value::Bool(!one(&args)?.truth()),
        "len" => Value::Int(match one(&args)? {
            Value::Str(s) | Value::Html(s) => s.len(),
            Value::Labels(m) => m.len(),
            Value::Map(m) => m.len(),
            Value::List(l) => l.len(),
            Value::Nil => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
            other => return Err(format!("len of type {}", indirect_type(&other))),
        } as i64),
        "index" => index(&args)?,
        "slice" => slice(&args)?,
        "print" => Value::Str(sprint(&args)),
        "println" => Value::Str(sprintln(&args)),
        "printf" => {
            let (format, rest) = args.split_first().ok_or("wrong number of args for printf: want at least 1 got 0")?;
            Value::Str(sprintf(&want_str(format)?, rest))
        }
        "eq" => Value::Bool(eq(&args)?),
        "ne" => {
            want(name, &args, 2)?;
            Value::Bool(!eq(&args)?)
        }
        // Go computes gt as not le and ge as not lt: with NaN, both are true.
        "lt" => ordered(name, &args, |o| o == Ordering::Less)?,
        "le" => ordered(name, &args, |o| o != Ordering::Greater)?,
        "gt" => Value::Bool(!ordered(name, &args, |o| o != Ordering::Greater)?.truth()),
        "ge" => Value::Bool(!ordered(name, &args, |o| o == Ordering::Less)?.truth()),
        "html" => Value::Str(html_escape(&escaper_input(&args))),
        "js" => Value::Str(js_escape(&escaper_input(&args))),
        "urlquery" => Value::Str(query_escape(&escaper_input(&args))),
        // Templates are given no function values, so nothing can be called.
        "call" => return Err(format!("non-function of type {}", args.first().map_or("<nil>", Value::type_name))),

        "query" => {
            let q = want_str(&one(&args)?)?;
            let run = env.query.ok_or("queries are not available here")?;
            let samples = run(&q)?;
            Value::List(samples.into_iter().map(|(labels, v)| Value::Sample(Rc::new(labels), v)).collect())
        }
        "first" => {
            let list = list_of(&one(&args)?)?.to_vec();
            list.into_iter().next().ok_or("first() called on vector with no elements")?
        }
        "label" => {
            want(name, &args, 2)?;
            let (labels, _) = sample_of(name, &args[1])?;
            Value::Str(labels.get(&want_str(&args[0])?).cloned().unwrap_or_default())
        }
        "value" => Value::Float(sample_of(name, &one(&args)?)?.1),
        "strvalue" => {
            let s = one(&args)?;
            Value::Str(sample_of(name, &s)?.0.get("__value__").cloned().unwrap_or_default())
        }
        "sortByLabel" => {
            want(name, &args, 2)?;
            let label = want_str(&args[0])?;
            let mut list = list_of(&args[1])?.to_vec();
            let key = |v: &Value| match v {
                Value::Sample(l, _) => l.get(&label).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            list.sort_by_key(key);
            Value::List(list)
        }
        "humanize" => Value::Str(humanize(
            to_float(&one(&args)?)?,
            1000.0,
            &["k", "M", "G", "T", "P", "E", "Z", "Y"],
            &["m", "u", "n", "p", "f", "a", "z", "y"],
        )),
        "humanize1024" => Value::Str(humanize(
            to_float(&one(&args)?)?,
            1024.0,
            &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"],
            &[],
        )),
        "humanizePercentage" => Value::Str(format!("{}%", go_g(to_float(&one(&args)?)? * 100.0, 4))),
        "humanizeDuration" => Value::Str(humanize_duration(to_float(&one(&args)?)?)),
        "humanizeTimestamp" => {
            let v = to_float(&one(&args)?)?;
            Value::Str(if v.is_finite() { go_time(to_time(v)?) } else { go_g(v, 4) })
        }
        "toTime" => Value::Time(to_time(to_float(&one(&args)?)?)?),
        "title" => Value::Str(title(&want_str(&one(&args)?)?)),
        "toUpper" => Value::Str(want_str(&one(&args)?)?.chars().map(upper).collect()),
        "toLower" => Value::Str(want_str(&one(&args)?)?.chars().map(lower).collect()),
        "match" => {
            want(name, &args, 2)?;
            let re = goregex::compile(&want_str(&args[0])?)?;
            Value::Bool(re.is_match(&want_str(&args[1])?))
        }
        "reReplaceAll" => {
            want(name, &args, 3)?;
            let re = goregex::compile(&want_str(&args[0])?)
                .map_err(|e| format!("regexp: Compile(`{}`): {e}", want_str(&args[0]).unwrap_or_default()))?;
            Value::Str(re.replace_all(&want_str(&args[2])?, want_str(&args[1])?.as_str()).into_owned())
        }
        "graphLink" => Value::Str(format!("/graph?g0.expr={}&g0.tab=0", query_escape(&want_str(&one(&args)?)?))),
        "tableLink" => Value::Str(format!("/graph?g0.expr={}&g0.tab=1", query_escape(&want_str(&one(&args)?)?))),
        "args" => Value::Map(args.into_iter().enumerate().map(|(i, v)| (format!("arg{i}"), v)).collect()),
        "safeHtml" => Value::Html(want_str(&one(&args)?)?),
        "externalURL" => {
            want(name, &args, 0)?;
            Value::Str(env.external_url.ok_or(NIL_URL)?.to_string())
        }
        "pathPrefix" => {
            want(name, &args, 0)?;
            let url = env.external_url.ok_or(NIL_URL)?;
            Value::Str(url_path(url))
        }
        "parseDuration" => Value::Float(parse_duration(&want_str(&one(&args)?)?)?),
        "stripPort" => {
            let s = want_str(&one(&args)?)?;
            Value::Str(split_host_port(&s).map_or(s.clone(), |(host, _)| host.to_string()))
        }
        "stripDomain" => Value::Str(strip_domain(&want_str(&one(&args)?)?)),
        other => return Err(format!("function {other:?} not defined")),
    })
}
