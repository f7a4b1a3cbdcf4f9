//! Templates in alert labels and annotations — for now the forms most rule
//! files use: `{{ $labels.name }}`, `{{ $value }}`, `{{ $externalLabels.name }}`
//! (with or without spaces inside the braces, and `.Labels`, `.Value`).
//! Anything else between `{{` and `}}` is left as written; Go's full
//! template language and Prometheus' template functions are still to come.

use pulsedb_model::Labels;

/// `template` with the references it knows replaced.
pub(crate) fn expand(template: &str, labels: &Labels, value: f64, external: &Labels) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let inner = rest[open + 2..open + close].trim().trim_start_matches('-').trim_end_matches('-').trim();
        let label = |prefixes: [&str; 2], from: &Labels| {
            prefixes.iter().find_map(|p| inner.strip_prefix(p)).map(|name| from.get(name).unwrap_or("").to_string())
        };
        let replaced = if inner == "$value" || inner == ".Value" {
            Some(format_value(value))
        } else {
            label(["$labels.", ".Labels."], labels)
                .or_else(|| label(["$externalLabels.", ".ExternalLabels."], external))
        };
        match replaced {
            Some(text) => out.push_str(&text),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// Go's `%v` of a float, as `{{ $value }}` prints it.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..21).contains(&exp) {
        format!("{v}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_values_and_external_labels() {
        let labels = Labels::new([("instance", "a:9100"), ("job", "node")]);
        let external = Labels::new([("cluster", "eu1")]);
        let got = expand("{{ $labels.instance }} of {{$labels.job}} is {{ $value }} in {{ $externalLabels.cluster }} {{ humanize $value }}", &labels, 0.5, &external);
        assert_eq!(got, "a:9100 of node is 0.5 in eu1 {{ humanize $value }}");
        assert_eq!(expand("{{ $value }}", &labels, 1e21, &external), "1e+21");
        assert_eq!(expand("no braces {{ unterminated", &labels, 1.0, &external), "no braces {{ unterminated");
    }
}
