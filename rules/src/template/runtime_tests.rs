//! Functions and errors at run time, each expected text what Prometheus
//! 2.42 (`promtool test rules`) printed for the same template (value 3,
//! labels `__name__="load"`, `host="a"`, …) unless a case says otherwise.
#![allow(clippy::unwrap_used)]

use pulsedb_model::Labels;

use super::{expand, AlertContext, QueryFn, QueryResult};

fn query(q: &str) -> Result<QueryResult, String> {
    match q {
        "load" => Ok(vec![(
            [("__name__", "load"), ("host", "a")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            3.0,
        )]),
        other => Err(format!("unexpected query {other}")),
    }
}

fn x(t: &str, value: f64) -> String {
    let labels = Labels::new([("__name__", "load"), ("host", "a")]);
    let external = Labels::new([("cluster", "eu1")]);
    let q: &QueryFn<'_> = &query;
    let cx = AlertContext {
        rule: "R",
        labels: &labels,
        value,
        external_labels: &external,
        external_url: None,
        query: Some(q),
    };
    expand(t, &cx)
}

fn err(col: usize, at: &str, msg: &str) -> String {
    format!("<error expanding template: error executing template __alert_R: template: __alert_R:1:{col}: executing \"__alert_R\" at <{at}>: {msg}>")
}

fn check(cases: &[(&str, String)]) {
    for (template, want) in cases {
        assert_eq!(&x(template, 3.0), want, "{template}");
    }
}

#[test]
fn gt_and_ge_are_not_le_and_not_lt() {
    assert_eq!(
        x("{{ gt $value 1.0 }}|{{ ge $value 1.0 }}|{{ lt $value 1.0 }}|{{ le $value 1.0 }}|{{ eq $value $value }}|{{ ne $value $value }}", f64::NAN),
        "true|true|false|false|false|true"
    );
}

#[test]
fn case_mapping_one_character_for_one() {
    check(&[
        (
            "{{ title \"hello_world foo-bar x.y 1abc o'neil\" }}|{{ title \"ǆemal ßa ﬁsh élan\" }}",
            "Hello_world Foo-Bar X.Y 1abc O'Neil|ǅemal ßa ﬁsh Élan".into(),
        ),
        (
            "{{ toUpper \"straße ǆ ŉ é\" }}|{{ toLower \"İSTANBUL ΟΔΟΣ ÉÀ\" }}|{{ toUpper \"ﬁ\" }}",
            "STRAßE Ǆ ŉ É|istanbul οδοσ éà|ﬁ".into(),
        ),
    ]);
}

#[test]
fn nil_prints_as_go_prints_it() {
    check(&[(
        "{{ print 1 2 \"a\" \"b\" 3.5 true nil }}|{{ print nil }}|{{ println \"x\" 1 nil }}|{{ print (query \"load\" | first) }}|{{ (args).x }}|{{ html nil }}",
        "1 2ab3.5 true <nil>|<nil>|x 1 <nil>\n|&{map[__name__:load host:a] 3}|<no value>|&lt;no value&gt;".into(),
    )]);
}

#[test]
fn times_and_numeric_strings() {
    check(&[
        (
            "{{ toTime -0.0005 }}|{{ toTime 1.123456789 }}|{{ humanizeTimestamp -0.0005 }}",
            "1970-01-01 00:00:00 +0000 UTC|1970-01-01 00:00:01.123 +0000 UTC|1970-01-01 00:00:00 +0000 UTC".into(),
        ),
        (
            "{{ toTime 1e10 }}",
            err(
                115,
                "toTime 1e10",
                "error calling toTime: 1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64",
            ),
        ),
        (
            "{{ humanize \"1e400\" }}",
            err(
                115,
                "humanize \"1e400\"",
                "error calling humanize: strconv.ParseFloat: parsing \"1e400\": value out of range",
            ),
        ),
        ("{{ humanize \"0x1p3\" }}|{{ humanize \"1_000\" }}", "8|1k".into()),
        (
            "{{ humanize \"-nan\" }}",
            err(
                115,
                "humanize \"-nan\"",
                "error calling humanize: strconv.ParseFloat: parsing \"-nan\": invalid syntax",
            ),
        ),
    ]);
}

#[test]
fn regular_expressions_mean_what_go_means() {
    check(&[
        (
            r#"{{ reReplaceAll "\\w" "x" "é٣a" }}|{{ reReplaceAll "\\d" "x" "٣3" }}|{{ reReplaceAll "\\b" "|" "é a" }}|{{ reReplaceAll "(?i)K" "x" "kK\u212a" }}|{{ match "a{,3}" "a{,3}" }}|{{ match "\\Qa.b\\E" "a.b" }}"#,
            "é٣x|٣x|é |a||xxx|true|true".into(),
        ),
        (
            "{{ match \"a{2000}\" \"a\" }}",
            err(
                115,
                "match \"a{2000}\" \"a\"",
                "error calling match: error parsing regexp: invalid repeat count: `{2000}`",
            ),
        ),
    ]);
}

#[test]
fn argument_counts_and_types_as_go_checks_them() {
    check(&[
        ("{{ toUpper true }}", err(123, "true", "expected string; found true")),
        ("{{ toUpper nil }}", err(123, "nil", "cannot assign nil to string")),
        ("{{ toUpper (args).x }}", err(124, "args", "wrong type for value; expected string; got interface {}")),
        ("{{ toUpper 1.5 }}", err(123, "1.5", "expected string; found 1.5")),
        (
            "{{ label \"x\" $value }}",
            err(125, "$value", "wrong type for value; expected *template.sample; got float64"),
        ),
        ("{{ label \"x\" \"y\" }}", err(125, "\"y\"", "can't handle \"y\" for arg of type *template.sample")),
        ("{{ first 1 }}", err(121, "1", "can't handle 1 for arg of type template.queryResult")),
        ("{{ eq }}", err(115, "eq", "wrong number of args for eq: want at least 1 got 0")),
        ("{{ lt 1 }}", err(115, "lt", "wrong number of args for lt: want 2 got 1")),
        ("{{ 1 | toUpper }}", err(119, "toUpper", "wrong type for value; expected string; got int")),
        ("{{ humanize 1 2 }}", err(115, "humanize", "wrong number of args for humanize: want 1 got 2")),
        ("{{ toUpper (print 1 | len) }}", err(134, "len", "wrong type for value; expected string; got int")),
        ("{{ $labels | toUpper 1 }}", err(125, "toUpper", "wrong number of args for toUpper: want 1 got 2")),
        (
            "{{ value (query \"load\") }}",
            err(128, "\"load\"", "wrong type for value; expected *template.sample; got template.queryResult"),
        ),
        ("{{ ne 1 2 3 }}", err(115, "ne", "wrong number of args for ne: want 2 got 3")),
    ]);
}

#[test]
fn builtins_fail_and_compare_as_go_does() {
    let call = |at: &str, f: &str, msg: &str| err(115, at, &format!("error calling {f}: {msg}"));
    check(&[
        ("{{ lt true 1 }}", call("lt true 1", "lt", "incompatible types for comparison")),
        (
            "{{ eq $labels $labels }}",
            call("eq $labels $labels", "eq", "non-comparable type map[__name__:load host:a]: map[string]string"),
        ),
        ("{{ eq \"a\" nil }}|{{ eq nil nil }}", "false|true".into()),
        ("{{ eq (query \"load\" | first) (query \"load\" | first) }}", "false".into()),
        ("{{ index \"abc\" 3 }}", call("index \"abc\" 3", "index", "reflect: string index out of range")),
        ("{{ index $labels 1 }}", call("index $labels 1", "index", "value has type int; should be string")),
        ("{{ slice \"abc\" 1 2 3 }}", call("slice \"abc\" 1 2 3", "slice", "cannot 3-index slice a string")),
        ("{{ slice \"abc\" 0 1 2 3 }}", call("slice \"abc\" 0 1 2 3", "slice", "too many slice indexes: 4")),
        (
            "{{ len (query \"load\" | first) }}",
            call("len (query \"load\" | first)", "len", "len of type template.sample"),
        ),
        ("{{ template \"nope\" }}", err(124, "{{template \"nope\"}}", "template \"nope\" not defined")),
        (
            "{{ define \"t\" }}{{ gt 1 1.0 }}{{ end }}{{ template \"t\" }}",
            err(131, "gt 1 1.0", "error calling gt: incompatible types for comparison")
                .replace("executing \"__alert_R\"", "executing \"t\""),
        ),
        ("{{ (toTime 86400).Unix }}|{{ (index (args) \"x\").y }}", "86400|<no value>".into()),
        ("{{ humanizeDuration \"-0\" }}", "-0s".into()),
        ("{{ js \"\\u2029\\u00a0\\u0001\" }}", "\\u2029\\u00A0\\u0001".into()),
        ("{{ parseDuration \"\" }}", call("parseDuration \"\"", "parseDuration", "empty duration string")),
        (
            "{{ parseDuration \"1000000y\" }}",
            call("parseDuration \"1000000y\"", "parseDuration", "duration out of range"),
        ),
        (
            "{{ parseDuration \"1s1m\" }}",
            call("parseDuration \"1s1m\"", "parseDuration", "not a valid duration string: \"1s1m\""),
        ),
        (
            "{{ externalURL }}",
            call("externalURL", "externalURL", "runtime error: invalid memory address or nil pointer dereference"),
        ),
    ]);
    assert_eq!(x("{{ printf \"%08.2f|%+08.2f\" $value $value }}", f64::INFINITY), "    +Inf|    +Inf");
    // promtool: "    +Inf|+Inf    |+Inf| Inf|+Inf".
    assert_eq!(
        x("{{ printf \"%08.3f|%-8.2e|%+.3g|% f|%#v\" $value $value $value $value $value }}", f64::INFINITY),
        "    +Inf|+Inf    |+Inf| Inf|+Inf"
    );
}

#[test]
fn printf_flags_verbs_and_argument_indexes() {
    check(&[
        (
            "{{ printf \"%x\" 3.0 }}|{{ printf \"%b\" 5 }}|{{ printf \"%b\" 3.0 }}|{{ printf \"%o\" 3.0 }}|{{ printf \"%U\" 65 }}|{{ printf \"%O\" 8 }}",
            "0x1.8p+01|101|6755399441055744p-51|%!o(float64=3)|U+0041|0o10".into(),
        ),
        (
            "{{ printf \"%#x\" 255 }}|{{ printf \"%#o\" 8 }}|{{ printf \"%#v\" \"abc\" }}|{{ printf \"%#v\" 3.0 }}|{{ printf \"%#x\" \"hi\" }}",
            "0xff|010|\"abc\"|3|0x6869".into(),
        ),
        (
            "{{ printf \"%.2s\" \"abcdef\" }}|{{ printf \"%.3d\" 5 }}|{{ printf \"% x\" \"abc\" }}|{{ printf \"%.3v\" \"abcdef\" }}|{{ printf \"% d\" 5 }}|{{ printf \"%+.2e\" 12345.678 }}",
            "ab|005|61 62 63|abc| 5|+1.23e+04".into(),
        ),
        (
            "{{ printf \"%*d\" 5 3 }}|{{ printf \"%[2]d %[1]d\" 1 2 }}|{{ printf \"%-08d|\" 5 }}|{{ printf \"%05s\" \"-a\" }}|{{ printf \"%05s\" \"ab\" }}",
            "    3|2 1|5       ||000-a|000ab".into(),
        ),
        (
            "{{ printf \"%q\" 10 }}|{{ printf \"%q\" 39 }}|{{ printf \"%q\" 233 }}|{{ printf \"%c\" 128512 }}|{{ printf \"%c\" -1 }}|{{ printf \"%q\" \"é\\t☃\\x01\" }}",
            "'\\n'|'\\''|'é'|😀|\u{FFFD}|\"é\\t☃\\x01\"".into(),
        ),
        (
            "{{ printf \"%v\" nil }}|{{ printf \"%d\" nil }}|{{ printf \"%s\" $labels }}|{{ printf \"%d\" $labels }}|{{ printf \"%v\" .Labels }}",
            "<nil>|%!d(<nil>)|map[__name__:load host:a]|map[%!d(string=__name__):%!d(string=load) %!d(string=host):%!d(string=a)]|map[__name__:load host:a]".into(),
        ),
        (
            "{{ printf \"%6.2f|%-7.1e|%8.3g|%08.2f|%+.1f|%+v|% .2f\" 3.14159 31415.9 0.000031416 -1.5 2.0 3.5 2.25 }}",
            "  3.14|3.1e+04|3.14e-05|-0001.50|+2.0|3.5| 2.25".into(),
        ),
        (
            "{{ printf \"%v|%s\" (query \"load\" | first) (query \"load\" | first) }}|{{ printf \"%s\" (args 1 \"a\") }}|{{ printf \"%v\" (args) }}",
            "&{map[__name__:load host:a] 3}|&{map[__name__:load host:a] %!s(float64=3)}|map[arg0:%!s(int=1) arg1:a]|map[]".into(),
        ),
        (
            "{{ printf \"%T %T %T\" 1 \"a\" $labels }}|{{ printf \"%[3]d\" 1 }}|{{ printf \"%d %d\" 1 2 3 }}|{{ printf \"%#U\" 65 }}|{{ printf \"%x\" -255 }}|{{ printf \"%+d\" 5 }}|{{ printf \"%.0d\" 0 }}|",
            "int string map[string]string|%!d(BADINDEX)|1 2%!(EXTRA int=3)|U+0041 'A'|-ff|+5||".into(),
        ),
    ]);
}

#[test]
fn errors_are_placed_where_go_places_them() {
    let field =
        |col: usize, at: &str, f: &str, ty: &str| err(col, at, &format!("can't evaluate field {f} in type {ty}"));
    check(&[
        ("{{ .Value.X }}", field(121, ".Value.X", "X", "float64")),
        ("{{ $labels.host.x }}", field(122, "$labels.host.x", "x", "string")),
        ("{{ print .Value.X }}", field(127, ".Value.X", "X", "float64")),
        ("{{ $.Value.X }}", field(116, "$.Value.X", "X", "float64")),
        ("{{ (toTime 86400).Foo }}", field(123, "86400", "Foo", "*time.Time")),
        (
            "{{ .Foo }}",
            field(115, ".Foo", "Foo", "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }"),
        ),
        ("{{ range $x := $labels.host | toUpper }}{{ end }}", err(142, "toUpper", "range can't iterate over A")),
        ("{{ range $labels.host }}{{ end }}", err(128, "$labels.host", "range can't iterate over a")),
        ("{{ range 1 }}{{ end }}", err(121, "1", "range can't iterate over 1")),
    ]);
}

#[test]
fn more_of_go_in_functions() {
    let call = |at: &str, f: &str, msg: &str| err(115, at, &format!("error calling {f}: {msg}"));
    check(&[
        ("{{ printf \"%d|%q\" (toTime 1.5) (toTime 0) }}", "&{500000000 62135596801 0}|\"1970-01-01 00:00:00 +0000 UTC\"".into()),
        (
            "{{ stripPort \"a[b:80\" }}|{{ stripPort \"a]b:80\" }}|{{ stripPort \"[[a]:80\" }}|{{ stripDomain \"a[b.c:80\" }}",
            "a[b:80|a]b:80|[[a]:80|a[b".into(),
        ),
        ("{{ humanizeDuration 1e19 }}|{{ humanizeDuration -1e19 }}", "-106751991167300d -15h -30m -8s|--106751991167300d -15h -30m -8s".into()),
        ("{{ match \"(a\" \"a\" }}", call("match \"(a\" \"a\"", "match", "error parsing regexp: missing closing ): `(a`")),
        (
            "{{ reReplaceAll \"(a\" \"x\" \"a\" }}",
            call("reReplaceAll \"(a\" \"x\" \"a\"", "reReplaceAll", "regexp: Compile(`(a`): error parsing regexp: missing closing ): `(a`"),
        ),
        (
            "{{ match \"*\" \"a\" }}",
            call("match \"*\" \"a\"", "match", "error parsing regexp: missing argument to repetition operator: `*`"),
        ),
        (
            "{{ match \"a{2}*\" \"a\" }}",
            call("match \"a{2}*\" \"a\"", "match", "error parsing regexp: invalid nested repetition operator: `{2}*`"),
        ),
    ]);
}
