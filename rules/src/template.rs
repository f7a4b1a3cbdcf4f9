//! Templates in alert labels and annotations: Go's template syntax for the
//! forms rule files use — `{{ $labels.name }}`, `{{ $value }}`,
//! `{{ $externalLabels.name }}` (also `.Labels.name`, `.Value`), string and
//! number literals, function calls with arguments, and pipelines
//! (`{{ $value | humanizePercentage }}`) — with Prometheus' functions
//! `humanize`, `humanize1024`, `humanizePercentage`, `humanizeDuration`,
//! `printf`, `toUpper`, `toLower`, `title`, `reReplaceAll`, `stripPort`.
//! Control structures (`if`, `range`, `with`) and `query` are not
//! supported: [`check`] refuses them when a rule file is read, so a file
//! either works as written or is refused, never half expanded.

use pulsedb_model::Labels;

/// A value inside a template: Go's templates are dynamically typed.
#[derive(Clone, Debug, PartialEq)]
enum Arg {
    Str(String),
    Num(f64),
}

impl Arg {
    fn text(&self) -> String {
        match self {
            Arg::Str(s) => s.clone(),
            Arg::Num(v) => go_float(*v),
        }
    }

    fn num(&self) -> Result<f64, String> {
        match self {
            Arg::Num(v) => Ok(*v),
            Arg::Str(s) => s.trim().parse().map_err(|_| format!("cannot convert {s:?} to a number")),
        }
    }
}

/// Go's `%v` of a float64 (strconv's shortest `%g`): shortest digits, exponent
/// form from 1e6 and below 1e-4 (`1.234567e+06`, as Prometheus prints it).
fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{v}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Go's `%.Ng`: `n` significant digits, exponent form when the exponent is
/// below -4 or at least `n`, trailing zeros removed.
fn go_g(v: f64, n: usize) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_float(v);
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", n.saturating_sub(1), v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= n as i32 {
        format!("{}e{}{:02}", trim(mantissa), if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        let decimals = (n as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

fn humanize(v: f64, base: f64, big: &[&str], small: &[&str]) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let mut v = v;
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in big {
            if v.abs() < base {
                break;
            }
            prefix = p;
            v /= base;
        }
    } else {
        for p in small {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= base;
        }
    }
    format!("{}{prefix}", go_g(v, 4))
}

fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let whole = v.abs() as i64;
        let (days, hours, minutes, seconds) = (whole / 86_400, whole / 3_600 % 24, whole / 60 % 60, whole % 60);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g(v.abs(), 4))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g(v, 4))
}

/// Go's `printf` for the verbs templates use: `%s %v %d %f %.Nf %g %e %q %%`.
fn printf(format: &str, args: &[Arg]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            precision = digits.parse::<usize>().ok().or(Some(0));
        }
        let verb = chars.next().ok_or("printf: a format ending in %")?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let arg = args.next().ok_or_else(|| format!("printf: no argument for %{verb}"))?;
        match verb {
            's' | 'v' => out.push_str(&arg.text()),
            'q' => out.push_str(&format!("{:?}", arg.text())),
            'd' => out.push_str(&format!("{}", arg.num()? as i64)),
            'f' => out.push_str(&format!("{:.*}", precision.unwrap_or(6), arg.num()?)),
            'g' => out.push_str(&precision.map_or_else(
                || go_float(arg.num().unwrap_or(f64::NAN)),
                |p| go_g(arg.num().unwrap_or(f64::NAN), p.max(1)),
            )),
            'e' => {
                let s = format!("{:.*e}", precision.unwrap_or(6), arg.num()?);
                let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                let e: i32 = e.parse().unwrap_or(0);
                out.push_str(&format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
            }
            other => return Err(format!("printf: unsupported verb %{other}")),
        }
    }
    Ok(out)
}

/// The functions a template may call, and how many arguments each takes.
const FUNCTIONS: &[(&str, usize)] = &[
    ("humanize", 1),
    ("humanize1024", 1),
    ("humanizePercentage", 1),
    ("humanizeDuration", 1),
    ("toUpper", 1),
    ("toLower", 1),
    ("title", 1),
    ("stripPort", 1),
    ("reReplaceAll", 3),
    ("printf", usize::MAX),
];

fn call(name: &str, args: &[Arg]) -> Result<Arg, String> {
    let one = || args.first().cloned().ok_or_else(|| format!("{name}: wrong number of args"));
    Ok(match name {
        "humanize" => Arg::Str(humanize(
            one()?.num()?,
            1000.0,
            &["k", "M", "G", "T", "P", "E", "Z", "Y"],
            &["m", "u", "n", "p", "f", "a", "z", "y"],
        )),
        "humanize1024" => {
            Arg::Str(humanize(one()?.num()?, 1024.0, &["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"], &[]))
        }
        "humanizePercentage" => Arg::Str(format!("{}%", go_g(one()?.num()? * 100.0, 4))),
        "humanizeDuration" => Arg::Str(humanize_duration(one()?.num()?)),
        "toUpper" => Arg::Str(one()?.text().to_uppercase()),
        "toLower" => Arg::Str(one()?.text().to_lowercase()),
        "title" => Arg::Str(
            one()?
                .text()
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "stripPort" => {
            let s = one()?.text();
            Arg::Str(match s.rsplit_once(':') {
                Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                    host.trim_matches(['[', ']']).to_string()
                }
                _ => s,
            })
        }
        "reReplaceAll" => {
            let [pattern, replacement, text] = args else { return Err("reReplaceAll: wrong number of args".into()) };
            let re = regex::Regex::new(&pattern.text()).map_err(|e| format!("reReplaceAll: {e}"))?;
            Arg::Str(re.replace_all(&text.text(), replacement.text().as_str()).into_owned())
        }
        "printf" => {
            let (format, rest) = args.split_first().ok_or("printf: no format")?;
            Arg::Str(printf(&format.text(), rest)?)
        }
        other => return Err(format!("function {other:?} not defined")),
    })
}

/// One token of an action.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(f64),
    Pipe,
}

fn tokens(action: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '|' {
            chars.next();
            out.push(Token::Pipe);
        } else if c == '"' || c == '`' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated quoted string".into()),
                    Some(q) if q == c => break,
                    Some('\\') if c == '"' => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some(e) => s.push(e),
                        None => return Err("unterminated quoted string".into()),
                    },
                    Some(x) => s.push(x),
                }
            }
            out.push(Token::Str(s));
        } else {
            let mut w = String::new();
            while let Some(&x) = chars.peek().filter(|x| !x.is_whitespace() && **x != '|') {
                w.push(x);
                chars.next();
            }
            match w.parse::<f64>() {
                Ok(n) if w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.') => {
                    out.push(Token::Num(n))
                }
                _ => out.push(Token::Word(w)),
            }
        }
    }
    Ok(out)
}

/// The data a template sees.
struct Data<'a> {
    labels: &'a Labels,
    value: f64,
    external: &'a Labels,
}

fn operand(token: &Token, data: Option<&Data<'_>>) -> Result<Arg, String> {
    let field = |external: bool, name: &str| -> Result<Arg, String> {
        let value = data.map_or(String::new(), |d| {
            let from = if external { d.external } else { d.labels };
            from.get(name).unwrap_or("").to_string()
        });
        Ok(Arg::Str(value))
    };
    match token {
        Token::Str(s) => Ok(Arg::Str(s.clone())),
        Token::Num(n) => Ok(Arg::Num(*n)),
        Token::Word(w) if w == "$value" || w == ".Value" => Ok(Arg::Num(data.map_or(0.0, |d| d.value))),
        Token::Word(w) => {
            if let Some(name) = w.strip_prefix("$labels.").or_else(|| w.strip_prefix(".Labels.")) {
                field(false, name)
            } else if let Some(name) = w.strip_prefix("$externalLabels.").or_else(|| w.strip_prefix(".ExternalLabels."))
            {
                field(true, name)
            } else {
                Err(format!("undefined: {w}"))
            }
        }
        Token::Pipe => Err("unexpected \"|\"".into()),
    }
}

/// Evaluates one action (`data` `None`: only checks it).
fn action(text: &str, data: Option<&Data<'_>>) -> Result<String, String> {
    let tokens = tokens(text)?;
    let first = tokens.first().ok_or("missing value for command")?;
    if let Token::Word(w) = first {
        if ["if", "else", "end", "range", "with", "define", "template", "block", "query"].contains(&w.as_str()) {
            return Err(format!("{w:?} is not supported in pulsedb's templates yet"));
        }
    }
    let mut result: Option<Arg> = None;
    for command in tokens.split(|t| *t == Token::Pipe) {
        let (head, rest) = command.split_first().ok_or("missing command in a pipeline")?;
        let function = match head {
            Token::Word(w) if !w.starts_with('$') && !w.starts_with('.') => Some(w.as_str()),
            _ => None,
        };
        result = Some(match function {
            Some(name) => {
                let arity = FUNCTIONS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, a)| *a)
                    .ok_or_else(|| format!("function {name:?} not defined"))?;
                let mut args = rest.iter().map(|t| operand(t, data)).collect::<Result<Vec<_>, _>>()?;
                args.extend(result.take());
                if arity != usize::MAX && args.len() != arity {
                    return Err(format!("wrong number of args for {name}: want {arity} got {}", args.len()));
                }
                match data {
                    Some(_) => call(name, &args)?,
                    None => Arg::Str(String::new()),
                }
            }
            None if rest.is_empty() && result.is_none() => operand(head, data)?,
            None => return Err("can't give argument to non-function".into()),
        });
    }
    Ok(result.map(|r| r.text()).unwrap_or_default())
}

fn walk(template: &str, mut on_action: impl FnMut(&str) -> Result<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let close = rest[open..].find("}}").ok_or("unclosed action")?;
        let inner = rest[open + 2..open + close].trim().trim_start_matches('-').trim_end_matches('-').trim();
        if !inner.starts_with("/*") {
            out.push_str(&on_action(inner)?);
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks a template's syntax and functions, as a rule file is read.
pub(crate) fn check(template: &str) -> Result<(), String> {
    walk(template, |a| action(a, None)).map(|_| ())
}

/// `template` expanded; an error inside an action is written in its place,
/// as Prometheus writes a failed expansion.
pub(crate) fn expand(template: &str, labels: &Labels, value: f64, external: &Labels) -> String {
    let data = Data { labels, value, external };
    walk(template, |a| action(a, Some(&data))).unwrap_or_else(|e| format!("<error expanding template: {e}>"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn x(t: &str, v: f64) -> String {
        expand(t, &Labels::new([("instance", "a:9100"), ("job", "node")]), v, &Labels::new([("cluster", "eu1")]))
    }

    #[test]
    fn references_and_functions() {
        assert_eq!(
            x("{{ $labels.instance }} of {{$labels.job}} is {{ $value }} in {{ $externalLabels.cluster }}", 0.5),
            "a:9100 of node is 0.5 in eu1"
        );
        assert_eq!(x("{{ $value }}", 1e21), "1e+21");
        assert_eq!(x("{{ $value }}", 1_234_567.0), "1.234567e+06");
        assert_eq!(x("{{ $value }}", 123_456.0), "123456");
        assert_eq!(x("{{ humanize $value }}", 1234567.0), "1.235M");
        assert_eq!(x("{{ $value | humanize }}", 0.000_123), "123u");
        assert_eq!(x("{{ humanize1024 $value }}", 2048.0), "2ki");
        assert_eq!(x("{{ $value | humanizePercentage }}", 0.1234), "12.34%");
        assert_eq!(x("{{ humanizeDuration $value }}", 90061.0), "1d 1h 1m 1s");
        assert_eq!(x("{{ humanizeDuration $value }}", 0.25), "250ms");
        assert_eq!(x("{{ printf \"%.2f\" $value }}", 1.23456), "1.23");
        assert_eq!(x("{{ $labels.job | toUpper }} {{ title \"disk full\" }}", 0.0), "NODE Disk Full");
        assert_eq!(x("{{ $labels.instance | stripPort }}", 0.0), "a");
        assert_eq!(x("{{ reReplaceAll \"(a):.*\" \"$1\" $labels.instance }}", 0.0), "a");
    }

    #[test]
    fn bad_templates_are_refused_when_read() {
        assert!(check("{{ $labels.x }} {{ humanize $value }}").is_ok());
        assert!(check("{{ nosuchfn $value }}").unwrap_err().contains("not defined"));
        assert!(check("{{ $value").unwrap_err().contains("unclosed"));
        assert!(check("{{ if gt $value 1.0 }}big{{ end }}").unwrap_err().contains("not supported"));
        assert!(check("{{ humanize }}").unwrap_err().contains("wrong number of args"));
    }
}
