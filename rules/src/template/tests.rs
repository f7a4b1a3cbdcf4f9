//! Expected texts are what Prometheus 2.42 (`promtool test rules`) printed
//! for the same templates and data.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use pulsedb_model::Labels;

use super::{expand, AlertContext, QueryFn, QueryResult};

fn check(template: &str) -> Result<(), String> {
    super::check(template, "Control")
}

fn loads() -> Vec<(BTreeMap<String, String>, f64)> {
    [("a", 3.0), ("b", 7.0), ("c", 0.5)]
        .iter()
        .map(|(h, v)| {
            ([("__name__", "load"), ("host", h)].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), *v)
        })
        .collect()
}

/// A stand-in for the engine with the answers Prometheus gave.
fn query(q: &str) -> Result<QueryResult, String> {
    match q {
        "load" => Ok(loads()),
        "sum(load)" | "scalar(sum(load))" => Ok(vec![(BTreeMap::new(), 10.5)]),
        "absent_metric" => Ok(Vec::new()),
        other => Err(format!("unexpected query {other}")),
    }
}

fn x_with(t: &str, v: f64, url: Option<&str>) -> String {
    let labels = Labels::new([("__name__", "load"), ("host", "a"), ("instance", "a:9100"), ("job", "node")]);
    let external = Labels::new([("cluster", "eu1")]);
    let q: &QueryFn<'_> = &query;
    expand(
        t,
        &AlertContext {
            rule: "Control",
            labels: &labels,
            value: v,
            external_labels: &external,
            external_url: url,
            query: Some(q),
        },
    )
}

fn x(t: &str, v: f64) -> String {
    x_with(t, v, None)
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
    assert_eq!(
        x("{{ stripDomain \"db1.example.com:5432\" }} {{ stripDomain \"10.0.0.1:80\" }}", 0.0),
        "db1:5432 10.0.0.1:80"
    );
}

#[test]
fn control_structures_queries_and_builtins_as_prometheus_prints_them() {
    let cases = [
        ("{{ if gt $value 5.0 }}high{{ else if gt $value 2.0 }}medium{{ else }}low{{ end }}", "medium"),
        ("{{ $labels.nothere }}", ""),
        ("{{ index $labels \"host\" }}|{{ index $labels \"nothere\" }}", "a|"),
        ("{{ with query \"sum(load)\" }}{{ . | first | value | humanize }}{{ end }}", "10.5"),
        ("{{ with query \"absent_metric\" }}some{{ else }}none{{ end }}", "none"),
        ("{{ range query \"load\" }}{{ .Labels.host }}={{ .Value }};{{ end }}", "a=3;b=7;c=0.5;"),
        ("{{ range sortByLabel \"host\" (query \"load\") }}{{ label \"host\" . }} {{ end }}", "a b c "),
        ("{{ $h := $labels.host }}{{ $h }}-{{ $h | toUpper }}", "a-A"),
        ("{{ range $k, $v := $labels }}{{ $k }}:{{ $v }},{{ end }}", "__name__:load,host:a,instance:a:9100,job:node,"),
        (
            "{{ if and (eq $labels.host \"a\") (ne $labels.host \"b\") }}yes{{ end }}{{ if or false 0 \"\" }}x{{ else }}y{{ end }}{{ not true }}",
            "yesyfalse",
        ),
        ("{{ len $labels }} {{ len \"abc\" }}", "4 3"),
        ("a  {{- \" b \" -}}  c", "a b c"),
        ("{{ match \"^a\" $labels.host }}", "true"),
        (
            "{{ graphLink \"up == 0\" }} {{ tableLink \"rate(x[5m])\" }}",
            "/graph?g0.expr=up+%3D%3D+0&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1",
        ),
        (
            "{{ parseDuration \"1h30m\" }} {{ humanizeTimestamp 1700000000.5 }} {{ toTime 86400 }}",
            "5400 2023-11-14 22:13:20.5 +0000 UTC 1970-01-02 00:00:00 +0000 UTC",
        ),
        (
            "{{ print 1 2 \"a\" \"b\" 3.5 }}|{{ println \"x\" 1 }}|{{ printf \"%5.1f|%-4s|%d|%q|%x\" 3.14159 \"ab\" 42 \"q\" 255 }}",
            "1 2ab3.5|x 1\n|  3.1|ab  |42|\"q\"|ff",
        ),
        ("{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" $labels.host }}", "[a]"),
        ("{{ with query \"scalar(sum(load))\" }}{{ . | first | value }}{{ end }}", "10.5"),
        ("a{{/* hidden */}}b", "ab"),
        ("{{ with args 1 \"two\" }}{{ .arg0 }} {{ .arg1 }}{{ end }}", "1 two"),
        ("{{ slice \"abcdef\" 1 3 }}", "bc"),
        ("{{ with query \"load\" }}{{ . | first | strvalue }}{{ end }}", ""),
        ("{{ range $i, $s := query \"load\" }}{{ if $i }},{{ end }}{{ $i }}{{ $s.Labels.host }}{{ end }}", "0a,1b,2c"),
        ("{{ .Labels.host }} {{ .Value }} {{ $.Value }} {{ .ExternalLabels.cluster }}", "a 3 3 eu1"),
        (
            "{{ printf \"%d %s %v %.3e %g %t\" 2.5 1.5 7 12345.678 0.000012 true }}",
            "%!d(float64=2.5) %!s(float64=1.5) 7 1.235e+04 1.2e-05 true",
        ),
        (
            "{{ query \"absent_metric\" | first | value }}",
            "<error expanding template: error executing template __alert_Control: template: __alert_Control:1:139: executing \"__alert_Control\" at <first>: error calling first: first() called on vector with no elements>",
        ),
        (
            "{{ if gt $value 1 }}ok{{ end }}",
            "<error expanding template: error executing template __alert_Control: template: __alert_Control:1:118: executing \"__alert_Control\" at <gt $value 1>: error calling gt: incompatible types for comparison>",
        ),
        ("{{ range query \"load\" }}{{ if eq .Value 7.0 }}{{ break }}{{ end }}{{ .Labels.host }}{{ end }}", "a"),
        ("{{ range query \"load\" }}{{ if eq .Value 7.0 }}{{ continue }}{{ end }}{{ .Labels.host }}{{ end }}", "ac"),
        ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        ("{{ (query \"load\" | first).Value }}", "3"),
        ("{{ \"a b&c\" | urlquery }}|{{ \"<b>\" | html }}|{{ \"it's\" | js }}", "a+b%26c|&lt;b&gt;|it\\'s"),
    ];
    for (template, want) in cases {
        assert_eq!(x(template, 3.0), want, "{template}");
    }
}

#[test]
fn printf_widths_and_precisions_at_go_limits() {
    // Beyond Rust's formatting limit, within Go's: zeros padded on.
    let long = x("{{ printf \"%.70000f\" 0.5 }}", 0.0);
    assert_eq!(long.len(), 70_002);
    assert!(long.starts_with("0.5000") && long.ends_with('0'));
    assert_eq!(x("{{ printf \"%.70000e\" 1.5 }}", 0.0).len(), 70_006);
    // Past a million, Go's parser swallows the rest of the format (the fuzz case).
    assert_eq!(
        x("{{ printf \"a %.12348000003e %g\" 2.5 1.5 }}", 0.0),
        "a %!(NOVERB)%!(EXTRA float64=2.5, float64=1.5)"
    );
}

#[test]
fn external_url_and_path_prefix() {
    let t = "{{ externalURL }}|{{ pathPrefix }}|{{ $externalURL }}";
    assert_eq!(
        x_with(t, 0.0, Some("https://mon.example.com/pulse")),
        "https://mon.example.com/pulse|/pulse|https://mon.example.com/pulse"
    );
    assert!(x(t, 0.0).starts_with("<error expanding template:"));
    assert_eq!(x_with("{{ pathPrefix }}", 0.0, Some("https://prom.example.com:9090/sub/a%20b/?q=1#frag")), "/sub/a b/");
    assert_eq!(x_with("{{ pathPrefix }}", 0.0, Some("http://host:9090")), "");
}

#[test]
fn bad_templates_are_refused_when_read() {
    assert!(check("{{ $labels.x }} {{ humanize $value }} {{ if gt $value 1.0 }}big{{ end }}").is_ok());
    assert!(check("{{ nosuchfn $value }}").unwrap_err().contains("not defined"));
    assert!(check("{{ tmpl \"x\" . }}").unwrap_err().contains("not defined"));
    assert!(check("{{ $value").unwrap_err().contains("unclosed"));
    assert!(check("{{ $nope }}").unwrap_err().contains("undefined variable"));
    assert!(check("{{ if true }}{{ $x := 1 }}{{ end }}{{ $x }}").unwrap_err().contains("undefined variable"));
    assert!(check("{{ if true }}open").unwrap_err().contains("EOF"));
    assert!(check("{{ end }}").unwrap_err().contains("unexpected"));
    assert!(check("{{ break }}").unwrap_err().contains("outside"));
    assert!(check("{{ \"unterminated }}").unwrap_err().contains("unterminated"));
    // Arity is checked when run, as in Go.
    assert!(check("{{ humanize }}").is_ok());
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}1{}", "{{ if true }}".repeat(5000), "{{ end }}".repeat(5000));
    assert!(check(&deep).unwrap_err().contains("nested"));
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    assert!(check(&parens).unwrap_err().contains("nested"));
    let recursive = "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}";
    assert!(x(recursive, 0.0).contains("exceeded maximum template depth"));
}

/// Templates Go's parser lets through that fail, or mean something, only when run.
#[test]
fn parse_leniencies_run_as_in_go() {
    let err = |col: usize, at: &str, msg: &str| {
        format!("<error expanding template: error executing template __alert_Control: template: __alert_Control:1:{col}: executing \"__alert_Control\" at <{at}>: {msg}>")
    };
    let cases = [
        ("{{ $value | }}", "3".to_string()),
        ("{{ $x = 1 }}x", err(120, "1", "undefined variable: $x")),
        ("{{ nil }}", err(115, "nil", "nil is not a command")),
        ("{{ print 0x1p4 \"\\101\" 010 1i }}", "16A8 (0+1i)".into()),
        ("{{ len `a\rb` }}", "2".into()),
        ("{{ print 18446744073709551615 }}", err(121, "18446744073709551615", "18446744073709551615 overflows int")),
        ("{{ print -9223372036854775808 }}", "-9223372036854775808".into()),
        ("a \u{c}{{- 2 -}}\u{c} b", "a \u{c}2\u{c} b".into()),
        ("{{ \"a\" \"b\" }}", err(115, "\"a\"", "can't give argument to non-function \"a\"")),
        (
            "{{ define \"a\" }} {{ end }}{{ define \"a\" }}2{{ end }}{{ define \"a\" }}  {{ end }}{{ template \"a\" }}",
            "2".into(),
        ),
        ("{{ $x := 1 }}{{ $x := 2 }}{{ $x }}", "2".into()),
    ];
    for (template, want) in cases {
        assert_eq!(x(template, 3.0), want, "{template}");
    }
}
