//! Go's `%v` of a float64, for the texts Prometheus builds with it (error
//! messages here, alert templates in `pulsedb-rules`).

/// Go's `%v` of a float64 (strconv's shortest `%g`): shortest digits, exponent
/// form from 1e6 and below 1e-4 (`1.234567e+06`, as Prometheus prints it).
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{v}")
    } else {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn as_go_prints_them() {
        for (v, want) in [
            (1234567.0, "1.234567e+06"),
            (123456.0, "123456"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Inf"),
            (1e21, "1e+21"),
        ] {
            assert_eq!(super::format_float(v), want);
        }
    }
}
