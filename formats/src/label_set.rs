//! The `{name="value",...}` label-set notation shared by the text
//! exposition format, CSV and PromQL output: parsing with the format's
//! escapes (`\\`, `\"`, `\n`) and writing it back.

/// Parses a label set that starts at the beginning of `s` (which must be
/// `{`). Returns the pairs and the number of bytes consumed. A trailing
/// comma is allowed, as in the exposition format.
pub fn parse_label_set(s: &str) -> Result<(Vec<(String, String)>, usize), String> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'{') {
        return Err("expected '{' to open a label set".into());
    }
    let mut pairs = Vec::new();
    let mut i = 1;
    loop {
        i = skip_spaces(bytes, i);
        match bytes.get(i) {
            Some(b'}') => return Ok((pairs, i + 1)),
            None => return Err("label set is not closed with '}'".into()),
            Some(_) => {}
        }
        let name_start = i;
        while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
            i += 1;
        }
        let name = &s[name_start..i];
        if name.is_empty() {
            return Err(format!("expected a label name at byte {name_start}"));
        }
        i = skip_spaces(bytes, i);
        if bytes.get(i) != Some(&b'=') {
            return Err(format!("expected '=' after label name {name:?}"));
        }
        i = skip_spaces(bytes, i + 1);
        if bytes.get(i) != Some(&b'"') {
            return Err(format!("expected '\"' to open the value of label {name:?}"));
        }
        let (value, used) = parse_quoted(&s[i + 1..]).map_err(|e| format!("value of label {name:?}: {e}"))?;
        i += 1 + used;
        pairs.push((name.to_string(), value));
        i = skip_spaces(bytes, i);
        match bytes.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => return Ok((pairs, i + 1)),
            _ => return Err(format!("expected ',' or '}}' after the value of label {name:?}")),
        }
    }
}

/// Reads a quoted string body up to and including its closing quote.
fn parse_quoted(s: &str) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => return Err(format!("unknown escape \\{other}")),
                None => break,
            },
            '\n' => return Err("unescaped newline in a quoted value".into()),
            c => out.push(c),
        }
    }
    Err("quoted value is not closed".into())
}

fn skip_spaces(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t') {
        i += 1;
    }
    i
}

/// Writes `{a="1",b="2"}` (nothing for an empty set) with the format's escapes.
pub fn write_label_set<'a>(out: &mut String, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) {
    let mut first = true;
    for (name, value) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    if !first {
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_escapes_and_trailing_comma() {
        let (pairs, used) = parse_label_set(r#"{a="x\"y", b = "1\n\\",} 5"#).unwrap();
        assert_eq!(pairs, vec![("a".into(), "x\"y".into()), ("b".into(), "1\n\\".into())]);
        assert_eq!(used, 24);
    }

    #[test]
    fn errors_name_the_problem() {
        for (input, want) in [
            ("{a=1}", "expected '\"'"),
            ("{a=\"1\"", "expected ',' or '}'"),
            ("{=\"1\"}", "expected a label name"),
            ("{a=\"1\\q\"}", "unknown escape"),
            ("{a=\"1", "not closed"),
            ("a", "expected '{'"),
        ] {
            let err = parse_label_set(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,6}", "\\PC{0,10}"), 0..5)) {
            let mut text = String::new();
            write_label_set(&mut text, pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
            if pairs.is_empty() {
                prop_assert_eq!(text, "");
            } else {
                let (parsed, used) = parse_label_set(&text).unwrap();
                prop_assert_eq!(used, text.len());
                prop_assert_eq!(parsed, pairs);
            }
        }
    }
}
