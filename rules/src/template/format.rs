//! Go's formatting as Prometheus' templates print it: `%v` of a float,
//! `%.Ng`, the humanize family, `printf`'s verbs, times and the escapers
//! of Go's template built-ins. Output must match Prometheus byte for byte,
//! so each function names the Go behaviour it follows.

use super::value::Value;

/// Go's `%v` of a float64: the query crate's, which its own error texts use.
pub(super) use pulsedb_query::go_format_float as go_float;

/// Rust's float formatting refuses precisions from `u16::MAX` on; Go takes
/// up to a million. A double's exact decimal expansion ends long before,
/// so the digits beyond are zeros and are padded on.
const MAX_RUST_PRECISION: usize = u16::MAX as usize - 1;

/// `v` with `precision` digits after the point.
fn fixed(v: f64, precision: usize) -> String {
    let mut s = format!("{v:.*}", precision.min(MAX_RUST_PRECISION));
    s.extend(std::iter::repeat_n('0', precision.saturating_sub(MAX_RUST_PRECISION)));
    s
}

/// `v` in Rust's exponent form (`1.50e6`) with `precision` mantissa digits.
fn scientific(v: f64, precision: usize) -> String {
    let s = format!("{v:.*e}", precision.min(MAX_RUST_PRECISION));
    match (precision > MAX_RUST_PRECISION, s.split_once('e')) {
        (true, Some((m, e))) => format!("{m}{}e{e}", "0".repeat(precision - MAX_RUST_PRECISION)),
        _ => s,
    }
}

/// `1.5e+06`: Go writes the exponent's sign and at least two digits.
fn exponent_form(mantissa: &str, exp: i32) -> String {
    format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// Go's `%.Ng`: `n` significant digits, exponent form when the exponent is
/// below -4 or at least `n`, trailing zeros removed.
pub(super) fn go_g(v: f64, n: usize) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_float(v);
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let n = n.max(1);
    let sci = scientific(v, n - 1);
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
        exponent_form(&trim(mantissa), exp)
    } else {
        let decimals = (n as i32 - 1 - exp).max(0) as usize;
        trim(&fixed(v, decimals))
    }
}

/// Go's `%#.Ng`: as `%.Ng` but keeping trailing zeros and the point.
fn go_g_sharp(v: f64, n: usize) -> String {
    if !v.is_finite() {
        return go_float(v);
    }
    let n = n.max(1);
    let sci = scientific(v, n - 1);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = if v == 0.0 { 0 } else { exp.parse().unwrap_or(0) };
    let with_point = |s: String| if s.contains('.') { s } else { format!("{s}.") };
    if exp < -4 || exp >= n as i32 {
        exponent_form(&with_point(mantissa.to_string()), exp)
    } else {
        with_point(fixed(v, (n as i32 - 1 - exp).max(0) as usize))
    }
}

/// Go's `%.Ne`.
fn go_e(v: f64, precision: usize, upper: bool) -> String {
    if !v.is_finite() {
        return go_float(v);
    }
    let s = scientific(v, precision);
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let out = exponent_form(m, e.parse().unwrap_or(0));
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

/// Prometheus' `humanize` and `humanize1024`: `%.4g` after dividing by the
/// base for each prefix (or multiplying, below 1).
pub(super) fn humanize(v: f64, base: f64, big: &[&str], small: &[&str]) -> String {
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

/// Prometheus' `humanizeDuration` of seconds.
pub(super) fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        // Go's %.4g: negative zero keeps its sign.
        return format!("{}s", go_g(v, 4));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        // Go converts a float beyond int64 to its minimum (on amd64).
        let whole = if v.abs() < i64::MAX as f64 { v.abs() as i64 } else { i64::MIN };
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

/// Go's `time.Time.String()` of a UTC time in milliseconds:
/// `2023-11-14 22:13:20.5 +0000 UTC` (fraction without trailing zeros).
pub(super) fn go_time(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let mut out = format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", of_day / 3600, of_day / 60 % 60, of_day % 60);
    if millis != 0 {
        out.push_str(format!(".{millis:03}").trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Go's month and weekday names (1970-01-01, day 0, was a Thursday).
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];

/// A UTC time in milliseconds taken apart: seconds and milliseconds, days
/// since the epoch and seconds into the day, and the civil date.
struct Civil {
    secs: i64,
    millis: i64,
    days: i64,
    of_day: i64,
    y: i64,
    m: u32,
    d: u32,
}

impl Civil {
    fn of(ms: i64) -> Self {
        let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
        let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        Self { secs, millis, days, of_day, y, m, d }
    }
}

/// A `time.Time` method without arguments, on a UTC time in milliseconds
/// (`(toTime 1e9).Year`); `None` for another name. Month and weekday are
/// their names, as Go prints them.
pub(super) fn time_method(ms: i64, name: &str) -> Option<Value> {
    let Civil { secs, millis, days, of_day, y, m, d } = Civil::of(ms);
    let year_day = days - days_from_civil(y, 1, 1) + 1;
    Some(match name {
        "Year" => Value::Int(y),
        "Month" => Value::Str(MONTHS[(m as usize).saturating_sub(1) % 12].to_string()),
        "Day" => Value::Int(i64::from(d)),
        "Hour" => Value::Int(of_day / 3600),
        "Minute" => Value::Int(of_day / 60 % 60),
        "Second" => Value::Int(of_day % 60),
        "Nanosecond" => Value::Int(millis * 1_000_000),
        "YearDay" => Value::Int(year_day),
        "Weekday" => Value::Str(DAYS[days.rem_euclid(7) as usize].to_string()),
        "Unix" => Value::Int(secs),
        "UnixMilli" => Value::Int(ms),
        "UnixMicro" => Value::Int(ms.saturating_mul(1000)),
        "UnixNano" => Value::Int(ms.saturating_mul(1_000_000)),
        "String" => Value::Str(go_time(ms)),
        _ => return None,
    })
}

/// Go's `time.Time.Format` of a UTC time in milliseconds, for the layout
/// elements Go knows (`2006`, `01`, `Jan`, `15`, `04`, `05`, `.000`,
/// `MST`, `-0700`, `Z07:00`, …); anything else is copied.
pub(super) fn go_time_format(ms: i64, layout: &str) -> String {
    let Civil { millis, days, of_day, y, m, d, .. } = Civil::of(ms);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let month = MONTHS[(m as usize).saturating_sub(1) % 12];
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let year_day = days - days_from_civil(y, 1, 1) + 1;
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let nanos = format!("{:09}", millis * 1_000_000);
    // Longest elements first where one is a prefix of another.
    const ELEMENTS: &[&str] = &[
        "January",
        "Monday",
        "Z07:00:00",
        "-07:00:00",
        "Z070000",
        "-070000",
        "Z07:00",
        "-07:00",
        "Z0700",
        "-0700",
        "2006",
        "_2006",
        "Jan",
        "Mon",
        "MST",
        "002",
        "__2",
        "Z07",
        "-07",
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "15",
        "_2",
        "PM",
        "pm",
        "1",
        "2",
        "3",
        "4",
        "5",
    ];
    let mut out = String::new();
    let mut rest = layout;
    while let Some(c) = rest.chars().next() {
        // Fractional seconds: a point or comma, then a run of 0s or 9s not
        // followed by a digit.
        if matches!(c, '.' | ',') {
            let digits = &rest[1..];
            let run =
                digits.chars().take_while(|d| *d == '0').count().max(digits.chars().take_while(|d| *d == '9').count());
            let next_is_digit = digits[run..].starts_with(|d: char| d.is_ascii_digit());
            if run > 0 && !next_is_digit {
                let frac = &nanos[..run.min(9)];
                if digits.starts_with('0') {
                    out.push(c);
                    out.push_str(frac);
                } else {
                    let trimmed = frac.trim_end_matches('0');
                    if !trimmed.is_empty() {
                        out.push(c);
                        out.push_str(trimmed);
                    }
                }
                rest = &digits[run..];
                continue;
            }
        }
        let Some(element) = ELEMENTS.iter().find(|e| rest.starts_with(**e)) else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        match *element {
            "January" => out.push_str(month),
            "Jan" => out.push_str(&month[..3]),
            "Monday" => out.push_str(weekday),
            "Mon" => out.push_str(&weekday[..3]),
            "MST" => out.push_str("UTC"),
            "2006" => out.push_str(&format!("{y:04}")),
            "_2006" => out.push_str(&format!("_{y:04}")),
            "06" => out.push_str(&format!("{:02}", y.rem_euclid(100))),
            "01" => out.push_str(&format!("{m:02}")),
            "1" => out.push_str(&m.to_string()),
            "02" => out.push_str(&format!("{d:02}")),
            "_2" => out.push_str(&format!("{d:>2}")),
            "2" => out.push_str(&d.to_string()),
            "002" => out.push_str(&format!("{year_day:03}")),
            "__2" => out.push_str(&format!("{year_day:>3}")),
            "15" => out.push_str(&format!("{hour:02}")),
            "03" => out.push_str(&format!("{hour12:02}")),
            "3" => out.push_str(&hour12.to_string()),
            "04" => out.push_str(&format!("{minute:02}")),
            "4" => out.push_str(&minute.to_string()),
            "05" => out.push_str(&format!("{second:02}")),
            "5" => out.push_str(&second.to_string()),
            "PM" => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            "pm" => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            // UTC: the Z forms print Z, the others a zero offset.
            z if z.starts_with('Z') => out.push('Z'),
            "-07:00:00" => out.push_str("+00:00:00"),
            "-070000" => out.push_str("+000000"),
            "-07:00" => out.push_str("+00:00"),
            "-0700" => out.push_str("+0000"),
            _ => out.push_str("+00"),
        }
        rest = &rest[element.len()..];
    }
    out
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Go's `strconv.Quote`.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `url.QueryEscape`.
pub(super) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Go's `template.HTMLEscapeString`.
pub(super) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub(super) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if !go_printable(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `unicode.IsPrint`, near enough: not a control or format
/// character, and no space but the ASCII one.
fn go_printable(c: char) -> bool {
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(c, '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}' | '\u{180E}'
            | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'))
}

/// One verb's flags, width and precision.
#[derive(Clone, Default)]
struct Spec {
    minus: bool,
    plus: bool,
    zero: bool,
    space: bool,
    sharp: bool,
    /// `%#v`: Go syntax (a string quoted).
    sharp_v: bool,
    /// `%+v`: a struct with its field names.
    plus_v: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    /// Padded to the width; a string's zero padding ignores signs.
    fn pad_as(&self, s: String, string: bool) -> String {
        match self.width {
            Some(width) if string && self.zero && !self.minus && s.chars().count() < width => {
                format!("{}{s}", "0".repeat(width - s.chars().count()))
            }
            _ => self.pad(s),
        }
    }

    fn pad(&self, s: String) -> String {
        let Some(width) = self.width else { return s };
        let len = s.chars().count();
        if len >= width {
            return s;
        }
        let fill = width - len;
        if self.minus {
            format!("{s}{}", " ".repeat(fill))
        } else if self.zero && !s.contains(['I', 'N']) {
            // Go pads infinities and NaN with spaces, zero flag or not.
            // Zeros go after the sign.
            let (sign, digits) = match s.strip_prefix(['-', '+', ' ']) {
                Some(rest) => (&s[..1], rest),
                None => ("", s.as_str()),
            };
            format!("{sign}{}{digits}", "0".repeat(fill))
        } else {
            format!("{}{s}", " ".repeat(fill))
        }
    }

    fn signed(&self, s: String, negative: bool) -> String {
        // `+Inf` comes signed already; the space flag puts a space for its plus.
        if negative || (s.starts_with('+') && (self.plus || !self.space)) {
            s
        } else if let Some(rest) = s.strip_prefix('+') {
            format!(" {rest}")
        } else if self.plus {
            format!("+{s}")
        } else if self.space {
            format!(" {s}")
        } else {
            s
        }
    }
}

/// Go's `%!v(type=value)` for an argument the verb cannot print.
/// The value is printed as `%v` with the verb's flags, width and precision.
fn bad_verb(verb: char, spec: &Spec, arg: &Value) -> String {
    match arg {
        Value::Nil => format!("%!{verb}(<nil>)"),
        other if verb == 'v' => format!("%!v({}={})", other.type_name(), other.print()),
        other => format!("%!{verb}({}={})", other.type_name(), format_one('v', spec, other)),
    }
}

/// Go's `%x` (`%X`) of a float: `0x1.8p+01`, the shortest mantissa.
fn hex_float(v: f64, upper: bool, precision: Option<usize>) -> String {
    if !v.is_finite() {
        return go_float(v);
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let bits = v.abs().to_bits();
    let (mut exp, mut mant) = ((bits >> 52) as i64, bits & ((1 << 52) - 1));
    let out = if exp == 0 && mant == 0 {
        format!("{sign}0x0p+00")
    } else {
        if exp == 0 {
            // Subnormal: normalize so the leading bit is the implicit one.
            exp = 1;
            while mant & (1 << 52) == 0 {
                mant <<= 1;
                exp -= 1;
            }
            mant &= (1 << 52) - 1;
        }
        let mut e = exp - 1023;
        let frac = match precision {
            None => format!("{mant:013x}").trim_end_matches('0').to_string(),
            Some(p) if p >= 13 => format!("{mant:013x}{}", "0".repeat(p - 13)),
            Some(p) => {
                // Round to p hex digits, half to even; a carry bumps the exponent.
                let shift = (13 - p) * 4;
                let (mut kept, rest) = (mant >> shift, mant & ((1u64 << shift) - 1));
                let half = 1u64 << (shift - 1);
                if rest > half || (rest == half && kept & 1 == 1) {
                    kept += 1;
                }
                if kept >> (p * 4) != 0 {
                    kept = 0;
                    e += 1;
                }
                if p == 0 {
                    String::new()
                } else {
                    format!("{kept:0p$x}")
                }
            }
        };
        let frac = frac.as_str();
        let dot = if frac.is_empty() { "" } else { "." };
        format!("{sign}0x1{dot}{frac}p{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    };
    if upper {
        out.to_uppercase()
    } else {
        out
    }
}

/// Go's `%b` of a float: the mantissa as an integer and a binary exponent.
fn binary_float(v: f64) -> String {
    if !v.is_finite() {
        return go_float(v);
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let bits = v.abs().to_bits();
    let (exp, mant) = ((bits >> 52) as i64, bits & ((1 << 52) - 1));
    let (mant, exp) = if exp == 0 { (mant, -1074) } else { (mant | (1 << 52), exp - 1075) };
    format!("{sign}{mant}p{}{}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// Go's `strconv.QuoteToASCII`: `\u00e9` for what is not ASCII.
fn ascii_quote(s: &str) -> String {
    let quoted = go_quote(s);
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        match c as u32 {
            0..=0x7F => out.push(c),
            n @ 0x80..=0xFFFF => out.push_str(&format!("\\u{n:04x}")),
            n => out.push_str(&format!("\\U{n:08x}")),
        }
    }
    out
}

/// Go's `%q` of a rune: `'a'`, `'\n'`, `'\''`.
fn quote_rune(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn format_int(verb: char, spec: &Spec, i: i64) -> Option<String> {
    let digits = match verb {
        'd' | 'v' => i.unsigned_abs().to_string(),
        'x' => format!("{:x}", i.unsigned_abs()),
        'X' => format!("{:X}", i.unsigned_abs()),
        'o' | 'O' => format!("{:o}", i.unsigned_abs()),
        'b' => format!("{:b}", i.unsigned_abs()),
        'c' => return Some(u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}').to_string()),
        'q' => return Some(quote_rune(u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}'))),
        'U' => {
            let u = format!("U+{:04X}", i as u64);
            return Some(match u32::try_from(i).ok().and_then(char::from_u32) {
                Some(c) if spec.sharp && go_printable(c) => format!("{u} '{c}'"),
                _ => u,
            });
        }
        _ => return None,
    };
    // A precision is a minimum number of digits.
    let digits = match spec.precision {
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        Some(0) if i == 0 => String::new(),
        _ => digits,
    };
    let prefix = match (verb, spec.sharp) {
        ('x', true) => "0x",
        ('X', true) => "0X",
        ('o', true) if !digits.starts_with('0') => "0",
        ('b', true) => "0b",
        ('O', _) => "0o",
        _ => "",
    };
    let sign = if i < 0 { "-" } else { "" };
    let signed = spec.signed(format!("{sign}{prefix}{digits}"), i < 0);
    // The 0 flag pads after the sign and prefix (and not at all with a precision).
    Some(match spec.width {
        // The width counts the sign but not the prefix.
        Some(w) if spec.zero && !spec.minus && spec.precision.is_none() => {
            let at = signed.len() - digits.len();
            let room = w.saturating_sub(usize::from(at > prefix.len()));
            format!("{}{}{}", &signed[..at], "0".repeat(room.saturating_sub(digits.len())), &signed[at..])
        }
        _ => signed,
    })
}

fn format_str(verb: char, spec: &Spec, s: &str) -> Option<String> {
    // A precision cuts the string to so many characters.
    let s: String = match spec.precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    Some(match verb {
        'v' if spec.sharp_v => go_quote(&s),
        'v' | 's' => s,
        // %#q: backquoted where Go can; %+q: ASCII only.
        'q' if spec.sharp && !s.chars().any(|c| c == '`' || c == '\u{FEFF}' || (c.is_control() && c != '\t')) => {
            format!("`{s}`")
        }
        'q' if spec.plus => ascii_quote(&s),
        'q' => go_quote(&s),
        'x' | 'X' => {
            let hex: Vec<String> =
                s.bytes().map(|b| if verb == 'x' { format!("{b:02x}") } else { format!("{b:02X}") }).collect();
            let prefix = if verb == 'x' { "0x" } else { "0X" };
            match (spec.space, spec.sharp) {
                (true, true) => hex.iter().map(|h| format!("{prefix}{h}")).collect::<Vec<_>>().join(" "),
                (true, false) => hex.join(" "),
                (false, true) if !hex.is_empty() => format!("{prefix}{}", hex.concat()),
                _ => hex.concat(),
            }
        }
        _ => return None,
    })
}

/// One operand under one verb. Maps, lists and samples are printed element
/// by element under the same verb, as Go does.
fn format_one(verb: char, spec: &Spec, arg: &Value) -> String {
    let float = |v: f64| -> Option<String> {
        Some(match verb {
            'g' | 'G' if spec.sharp => {
                let s = go_g_sharp(v, spec.precision.unwrap_or(6));
                if verb == 'G' {
                    s.to_uppercase()
                } else {
                    s
                }
            }
            'v' | 'g' => spec.precision.map_or_else(|| go_float(v), |p| go_g(v, p)),
            'G' => spec.precision.map_or_else(|| go_float(v), |p| go_g(v, p)).to_uppercase(),
            'f' | 'F' if v.is_finite() => fixed(v, spec.precision.unwrap_or(6)),
            'f' | 'F' => go_float(v),
            'e' | 'E' => go_e(v, spec.precision.unwrap_or(6), verb == 'E'),
            'x' | 'X' => hex_float(v, verb == 'X', spec.precision),
            'b' => binary_float(v),
            _ => return None,
        })
    };
    if verb == 'T' {
        return spec.pad(arg.type_name().to_string());
    }
    let pair = |k: &str, v: &Value| {
        format!("{}:{}", format_one(verb, spec, &Value::Str(k.to_string())), format_one(verb, spec, v))
    };
    match arg {
        Value::Labels(m) if spec.sharp_v => {
            let pairs: Vec<String> = m.iter().map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v))).collect();
            return format!("map[string]string{{{}}}", pairs.join(", "));
        }
        Value::Labels(m) => {
            let pairs: Vec<String> = m.iter().map(|(k, v)| pair(k, &Value::Str(v.clone()))).collect();
            return format!("map[{}]", pairs.join(" "));
        }
        Value::Map(m) => {
            let pairs: Vec<String> = m.iter().map(|(k, v)| pair(k, v)).collect();
            return format!("map[{}]", pairs.join(" "));
        }
        Value::List(items) => {
            // Inside a list a sample is a pointer: Go prints its address under
            // %v (printed by value here) and complains under other verbs.
            let items: Vec<String> = items
                .iter()
                .map(|v| match v {
                    Value::Sample(..) if verb != 'v' => format!("%!{verb}(*template.sample={})", v.print_nested()),
                    v => format_one(verb, spec, v),
                })
                .collect();
            return format!("[{}]", items.join(" "));
        }
        Value::Sample(labels, v) => {
            return format!(
                "&{{{} {}}}",
                format_one(verb, spec, &Value::Labels(labels.clone())),
                format_one(verb, spec, &Value::Float(*v))
            );
        }
        _ => {}
    }
    let text = match arg {
        Value::Str(s) | Value::Html(s) => format_str(verb, spec, s),
        Value::Int(i) => format_int(verb, spec, *i),
        Value::Bool(b) if matches!(verb, 'v' | 't') => Some(b.to_string()),
        Value::Nil if verb == 'v' => Some("<nil>".into()),
        Value::Float(v) => float(*v).map(|s| spec.signed(s, v.is_sign_negative() && !v.is_nan())),
        // A time is a Stringer: the string verbs print its text.
        Value::Time(_) if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => format_str(verb, spec, &arg.print()),
        Value::AlertData(d) if verb == 'v' && spec.plus_v => Some(format!(
            "{{Labels:{} ExternalLabels:{} ExternalURL:{} Value:{}}}",
            Value::Labels(d.labels.clone()).print(),
            Value::Labels(d.external_labels.clone()).print(),
            d.external_url,
            go_float(d.value)
        )),
        Value::AlertData(d) if verb != 'v' => {
            return format!(
                "{{{} {} {} {}}}",
                format_one(verb, spec, &Value::Labels(d.labels.clone())),
                format_one(verb, spec, &Value::Labels(d.external_labels.clone())),
                format_one(verb, spec, &Value::Str(d.external_url.clone())),
                format_one(verb, spec, &Value::Float(d.value))
            )
        }
        Value::Complex(..) | Value::AlertData(_) if matches!(verb, 'v' | 's') => Some(arg.print()),
        // Other verbs see Go's time.Time struct: nanoseconds of the second,
        // seconds since year 1, a nil location.
        Value::Time(ms) => {
            let (wall, ext) = (ms.rem_euclid(1000) * 1_000_000, ms.div_euclid(1000) + 62_135_596_800);
            let field = |n: i64| format_one(verb, spec, &Value::Int(n));
            return format!("&{{{} {} {}}}", field(wall), field(ext), field(0));
        }
        _ => None,
    };
    match text {
        // Integers are zero-padded already, where they are.
        Some(t) if matches!(arg, Value::Int(_)) => Spec { zero: false, ..spec.clone() }.pad(t),
        Some(t) => spec.pad_as(t, matches!(arg, Value::Str(_))),
        None => bad_verb(verb, spec, arg),
    }
}

/// An argument index `[n]` at the head of `chars`: the 0-based index, or
/// `Err` for a bad one.
fn arg_index(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, count: usize) -> Option<Result<usize, ()>> {
    if chars.peek() != Some(&'[') {
        return None;
    }
    chars.next();
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    if chars.peek() != Some(&']') {
        // Not a number: Go skips to the closing bracket, if there is one.
        let rest: String = chars.clone().collect();
        if let Some(close) = rest.find(']') {
            for _ in 0..rest[..=close].chars().count() {
                chars.next();
            }
        }
        return Some(Err(()));
    }
    chars.next();
    Some(match n {
        Some(n) if n >= 1 && n <= count => Ok(n - 1),
        _ => Err(()),
    })
}

/// Go's `fmt.Sprintf` for the verbs templates use, with flags (`-+# 0`),
/// width and precision (also from arguments, `*`), argument indexes
/// (`%[2]d`); a missing argument prints `%!v(MISSING)` and extra ones
/// `%!(EXTRA …)`, as Go does.
pub(super) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut reordered = false;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                '#' => spec.sharp = true,
                _ => break,
            }
            chars.next();
        }
        // Go's parsenum: a number that grows past a million swallows the
        // rest of the format (which then has no verb).
        let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<usize> {
            let mut num: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                if num.is_some_and(|n| n > 1_000_000) {
                    chars.by_ref().for_each(drop);
                    return None;
                }
                num = Some(num.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            num
        };
        let mut bad_index = false;
        let mut index =
            |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, next: &mut usize| match arg_index(chars, args.len())
            {
                Some(Ok(i)) => {
                    *next = i;
                    reordered = true;
                }
                Some(Err(())) => {
                    bad_index = true;
                    reordered = true;
                }
                None => {}
            };
        // A `*` takes the width or precision from an int argument.
        let star = |next: &mut usize| -> Option<i64> {
            let v = match args.get(*next) {
                Some(Value::Int(n)) => Some(*n),
                _ => None,
            };
            *next += 1;
            v
        };
        index(&mut chars, &mut next);
        if chars.peek() == Some(&'*') {
            chars.next();
            match star(&mut next) {
                Some(w) if w.unsigned_abs() <= 1_000_000 => {
                    spec.width = Some(w.unsigned_abs() as usize);
                    spec.minus |= w < 0;
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
        } else {
            spec.width = number(&mut chars);
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            index(&mut chars, &mut next);
            if chars.peek() == Some(&'*') {
                chars.next();
                match star(&mut next) {
                    Some(p) if (0..=1_000_000).contains(&p) => spec.precision = Some(p as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
            } else {
                spec.precision = Some(number(&mut chars).unwrap_or(0));
            }
        }
        index(&mut chars, &mut next);
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        if bad_index {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
            continue;
        }
        if verb == 'v' {
            // %+v and %#v are Go's struct-field and Go-syntax forms, not signs.
            spec.sharp_v = spec.sharp;
            spec.sharp = false;
            spec.plus_v = spec.plus;
            spec.plus = false;
        }
        match args.get(next) {
            Some(arg) => {
                out.push_str(&format_one(verb, &spec, arg));
                next += 1;
            }
            None => out.push_str(&format!("%!{verb}(MISSING)")),
        }
    }
    if !reordered && next < args.len() {
        let extra: Vec<String> = args[next..].iter().map(|a| format!("{}={}", a.type_name(), a.print())).collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

/// Go's `fmt.Sprint`: operands side by side, a space between two that are
/// not strings; nil is `<nil>`.
pub(super) fn sprint(args: &[Value]) -> String {
    sprint_with(args, Value::print_nested)
}

/// `fmt.Sprint` as the escapers (`html`, `js`, `urlquery`) call it: nil
/// is `<no value>` there, as in an action's output.
pub(super) fn sprint_printable(args: &[Value]) -> String {
    // Go hands fmt the text "<no value>" for nil: a string, so no spaces.
    let args: Vec<Value> =
        args.iter().map(|a| if *a == Value::Nil { Value::Str(a.print()) } else { a.clone() }).collect();
    sprint_with(&args, Value::print)
}

fn sprint_with(args: &[Value], print: fn(&Value) -> String) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let string = |v: &Value| matches!(v, Value::Str(_) | Value::Html(_));
        if i > 0 && !string(a) && !string(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&print(a));
    }
    out
}

/// Go's `fmt.Sprintln`: spaces between all operands, a newline after.
pub(super) fn sprintln(args: &[Value]) -> String {
    let mut out: Vec<String> = args.iter().map(Value::print_nested).collect::<Vec<_>>();
    out.push(String::new());
    let mut s = out[..out.len() - 1].join(" ");
    s.push('\n');
    s
}
