//! Errors as HTTP responses: the Prometheus API's JSON error object on
//! `/api/v1/*`, InfluxDB's shapes on its write endpoints, with the status
//! code each kind of failure gets.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::{Error, QueryError};

/// Which API's error body to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Prometheus,
    InfluxV1,
    InfluxV2,
}

#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    /// Prometheus' `errorType`: `bad_data`, `execution`, `timeout`, `internal`, `unavailable`.
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) dialect: Dialect,
}

impl ApiError {
    pub(crate) fn bad_data(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "bad_data",
            message: message.into(),
            dialect: Dialect::Prometheus,
        }
    }

    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self { status: StatusCode::PAYLOAD_TOO_LARGE, ..Self::bad_data(message) }
    }

    /// 408: the client did not send its request in time.
    pub(crate) fn timed_out(message: impl Into<String>) -> Self {
        Self { status: StatusCode::REQUEST_TIMEOUT, kind: "bad_data", ..Self::bad_data(message) }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self { status: StatusCode::INTERNAL_SERVER_ERROR, kind: "internal", ..Self::bad_data(message) }
    }

    pub(crate) fn in_dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// A storage error from a write or a read: the client's fault (4xx) or ours (5xx).
    pub(crate) fn from_storage(e: &Error) -> Self {
        match e {
            Error::InvalidSeries { .. }
            | Error::OutOfOrder { .. }
            | Error::OutOfBounds { .. }
            | Error::TooFarInFuture { .. }
            | Error::Model(_)
            | Error::SeriesLimit { .. } => Self::bad_data(e.to_string()),
            // A rate, not a hard limit: the same write succeeds once older
            // series age out of the minute, so tell the client to retry.
            Error::SeriesRateLimit { .. } => {
                Self { status: StatusCode::TOO_MANY_REQUESTS, kind: "unavailable", ..Self::bad_data(e.to_string()) }
            }
            Error::Closed | Error::Poisoned(_) => {
                Self { status: StatusCode::SERVICE_UNAVAILABLE, kind: "unavailable", ..Self::bad_data(e.to_string()) }
            }
            _ => Self::internal(e.to_string()),
        }
    }

    pub(crate) fn from_query(e: &QueryError) -> Self {
        let message = e.to_string();
        match e {
            QueryError::Parse { .. } | QueryError::BadParameters(_) => Self::bad_data(message),
            QueryError::Execution(_) | QueryError::TooManySamples { .. } => {
                Self { status: StatusCode::UNPROCESSABLE_ENTITY, kind: "execution", ..Self::bad_data(message) }
            }
            QueryError::Timeout { .. } => {
                Self { status: StatusCode::SERVICE_UNAVAILABLE, kind: "timeout", ..Self::bad_data(message) }
            }
            QueryError::Storage(s) => match s.downcast_ref::<Error>() {
                Some(e) => Self::from_storage(e),
                None => Self::internal(message),
            },
            _ => Self::internal(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, "{}", self.message);
        } else {
            tracing::debug!(status = %self.status, "{}", self.message);
        }
        let body = match self.dialect {
            Dialect::Prometheus => pulsedb_formats::api::error(self.kind, &self.message),
            Dialect::InfluxV1 => json!({ "error": self.message }),
            Dialect::InfluxV2 => json!({
                "code": if self.status.is_server_error() { "internal error" } else { "invalid" },
                "message": self.message,
            }),
        };
        (self.status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    }
}
