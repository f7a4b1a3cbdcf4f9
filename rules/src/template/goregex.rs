//! Go's regular expressions (RE2 syntax, as `match` and `reReplaceAll`
//! compile them) on the `regex` crate. The syntaxes agree but for a few
//! points, which are rewritten before compiling: Go's `\d`, `\w`, `\s`
//! and `\b` are ASCII only (the crate's are Unicode); `\Q…\E` quotes
//! literally; a `{` that does not start a repetition is a literal brace;
//! a repetition count beyond 1000 is refused; `(?<name>` is not Go syntax.

use regex::Regex;

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";
/// Go's `\s`: no vertical tab.
const SPACE: &str = r"\t\n\x0C\r ";

/// The ASCII set Go means by `\d`, `\w`, `\s` (upper case: negated).
fn perl_class(c: char) -> Option<(&'static str, bool)> {
    Some(match c {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        _ => return None,
    })
}

/// A repetition `{n}`, `{n,}` or `{n,m}` at the start of `s`: its length
/// and largest count.
fn repetition(s: &str) -> Option<(usize, u64)> {
    let close = s.find('}')?;
    let inner = &s[1..close];
    let (lo, hi) = match inner.split_once(',') {
        Some((lo, hi)) => (lo, Some(hi)),
        None => (inner, None),
    };
    let number = |t: &str| {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse::<u64>().unwrap_or(u64::MAX))
    };
    let lo = number(lo)?;
    let max = match hi {
        None | Some("") => lo,
        Some(h) => number(h)?,
    };
    Some((close + 1, lo.max(max)))
}

/// Go refuses a repetition operator right after another (`a**`), but for
/// the `?` that makes one lazy (`a*?`).
fn nested(pattern: &str, last: &mut Option<(usize, usize, bool)>, at: usize, len: usize) -> Result<(), String> {
    match *last {
        Some((start, end, false)) if end == at && len == 1 && pattern[at..].starts_with('?') => {
            *last = Some((start, at + 1, true));
            Ok(())
        }
        Some((start, end, _)) if end == at => {
            Err(format!("invalid nested repetition operator: `{}`", &pattern[start..at + len]))
        }
        _ => {
            *last = Some((at, at + len, false));
            Ok(())
        }
    }
}

/// `pattern` in the crate's syntax with Go's meaning, or Go's complaint.
pub(super) fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    // Where the current class started in `out` (a `]` right after it is literal).
    let mut class_start = 0;
    // The last repetition operator: where it starts and ends, and whether
    // it is lazy already.
    let mut last_repeat: Option<(usize, usize, bool)> = None;
    let mut i = 0;
    while i < pattern.len() {
        let rest = &pattern[i..];
        let Some(c) = rest.chars().next() else { break };
        if c == '\\' {
            let Some(e) = rest[1..].chars().next() else {
                return Err("trailing backslash at end of expression: ``".into());
            };
            if e == 'Q' {
                let body = &rest[2..];
                let (quoted, used) = match body.find("\\E") {
                    Some(end) => (&body[..end], 2 + end + 2),
                    None => (body, rest.len()),
                };
                out.push_str(&regex::escape(quoted));
                i += used;
                continue;
            }
            match (perl_class(e), in_class) {
                (Some((set, negated)), false) => out.push_str(&format!("[{}{set}]", if negated { "^" } else { "" })),
                (Some((set, false)), true) => out.push_str(set),
                (Some((set, true)), true) => out.push_str(&format!("[^{set}]")),
                (None, false) if e == 'b' || e == 'B' => out.push_str(&format!("(?-u:\\{e})")),
                _ => {
                    out.push('\\');
                    out.push(e);
                }
            }
            i += 1 + e.len_utf8();
            continue;
        }
        if in_class {
            if rest.starts_with("[:") {
                if let Some(end) = rest.find(":]") {
                    out.push_str(&rest[..end + 2]);
                    i += end + 2;
                    continue;
                }
            }
            match c {
                ']' if out.len() > class_start => in_class = false,
                // A literal `[` inside a class in Go; the crate would nest.
                '[' => {
                    out.push_str("\\[");
                    i += 1;
                    continue;
                }
                _ => {}
            }
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if pattern[i..].starts_with('^') {
                    out.push('^');
                    i += 1;
                }
                class_start = out.len();
                continue;
            }
            '{' => match repetition(rest) {
                Some((len, max)) => {
                    if max > 1000 {
                        return Err(format!("invalid repeat count: `{}`", &rest[..len]));
                    }
                    nested(pattern, &mut last_repeat, i, len)?;
                    out.push_str(&rest[..len]);
                    i += len;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '*' | '+' | '?' => {
                nested(pattern, &mut last_repeat, i, 1)?;
                out.push(c);
                i += 1;
                continue;
            }
            '(' if rest.starts_with("(?<") && !rest.starts_with("(?<=") && !rest.starts_with("(?<!") => {
                return Err("invalid or unsupported Perl syntax: `(?<`".into());
            }
            c => out.push(c),
        }
        i += c.len_utf8();
    }
    Ok(out)
}

/// Compiles a Go regular expression; the error is Go's text where known.
pub(super) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern).map_err(|e| format!("error parsing regexp: {e}"))?;
    Regex::new(&translated).map_err(|e| format!("error parsing regexp: {}", go_error(pattern, &translated, &e)))
}

/// The crate's complaint in Go's words where they are known: the crate
/// shows the pattern with a caret under the fault, then the reason.
fn go_error(pattern: &str, translated: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let reason = lines.iter().rev().find_map(|l| l.strip_prefix("error: ")).unwrap_or(&text).to_string();
    // The fault's text in the translated pattern, from the caret on.
    let at = match (lines.get(1), lines.get(2)) {
        (Some(shown), Some(carets)) if shown.trim_start() == translated => {
            let indent = shown.len() - shown.trim_start().len();
            carets.find('^').and_then(|c| c.checked_sub(indent)).and_then(|c| translated.get(c..))
        }
        _ => None,
    };
    let operator = |rest: &str| -> String {
        let mut chars = rest.chars();
        let first = chars.next().unwrap_or_default();
        let mut op = if first == '{' {
            rest.find('}').map_or(first.to_string(), |end| rest[..=end].to_string())
        } else {
            first.to_string()
        };
        if rest[op.len()..].starts_with('?') {
            op.push('?');
        }
        op
    };
    match (reason.as_str(), at) {
        ("unclosed group", _) => format!("missing closing ): `{pattern}`"),
        ("unopened group", _) => format!("unexpected ): `{pattern}`"),
        ("repetition operator missing expression", Some(rest)) => {
            format!("missing argument to repetition operator: `{}`", operator(rest))
        }
        ("unclosed character class", Some(rest)) => format!("missing closing ]: `{rest}`"),
        ("unrecognized escape sequence", Some(rest)) => {
            format!("invalid escape sequence: `{}`", rest.chars().take(2).collect::<String>())
        }
        _ => reason,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_meanings() {
        let m = |p: &str, s: &str| compile(p).unwrap().is_match(s);
        assert!(!m(r"^\d+$", "٣"));
        assert!(m(r"^\d+$", "3"));
        assert!(m("a{,3}", "a{,3}"));
        assert!(!m("[[:alpha:]]", "é"));
        assert!(m(r"\pL", "é"));
        assert!(m(r"\Qa.b\E", "a.b"));
        assert!(!m(r"\Qa.b\E", "axb"));
        assert!(m(r"[\w]", "_"));
        assert!(!m(r"[\w]", "é"));
        assert!(m(r"[^\W]", "a"));
        assert!(m(r"[]a]", "]"));
        assert!(m(r"\\w", "\\w"));
        assert!(m(r"^\s$", "\x0C"));
        assert!(!m(r"^\s$", "\x0B"));
        assert_eq!(compile("a{2000}").unwrap_err(), "error parsing regexp: invalid repeat count: `{2000}`");
        assert!(compile("(?<n>a)").is_err());
        let e = |p: &str| compile(p).unwrap_err();
        assert_eq!(e("(a"), "error parsing regexp: missing closing ): `(a`");
        assert_eq!(e("a)"), "error parsing regexp: unexpected ): `a)`");
        assert_eq!(e("*"), "error parsing regexp: missing argument to repetition operator: `*`");
        assert_eq!(e("a|*?"), "error parsing regexp: missing argument to repetition operator: `*?`");
        assert_eq!(e("a**"), "error parsing regexp: invalid nested repetition operator: `**`");
        assert_eq!(e("a*??"), "error parsing regexp: invalid nested repetition operator: `*??`");
        assert!(compile("a*?b+?c{2}?").is_ok());
        assert_eq!(e("x[a"), "error parsing regexp: missing closing ]: `[a`");
        assert_eq!(e(r"\q"), "error parsing regexp: invalid escape sequence: `\\q`");
        let r = |p: &str, with: &str, s: &str| compile(p).unwrap().replace_all(s, with).into_owned();
        assert_eq!(r(r"\w", "x", "é٣a"), "é٣x");
        assert_eq!(r(r"\b", "|", "é a"), "é |a|");
        assert_eq!(r("(?i)K", "x", "kK\u{212a}"), "xxx");
    }
}
