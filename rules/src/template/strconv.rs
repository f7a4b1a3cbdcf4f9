//! Go's number syntax as its `strconv` package reads it (base 0): what a
//! template's number literal means, and what `humanize "…"` and friends
//! accept from a string. Integers: `0x`, `0o`, `0b` prefixes, a leading
//! `0` for octal, `_` between digits. Floats: decimal or hexadecimal
//! (`0x1p4`, the `p` exponent required), `inf`/`infinity`/`nan` in any
//! case (a sign only before `inf`), a value beyond the largest double a
//! range error (below the smallest, zero).

/// Why a string is not a number.
#[derive(Debug, PartialEq)]
pub(super) enum NumError {
    Syntax,
    Range,
}

/// Go's rule for `_`: only with Go's number syntax, each one between two
/// digits or between a base prefix and a digit.
fn underscores_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    // What came last: a digit (or prefix), an underscore, something else.
    let mut last = b'^';
    let mut hex = false;
    if b.len() >= i + 2 && b[i] == b'0' && matches!(b[i + 1].to_ascii_lowercase(), b'x' | b'o' | b'b') {
        hex = b[i + 1].eq_ignore_ascii_case(&b'x');
        last = b'0';
        i += 2;
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            last = b'0';
        } else if c == b'_' {
            if last != b'0' {
                return false;
            }
            last = b'_';
        } else {
            if last == b'_' {
                return false;
            }
            last = b'!';
        }
    }
    last != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`.
pub(super) fn parse_uint(s: &str) -> Result<u64, NumError> {
    let lower = s.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if s.contains('_') && !underscores_ok(s) {
        return Err(NumError::Syntax);
    }
    let digits: String = digits.chars().filter(|c| *c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(NumError::Syntax);
    }
    u64::from_str_radix(&digits, radix).map_err(|_| NumError::Range)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
pub(super) fn parse_int(s: &str) -> Result<i64, NumError> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(rest)?;
    if negative {
        if u <= i64::MAX as u64 + 1 {
            Ok((u as i64).wrapping_neg())
        } else {
            Err(NumError::Range)
        }
    } else {
        i64::try_from(u).map_err(|_| NumError::Range)
    }
}

/// Go's `strconv.ParseFloat(s, 64)`.
pub(super) fn parse_float(s: &str) -> Result<f64, NumError> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let sign = if negative { -1.0 } else { 1.0 };
    match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Ok(sign * f64::INFINITY),
        // Go takes no sign before NaN.
        "nan" if body.len() == s.len() => return Ok(f64::NAN),
        _ => {}
    }
    if s.contains('_') && !underscores_ok(s) {
        return Err(NumError::Syntax);
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let v = match lower.strip_prefix("0x") {
        Some(hex) => hex_float(hex)?,
        None => decimal_float(&lower)?,
    };
    if v.is_infinite() {
        return Err(NumError::Range);
    }
    Ok(sign * v)
}

/// `digits[.digits][e[+-]digits]`, at least one mantissa digit.
fn decimal_float(s: &str) -> Result<f64, NumError> {
    let (mantissa, exp) = match s.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_only = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !digits_only(int) || !digits_only(frac) {
        return Err(NumError::Syntax);
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if e.is_empty() || !digits_only(e) {
            return Err(NumError::Syntax);
        }
    }
    s.parse::<f64>().map_err(|_| NumError::Syntax)
}

/// A hexadecimal mantissa (`1.8`) with its required binary exponent (`p4`).
fn hex_float(s: &str) -> Result<f64, NumError> {
    let (mantissa, exp) = s.split_once('p').ok_or(NumError::Syntax)?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let hex_only = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit());
    if int.len() + frac.len() == 0 || !hex_only(int) || !hex_only(frac) {
        return Err(NumError::Syntax);
    }
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::Syntax);
    }
    // Past any double's range either way; keeps the sum below from overflowing.
    let mut exp2: i64 = exp_digits.parse::<i64>().unwrap_or(100_000).min(100_000);
    if exp.starts_with('-') {
        exp2 = -exp2;
    }
    // The first 15 significant hex digits (60 bits) are exact in a u64;
    // the rest only round, folded in as a sticky bit.
    let mut m: u64 = 0;
    let mut used = 0;
    let mut sticky = false;
    for (k, c) in int.chars().chain(frac.chars()).enumerate() {
        let d = u64::from(c.to_digit(16).unwrap_or(0));
        let in_frac = k >= int.len();
        if m == 0 && d == 0 {
            if in_frac {
                exp2 -= 4;
            }
            continue;
        }
        if used < 15 {
            m = m * 16 + d;
            used += 1;
            if in_frac {
                exp2 -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_frac {
                exp2 += 4;
            }
        }
    }
    if sticky {
        m |= 1;
    }
    Ok(scale2(m as f64, exp2))
}

/// `v · 2^e` without intermediate overflow or underflow.
fn scale2(mut v: f64, mut e: i64) -> f64 {
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    v * 2f64.powi(e as i32)
}

/// What a string holds as strconv reports it, for error texts:
/// `strconv.ParseFloat: parsing "x": invalid syntax`.
pub(super) fn float_error(s: &str, e: &NumError) -> String {
    let what = match e {
        NumError::Syntax => "invalid syntax",
        NumError::Range => "value out of range",
    };
    format!("strconv.ParseFloat: parsing {}: {what}", super::format::go_quote(s))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_number_syntax() {
        assert_eq!(parse_uint("010"), Ok(8));
        assert_eq!(parse_uint("0_1"), Ok(1));
        assert_eq!(parse_uint("0x_1F"), Ok(31));
        assert_eq!(parse_uint("08"), Err(NumError::Syntax));
        assert_eq!(parse_uint("1__0"), Err(NumError::Syntax));
        assert_eq!(parse_uint("10_"), Err(NumError::Syntax));
        assert_eq!(parse_uint("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616"), Err(NumError::Range));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_int("9223372036854775808"), Err(NumError::Range));
        assert_eq!(parse_float("0x1p4"), Ok(16.0));
        assert_eq!(parse_float("0x1.8p1"), Ok(3.0));
        assert_eq!(parse_float("0x1P-2"), Ok(0.25));
        assert_eq!(parse_float("0x1"), Err(NumError::Syntax));
        assert_eq!(parse_float("1_000.5"), Ok(1000.5));
        assert_eq!(parse_float("1e400"), Err(NumError::Range));
        assert_eq!(parse_float("1e-400"), Ok(0.0));
        assert_eq!(parse_float("-nan"), Err(NumError::Syntax));
        assert!(parse_float("NaN").unwrap().is_nan());
        assert_eq!(parse_float("-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(parse_float("1."), Ok(1.0));
        assert_eq!(parse_float("."), Err(NumError::Syntax));
        assert_eq!(parse_float("1e"), Err(NumError::Syntax));
        assert_eq!(parse_float(" 1"), Err(NumError::Syntax));
    }
}
