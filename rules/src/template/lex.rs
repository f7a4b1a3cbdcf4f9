//! Splits a template into text and actions (`{{ … }}`, honouring the
//! `{{- ` and ` -}}` trim markers and `{{/* comments */}}`) and an action
//! into tokens, each with its byte position for error messages. Linear in
//! the template's length.

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// A function name or keyword.
    Ident(String),
    /// `.` (empty) or `.A.B`.
    Field(Vec<String>),
    /// `$`, `$x`, `$x.A.B`: the variable's name with `$`, then fields.
    Var(String, Vec<String>),
    Str(String),
    Int(i64),
    Float(f64),
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub tok: Tok,
    /// Byte offset in the template.
    pub pos: usize,
    /// The source text, for `at <…>` in error messages.
    pub text: String,
    /// Whether whitespace precedes it (`(x).F` chains a field, `(x) .F` does not).
    pub spaced: bool,
}

#[derive(Debug)]
pub(super) enum Item {
    Text(String),
    /// An action's tokens and where it starts.
    Action(Vec<Token>, usize),
}

/// A lexing error: where and what.
pub(super) type LexError = (usize, String);

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The template as text and actions.
pub(super) fn lex(src: &str) -> Result<Vec<Item>, LexError> {
    let bytes = src.as_bytes();
    let mut items = Vec::new();
    let mut text_start = 0;
    let mut trim_next = false;
    let mut i = 0;
    while let Some(open) = src[i..].find("{{").map(|o| o + i) {
        let mut text = &src[text_start..open];
        if trim_next {
            text = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
        }
        let mut start = open + 2;
        if bytes.get(start) == Some(&b'-') && bytes.get(start + 1).is_some_and(|b| is_space(*b)) {
            text = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
            start += 2;
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        let (tokens, end, trim) = action(src, start)?;
        if !tokens.is_empty() {
            items.push(Item::Action(tokens, open));
        }
        trim_next = trim;
        i = end;
        text_start = end;
    }
    let mut text = &src[text_start..];
    if trim_next {
        text = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    }
    if !text.is_empty() {
        items.push(Item::Text(text.to_string()));
    }
    Ok(items)
}

/// The tokens of the action starting at `i` (after `{{`), the offset after
/// its `}}`, and whether it trims the text after it. A comment is an action
/// without tokens.
fn action(src: &str, mut i: usize) -> Result<(Vec<Token>, usize, bool), LexError> {
    let bytes = src.as_bytes();
    let start = i;
    while bytes.get(i).is_some_and(|b| is_space(*b)) {
        i += 1;
    }
    if src[i..].starts_with("/*") {
        let close = src[i..].find("*/").ok_or((start, "unclosed comment".to_string()))? + i + 2;
        let mut j = close;
        while bytes.get(j).is_some_and(|b| is_space(*b)) {
            j += 1;
        }
        if src[j..].starts_with("-}}") && j > close {
            return Ok((Vec::new(), j + 3, true));
        }
        if src[close..].starts_with("}}") {
            return Ok((Vec::new(), close + 2, false));
        }
        return Err((start, "comment ends before closing delimiter".into()));
    }
    let mut tokens = Vec::new();
    let mut spaced = true;
    loop {
        let Some(&b) = bytes.get(i) else { return Err((start, "unclosed action".into())) };
        if is_space(b) {
            if src[i + 1..].starts_with("-}}") {
                return Ok((tokens, i + 4, true));
            }
            i += 1;
            spaced = true;
            continue;
        }
        if src[i..].starts_with("}}") {
            return Ok((tokens, i + 2, false));
        }
        let (tok, end) = token(src, i)?;
        tokens.push(Token { tok, pos: i, text: src[i..end].to_string(), spaced });
        spaced = false;
        i = end;
    }
}

fn word_end(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80) {
        i += 1;
    }
    i
}

/// `.A.B` starting at `i` (at a dot): the field names and the end.
fn fields(src: &str, mut i: usize) -> (Vec<String>, usize) {
    let bytes = src.as_bytes();
    let mut names = Vec::new();
    while bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_') {
        let end = word_end(bytes, i + 1);
        names.push(src[i + 1..end].to_string());
        i = end;
    }
    (names, i)
}

fn token(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let bytes = src.as_bytes();
    let b = bytes[i];
    let next = bytes.get(i + 1).copied();
    Ok(match b {
        b'|' => (Tok::Pipe, i + 1),
        b'(' => (Tok::LParen, i + 1),
        b')' => (Tok::RParen, i + 1),
        b',' => (Tok::Comma, i + 1),
        b'=' => (Tok::Assign, i + 1),
        b':' if next == Some(b'=') => (Tok::Declare, i + 2),
        b'"' | b'`' => quoted(src, i)?,
        b'\'' => {
            let (s, end) = quoted(src, i)?;
            let Tok::Str(s) = s else { return Err((i, "bad character constant".into())) };
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => (Tok::Int(i64::from(u32::from(c))), end),
                _ => return Err((i, format!("malformed character constant: {}", &src[i..end]))),
            }
        }
        b'$' => {
            let end = word_end(bytes, i + 1);
            let (names, end2) = fields(src, end);
            (Tok::Var(src[i..end].to_string(), names), end2)
        }
        b'.' if !next.is_some_and(|n| n.is_ascii_digit()) => {
            let (names, end) = fields(src, i);
            if names.is_empty() {
                (Tok::Field(Vec::new()), i + 1)
            } else {
                (Tok::Field(names), end)
            }
        }
        b'0'..=b'9' | b'+' | b'-' | b'.' => number(src, i)?,
        b if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
            let end = word_end(bytes, i);
            (Tok::Ident(src[i..end].to_string()), end)
        }
        _ => {
            let c = src[i..].chars().next().unwrap_or('?');
            return Err((i, format!("unexpected {c:?} in command")));
        }
    })
}

/// A quoted string (`"…"` with Go's escapes, `` `…` `` raw, `'…'` a character).
fn quoted(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let quote = src.as_bytes()[i] as char;
    let mut out = String::new();
    let mut chars = src[i + 1..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((Tok::Str(out), i + 1 + k + 1)),
            '\n' if quote != '`' => break,
            '\\' if quote != '`' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    '\\' | '"' | '\'' => out.push(e),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                        let code = u32::from_str_radix(&hex, 16).map_err(|_| (i, format!("bad escape \\{e}{hex}")))?;
                        out.push(char::from_u32(code).ok_or((i, format!("bad escape \\{e}{hex}")))?);
                    }
                    other => return Err((i, format!("unknown escape sequence \\{other}"))),
                }
            }
            c => out.push(c),
        }
    }
    Err((i, "unterminated quoted string".into()))
}

/// A number: Go's integer (decimal, `0x`, `0o`, `0b`, `_` separators) or
/// floating-point literal, with an optional sign.
fn number(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let bytes = src.as_bytes();
    let mut end = i;
    if matches!(bytes[end], b'+' | b'-') {
        end += 1;
    }
    while let Some(&b) = bytes.get(end) {
        let exponent_sign = matches!(b, b'+' | b'-') && matches!(bytes[end - 1], b'e' | b'E' | b'p' | b'P');
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || exponent_sign {
            end += 1;
        } else {
            break;
        }
    }
    let text = &src[i..end];
    let clean = text.replace('_', "");
    let (negative, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let radix = |prefix: &[&str], radix: u32| {
        prefix.iter().find_map(|p| digits.strip_prefix(p)).map(|d| i64::from_str_radix(d, radix))
    };
    let int = radix(&["0x", "0X"], 16)
        .or_else(|| radix(&["0o", "0O"], 8))
        .or_else(|| radix(&["0b", "0B"], 2))
        .or_else(|| (!digits.contains(['.', 'e', 'E'])).then(|| digits.parse::<i64>()));
    if let Some(Ok(n)) = int {
        return Ok((Tok::Int(if negative { -n } else { n }), end));
    }
    match digits.parse::<f64>() {
        Ok(v) if !digits.contains(char::is_alphabetic) || digits.contains(['e', 'E']) => {
            Ok((Tok::Float(if negative { -v } else { v }), end))
        }
        _ => Err((i, format!("bad number syntax: {text:?}"))),
    }
}
