//! Comparing two answers of Prometheus' query API, as the bench and the
//! tests that put pulsedb beside Prometheus do: the same series (by label
//! set, in any order) with the same points, values within 1e-9 relative
//! (sums may be added in another order), NaN equal to NaN.

use std::collections::BTreeMap;

use serde_json::Value as Json;

/// Points of an answer keyed by series labels: (seconds, value) pairs.
fn points(data: &Json) -> Result<BTreeMap<String, Vec<(f64, f64)>>, String> {
    let result = data["result"].as_array().ok_or("no result array")?;
    let mut out = BTreeMap::new();
    for series in result {
        let labels = series["metric"].as_object().ok_or("series without metric")?;
        let mut key: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        key.sort();
        let pairs: Vec<&Json> = match (series.get("values"), series.get("value")) {
            (Some(Json::Array(values)), _) => values.iter().collect(),
            (_, Some(value)) => vec![value],
            _ => return Err("series without values".into()),
        };
        let parsed = pairs
            .into_iter()
            .map(|p| {
                let t = p[0].as_f64().ok_or("bad timestamp")?;
                let v = p[1].as_str().ok_or("bad value")?;
                let v = crate::parse_float(v).ok_or("bad value")?;
                Ok((t, v))
            })
            .collect::<Result<Vec<_>, String>>()?;
        out.insert(key.join(","), parsed);
    }
    Ok(out)
}

/// Whether two answers are the same series with the same points (values
/// within 1e-9 relative: sums may be added in another order); if not, the
/// first difference.
pub fn compare(ours: &Json, theirs: &Json) -> Result<(), String> {
    if ours["resultType"] != theirs["resultType"] {
        return Err(format!("result types {} vs {}", ours["resultType"], theirs["resultType"]));
    }
    let (a, b) = (points(ours)?, points(theirs)?);
    if a.len() != b.len() {
        return Err(format!("{} series vs {}", a.len(), b.len()));
    }
    for ((ka, pa), (kb, pb)) in a.iter().zip(&b) {
        if ka != kb {
            return Err(format!("series {{{ka}}} vs {{{kb}}}"));
        }
        if pa.len() != pb.len() {
            return Err(format!("{{{ka}}}: {} points vs {}", pa.len(), pb.len()));
        }
        for (&(ta, va), &(tb, vb)) in pa.iter().zip(pb) {
            let same_value =
                (va.is_nan() && vb.is_nan()) || (va - vb).abs() <= 1e-9 * va.abs().max(vb.abs()).max(1e-300);
            if (ta - tb).abs() > 1e-6 || !same_value {
                return Err(format!("{{{ka}}} at {ta}: {va} vs {tb}: {vb}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn compare_finds_differences_and_tolerates_rounding() {
        let a = serde_json::json!({"resultType": "matrix", "result": [
            {"metric": {"host": "a"}, "values": [[1.0, "0.30000000000000004"], [2.0, "NaN"]]}]});
        let b = serde_json::json!({"resultType": "matrix", "result": [
            {"metric": {"host": "a"}, "values": [[1.0, "0.3"], [2.0, "NaN"]]}]});
        assert_eq!(compare(&a, &b), Ok(()));
        let c = serde_json::json!({"resultType": "matrix", "result": [
            {"metric": {"host": "a"}, "values": [[1.0, "0.31"], [2.0, "NaN"]]}]});
        assert!(compare(&a, &c).unwrap_err().contains("0.31"));
        let d = serde_json::json!({"resultType": "matrix", "result": []});
        assert!(compare(&a, &d).unwrap_err().contains("1 series vs 0"));
    }
}
