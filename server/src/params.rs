//! Request parameters as Prometheus' API takes them: from the query string
//! and, for POST, from an `application/x-www-form-urlencoded` body, with
//! repeated keys (`match[]`) kept in order; and the time, duration and
//! matcher values they hold, parsed with errors that name the parameter.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method};

use super::body::{read_limited, BodyLimits};
use super::error::ApiError;
use crate::Matcher;
use pulsedb_formats::timefmt::{parse_duration_ms, parse_time_ms};

/// Parameters of one request.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Reads the query string and, for a form POST, the body (at most `limit` bytes).
    pub(crate) async fn read(
        method: &Method,
        headers: &HeaderMap,
        query: Option<&str>,
        body: Body,
        limits: BodyLimits,
    ) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = query
            .map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if method == Method::POST && is_form {
            let bytes = read_limited(headers, body, limits).await?;
            pairs.extend(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        Ok(Self(pairs))
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    pub(crate) fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A required parameter.
    pub(crate) fn required(&self, key: &str) -> Result<&str, ApiError> {
        self.get(key).ok_or_else(|| ApiError::bad_data(format!("missing parameter {key:?}")))
    }

    /// A time: RFC 3339 or Unix seconds; `default` when absent.
    pub(crate) fn time_or(&self, key: &str, default: i64) -> Result<i64, ApiError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_time_ms(v).map_err(|e| ApiError::bad_data(format!("invalid parameter {key:?}: {e}"))),
        }
    }

    /// A required time.
    pub(crate) fn time(&self, key: &str) -> Result<i64, ApiError> {
        let v = self.required(key)?;
        parse_time_ms(v).map_err(|e| ApiError::bad_data(format!("invalid parameter {key:?}: {e}")))
    }

    /// A required duration: `15s`, `1m` or float seconds.
    pub(crate) fn duration(&self, key: &str) -> Result<i64, ApiError> {
        let v = self.required(key)?;
        parse_duration_ms(v).map_err(|e| ApiError::bad_data(format!("invalid parameter {key:?}: {e}")))
    }

    /// Every `match[]` selector, parsed.
    pub(crate) fn match_sets(&self) -> Result<Vec<Vec<Matcher>>, ApiError> {
        self.all("match[]")
            .map(|s| {
                pulsedb::parse_matchers(s)
                    .map_err(|e| ApiError::bad_data(format!("invalid parameter \"match[]\": {e}")))
            })
            .collect()
    }
}
