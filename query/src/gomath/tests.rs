//! Every answer recorded from Prometheus 2.42 in
//! `query/testdata/gomath/prometheus-2.42.txt`, reproduced bit for bit.

use super::*;

const RECORDED: &str = include_str!("../../testdata/gomath/prometheus-2.42.txt");

fn parse(s: &str) -> f64 {
    match s {
        "NaN" => f64::NAN,
        "Inf" | "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
    }
}

fn one(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "exp" => exp,
        "ln" => log,
        "log2" => log2,
        "log10" => log10,
        "sin" => sin,
        "cos" => cos,
        "tan" => tan,
        "asin" => asin,
        "acos" => acos,
        "atan" => atan,
        "sinh" => sinh,
        "cosh" => cosh,
        "tanh" => tanh,
        "asinh" => asinh,
        "acosh" => acosh,
        "atanh" => atanh,
        "deg" => deg,
        "rad" => rad,
        "sqrt" => f64::sqrt,
        _ => return None,
    })
}

#[test]
fn every_recorded_answer_is_reproduced_bit_for_bit() {
    let (mut checked, mut wrong) = (0, Vec::new());
    for line in RECORDED.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split(' ').collect();
        let (got, want) = match fields.as_slice() {
            [name, x, want] => match one(name) {
                Some(f) => (f(parse(x)), parse(want)),
                None => continue, // abs, ceil, … are Rust's own and exact
            },
            [name, x, y, want] => {
                let (x, y) = (parse(x), parse(y));
                let got = match *name {
                    "pow" => pow(x, y),
                    "atan2" => atan2(x, y),
                    "mod" => x % y,
                    other => panic!("unknown operator {other}"),
                };
                (got, parse(want))
            }
            _ => panic!("malformed line {line:?}"),
        };
        checked += 1;
        let same = got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
        if !same {
            wrong.push(format!("{line}: got {got:e}"));
        }
    }
    assert!(checked > 8_000, "only {checked} answers read");
    assert!(
        wrong.is_empty(),
        "{} of {checked} differ from Prometheus:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(10)].join("\n")
    );
}
