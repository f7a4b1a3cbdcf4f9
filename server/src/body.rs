//! Reading request bodies within the configured size limit (checked against
//! `Content-Length` first, then while streaming), and undoing `gzip`
//! content encoding within the same limit.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;

/// The whole body, or 413 if it is longer than `limit` bytes.
pub(crate) async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared {
        if len > limit as u64 {
            return Err(too_large(limit));
        }
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(e) => Err(ApiError::bad_data(format!("reading the request body failed: {e}"))),
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::too_large(format!("request body is larger than the limit of {limit} bytes (see --max-body-bytes)"))
}

/// `body` with its `Content-Encoding` (identity or gzip) undone, at most `limit` bytes.
pub(crate) fn decode_content(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "" | "identity" => Ok(body),
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let mut decoder = flate2::read::GzDecoder::new(body.as_ref()).take(limit as u64 + 1);
            decoder.read_to_end(&mut out).map_err(|e| ApiError::bad_data(format!("bad gzip body: {e}")))?;
            if out.len() > limit {
                return Err(ApiError::too_large(format!(
                    "gzip body decompresses to more than the limit of {limit} bytes (see --max-body-bytes)"
                )));
            }
            Ok(out.into())
        }
        other => Err(ApiError::bad_data(format!("unsupported Content-Encoding {other:?}: use gzip or none"))),
    }
}
