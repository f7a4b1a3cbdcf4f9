//! Tokens of the query language, each with the line and column it starts
//! at, so every parse error can point at the problem.

use crate::error::{Error, Pos};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A metric name or identifier containing `:` (recording-rule style).
    MetricIdent(String),
    Number(f64),
    Str(String),
    /// Milliseconds.
    Duration(i64),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    Eq,
    Neq,
    ReMatch,
    ReNoMatch,
    Assign,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Lss,
    Gtr,
    Lte,
    Gte,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) | Tok::MetricIdent(s) => format!("identifier \"{s}\""),
            Tok::Number(n) => format!("number \"{n}\""),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Duration(_) => "duration".to_string(),
            Tok::Eof => "end of input".to_string(),
            other => format!("\"{}\"", other.symbol()),
        }
    }

    pub(crate) fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::At => "@",
            Tok::Eq => "==",
            Tok::Neq => "!=",
            Tok::ReMatch => "=~",
            Tok::ReNoMatch => "!~",
            Tok::Assign => "=",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::Lss => "<",
            Tok::Gtr => ">",
            Tok::Lte => "<=",
            Tok::Gte => ">=",
            _ => "",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
}

/// Splits `input` into tokens; the last is always `Eof`.
pub(crate) fn lex(input: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, c: char| {
        *i += 1;
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while let Some(&c) = chars.get(i) {
        let pos = Pos { line, col };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, c);
            continue;
        }
        if c == '#' {
            while let Some(&c) = chars.get(i) {
                if c == '\n' {
                    break;
                }
                advance(&mut i, &mut line, &mut col, c);
            }
            continue;
        }
        let next = chars.get(i + 1).copied();
        let two = |t: Tok| (t, 2);
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('{', _) => (Tok::LBrace, 1),
            ('}', _) => (Tok::RBrace, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',', _) => (Tok::Comma, 1),
            ('@', _) => (Tok::At, 1),
            ('=', Some('=')) => two(Tok::Eq),
            ('=', Some('~')) => two(Tok::ReMatch),
            ('=', _) => (Tok::Assign, 1),
            ('!', Some('=')) => two(Tok::Neq),
            ('!', Some('~')) => two(Tok::ReNoMatch),
            ('<', Some('=')) => two(Tok::Lte),
            ('<', _) => (Tok::Lss, 1),
            ('>', Some('=')) => two(Tok::Gte),
            ('>', _) => (Tok::Gtr, 1),
            ('+', _) => (Tok::Add, 1),
            ('-', _) => (Tok::Sub, 1),
            ('*', _) => (Tok::Mul, 1),
            ('/', _) => (Tok::Div, 1),
            ('%', _) => (Tok::Mod, 1),
            ('^', _) => (Tok::Pow, 1),
            (':', _) => (Tok::Colon, 1),
            ('"' | '\'' | '`', _) => {
                let (s, consumed) = lex_string(&chars[i..], pos)?;
                for _ in 0..consumed {
                    let ch = chars[i];
                    advance(&mut i, &mut line, &mut col, ch);
                }
                out.push(Token { tok: Tok::Str(s), pos });
                continue;
            }
            (c, _) if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let (tok, consumed) = lex_number_or_duration(&chars[i..], pos)?;
                for _ in 0..consumed {
                    let ch = chars[i];
                    advance(&mut i, &mut line, &mut col, ch);
                }
                out.push(Token { tok, pos });
                continue;
            }
            (c, _) if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':') {
                    let ch = chars[i];
                    advance(&mut i, &mut line, &mut col, ch);
                }
                let word: String = chars[start..i].iter().collect();
                let tok = match word.to_ascii_lowercase().as_str() {
                    "inf" => Tok::Number(f64::INFINITY),
                    "nan" => Tok::Number(f64::NAN),
                    _ if word.contains(':') => Tok::MetricIdent(word),
                    _ => Tok::Ident(word),
                };
                out.push(Token { tok, pos });
                continue;
            }
            (other, _) => return Err(Error::parse(pos, format!("unexpected character {other:?}"))),
        };
        for _ in 0..len {
            let ch = chars[i];
            advance(&mut i, &mut line, &mut col, ch);
        }
        out.push(Token { tok, pos });
    }
    out.push(Token { tok: Tok::Eof, pos: Pos { line, col } });
    Ok(out)
}

fn lex_string(chars: &[char], pos: Pos) -> Result<(String, usize), Error> {
    let quote = chars[0];
    let mut out = String::new();
    let mut i = 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(Error::parse(pos, "unterminated string"));
        };
        i += 1;
        if c == quote {
            return Ok((out, i));
        }
        if quote == '`' || c != '\\' {
            if c == '\n' && quote != '`' {
                return Err(Error::parse(pos, "newline in string"));
            }
            out.push(c);
            continue;
        }
        let Some(&e) = chars.get(i) else {
            return Err(Error::parse(pos, "unterminated string"));
        };
        i += 1;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' | 'u' | 'U' => {
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.get(i..i + digits).map(|s| s.iter().collect()).unwrap_or_default();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .filter(|_| hex.len() == digits)
                    .ok_or_else(|| Error::parse(pos, format!("invalid escape \\{e}{hex}")))?;
                out.push(code);
                i += digits;
            }
            other => return Err(Error::parse(pos, format!("unknown escape sequence \\{other}"))),
        }
    }
}

const UNITS: [(&str, i64); 7] = [
    ("ms", 1),
    ("s", 1000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
    ("y", 31_536_000_000),
];

/// A number (`1`, `1.5e3`, `0x1f`) or a duration (`5m`, `1h30m`, `100ms`).
fn lex_number_or_duration(chars: &[char], pos: Pos) -> Result<(Tok, usize), Error> {
    let mut end = 0;
    let is_hex = chars.first() == Some(&'0') && chars.get(1).is_some_and(|c| *c == 'x' || *c == 'X');
    if is_hex {
        end = 2;
        while chars.get(end).is_some_and(|c| c.is_ascii_hexdigit()) {
            end += 1;
        }
        let text: String = chars[2..end].iter().collect();
        let v = i64::from_str_radix(&text, 16).map_err(|_| Error::parse(pos, format!("bad number 0x{text}")))?;
        return Ok((Tok::Number(v as f64), end));
    }
    // Duration: digits followed by a unit, repeated.
    let mut total = 0i64;
    let mut j = 0;
    let mut last_unit = usize::MAX;
    loop {
        let digits_start = j;
        while chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
            j += 1;
        }
        if j == digits_start {
            break;
        }
        let unit = UNITS.iter().enumerate().find(|(_, (u, _))| {
            let u: Vec<char> = u.chars().collect();
            chars.get(j..j + u.len()) == Some(&u[..])
                && !chars.get(j + u.len()).is_some_and(|c| c.is_ascii_alphabetic())
        });
        // "m" followed by "s" is "ms": UNITS lists "ms" first.
        let Some((unit_index, (u, ms))) = unit else {
            break;
        };
        // UNITS is ordered from the smallest unit up; each must be smaller than the last.
        if last_unit != usize::MAX && unit_index >= last_unit {
            return Err(Error::parse(pos, "duration units must go from largest to smallest"));
        }
        let n: i64 = chars[digits_start..j].iter().collect::<String>().parse().unwrap_or(i64::MAX);
        total = n
            .checked_mul(*ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| Error::parse(pos, "duration out of range"))?;
        j += u.len();
        end = j;
        last_unit = unit_index;
    }
    if end > 0 {
        return Ok((Tok::Duration(total), end));
    }
    // A decimal number.
    let mut k = 0;
    while chars.get(k).is_some_and(|c| c.is_ascii_digit() || *c == '.') {
        k += 1;
    }
    if chars.get(k).is_some_and(|c| *c == 'e' || *c == 'E') {
        let mut m = k + 1;
        if chars.get(m).is_some_and(|c| *c == '+' || *c == '-') {
            m += 1;
        }
        if chars.get(m).is_some_and(|c| c.is_ascii_digit()) {
            k = m;
            while chars.get(k).is_some_and(|c| c.is_ascii_digit()) {
                k += 1;
            }
        }
    }
    let text: String = chars[..k].iter().collect();
    let v: f64 = text.parse().map_err(|_| Error::parse(pos, format!("bad number {text:?}")))?;
    Ok((Tok::Number(v), k))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn durations_and_numbers() {
        assert_eq!(toks("5m"), vec![Tok::Duration(300_000), Tok::Eof]);
        assert_eq!(toks("1h30m"), vec![Tok::Duration(5_400_000), Tok::Eof]);
        assert_eq!(toks("100ms"), vec![Tok::Duration(100), Tok::Eof]);
        assert_eq!(toks("2d 1w"), vec![Tok::Duration(172_800_000), Tok::Duration(604_800_000), Tok::Eof]);
        assert_eq!(toks("1.5e3"), vec![Tok::Number(1500.0), Tok::Eof]);
        assert_eq!(toks("0x1F"), vec![Tok::Number(31.0), Tok::Eof]);
        assert!(lex("1m1h").is_err());
    }

    #[test]
    fn strings_and_positions() {
        let t = lex("foo{a=\"x\\ny\"}\n  + 'q'").unwrap();
        assert_eq!(t[4].tok, Tok::Str("x\ny".into()));
        assert_eq!(t[6].pos, Pos { line: 2, col: 3 });
        assert_eq!(toks("`a\\b`"), vec![Tok::Str("a\\b".into()), Tok::Eof]);
        assert!(lex("\"open").is_err());
    }
}
