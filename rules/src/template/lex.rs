//! Splits a template into text and actions (`{{ … }}`, honouring the
//! `{{- ` and ` -}}` trim markers and `{{/* comments */}}`) and an action
//! into tokens, each with its byte position for error messages. Linear in
//! the template's length.

use super::strconv;

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
    /// An integer beyond Go's `int` that fits a `uint64`: its text.
    Overflow(String),
    Float(f64),
    /// An imaginary number literal (`1i`): its imaginary part.
    Imag(f64),
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
            text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
        }
        let mut start = open + 2;
        if bytes.get(start) == Some(&b'-') && bytes.get(start + 1).is_some_and(|b| is_space(*b)) {
            text = text.trim_end_matches(|c: char| c.is_ascii() && is_space(c as u8));
            start += 2;
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_string()));
        }
        let (tokens, end, trim) = action(src, start)?;
        if let Some(tokens) = tokens {
            items.push(Item::Action(tokens, open));
        }
        trim_next = trim;
        i = end;
        text_start = end;
    }
    let mut text = &src[text_start..];
    if trim_next {
        text = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
    }
    if !text.is_empty() {
        items.push(Item::Text(text.to_string()));
    }
    Ok(items)
}

/// The tokens of the action starting at `i` (after `{{` and any left
/// trim marker), the offset after its `}}`, and whether it trims the text
/// after it. A comment (`/*` right at the start, `*/` right before `}}` or
/// before one space and `-}}`) has no tokens: `None`.
fn action(src: &str, mut i: usize) -> Result<(Option<Vec<Token>>, usize, bool), LexError> {
    let bytes = src.as_bytes();
    let start = i;
    if src[i..].starts_with("/*") {
        let close = src[i..].find("*/").ok_or((start, "unclosed comment".to_string()))? + i + 2;
        if bytes.get(close).is_some_and(|b| is_space(*b)) && src[close + 1..].starts_with("-}}") {
            return Ok((None, close + 4, true));
        }
        if src[close..].starts_with("}}") {
            return Ok((None, close + 2, false));
        }
        return Err((start, "comment ends before closing delimiter".into()));
    }
    let mut tokens = Vec::new();
    let mut spaced = true;
    loop {
        let Some(&b) = bytes.get(i) else { return Err((start, "unclosed action".into())) };
        if is_space(b) {
            if src[i + 1..].starts_with("-}}") {
                return Ok((Some(tokens), i + 4, true));
            }
            i += 1;
            spaced = true;
            continue;
        }
        if src[i..].starts_with("}}") {
            return Ok((Some(tokens), i + 2, false));
        }
        let (tok, end) = token(src, i)?;
        // A word (name, variable, field) must end at a space, `.`, `,`, `|`,
        // `:`, a parenthesis or the delimiter: `$x=1` is a bad character.
        if matches!(tok, Tok::Ident(_) | Tok::Var(..) | Tok::Field(_)) && bytes.get(end) == Some(&b'=') {
            return Err((end, "bad character U+003D '='".into()));
        }
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
    // A field name starts with a letter (any script's) or `_`.
    while bytes.get(i) == Some(&b'.') && src[i + 1..].starts_with(|c: char| c.is_alphabetic() || c == '_') {
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

/// A quoted string: `"…"` with Go's escapes (`\'` not among them),
/// `` `…` `` raw (carriage returns dropped), `'…'` one character (`\"`
/// not among its escapes).
fn quoted(src: &str, i: usize) -> Result<(Tok, usize), LexError> {
    let quote = src.as_bytes()[i] as char;
    // Bytes, as Go's strings are: `\xc3\xa9` is é. (A byte sequence that
    // is not UTF-8 becomes U+FFFD here, where Go keeps the bytes.)
    let mut out = Bytes(Vec::new());
    let mut chars = src[i + 1..].char_indices().peekable();
    while let Some((k, c)) = chars.next() {
        match c {
            c if c == quote => {
                return Ok((Tok::Str(String::from_utf8_lossy(&out.0).into_owned()), i + 1 + k + 1));
            }
            '\r' if quote == '`' => {}
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
                    '\\' => out.push(e),
                    '"' | '\'' if e == quote => out.push(e),
                    '0'..='7' => {
                        let mut code = e.to_digit(8).unwrap_or(0);
                        for _ in 0..2 {
                            match chars.next().and_then(|(_, d)| d.to_digit(8)) {
                                Some(d) => code = code * 8 + d,
                                None => return Err((i, "invalid syntax".into())),
                            }
                        }
                        if code > 255 {
                            return Err((i, "invalid syntax".into()));
                        }
                        out.byte(code, quote);
                    }
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = chars.by_ref().take(n).map(|(_, c)| c).collect();
                        let code = (hex.len() == n && hex.chars().all(|c| c.is_ascii_hexdigit()))
                            .then(|| u32::from_str_radix(&hex, 16).ok())
                            .flatten()
                            .ok_or((i, "invalid syntax".to_string()))?;
                        if e == 'x' {
                            out.byte(code, quote);
                        } else {
                            out.push(char::from_u32(code).ok_or((i, "invalid syntax".to_string()))?);
                        }
                    }
                    _ => return Err((i, "invalid syntax".into())),
                }
            }
            c => out.push(c),
        }
    }
    Err((i, "unterminated quoted string".into()))
}

/// A quoted literal's bytes.
struct Bytes(Vec<u8>);

impl Bytes {
    fn push(&mut self, c: char) {
        let mut buf = [0; 4];
        self.0.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }

    /// A byte escape (`\xff`, `\377`): a byte in a string, a character
    /// (that code point) in a character literal.
    fn byte(&mut self, code: u32, quote: char) {
        match (quote, u8::try_from(code)) {
            ('\'', _) | (_, Err(_)) => self.push(char::from_u32(code).unwrap_or('\u{FFFD}')),
            (_, Ok(b)) => self.0.push(b),
        }
    }
}

/// A number as Go's template lexer delimits it and its parser reads it:
/// an integer that fits Go's `int`, one that only fits a `uint64` (an
/// error when used), a float (`1.5`, `1e3`, `0x1p4`) or an imaginary
/// number (`1i`). A number out of every range is refused, as Go does.
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
    let looks_float = |t: &str| {
        let hex_int =
            t.trim_start_matches(['+', '-']).to_ascii_lowercase().starts_with("0x") && !t.contains(['p', 'P']);
        !hex_int && t.contains(['.', 'e', 'E', 'p', 'P'])
    };
    if let Some(imag) = text.strip_suffix('i') {
        return match strconv::parse_float(imag) {
            Ok(v) => Ok((Tok::Imag(v), end)),
            Err(_) => Err((i, format!("illegal number syntax: {text:?}"))),
        };
    }
    if let Ok(n) = strconv::parse_int(text) {
        if !looks_float(text) {
            return Ok((Tok::Int(n), end));
        }
    }
    if strconv::parse_uint(text).is_ok() && !looks_float(text) {
        return Ok((Tok::Overflow(text.to_string()), end));
    }
    match strconv::parse_float(text) {
        Ok(_) if !text.contains(['.', 'e', 'E', 'p', 'P']) => Err((i, format!("integer overflow: {text:?}"))),
        Ok(v) => Ok((Tok::Float(v), end)),
        Err(_) => Err((i, format!("illegal number syntax: {text:?}"))),
    }
}
