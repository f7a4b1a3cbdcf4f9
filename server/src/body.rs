//! Reading request bodies within the configured size limit (checked against
//! `Content-Length` first, then while streaming) and time limit (a sender
//! that stalls gets 408), and undoing `gzip` content encoding within the
//! same size limit.

use std::io::Read;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::error::ApiError;

/// How much of a body is read, for how long.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyLimits {
    pub(crate) max_bytes: usize,
    pub(crate) timeout: Duration,
}

/// The whole body; 413 if it is longer than the limit, 408 if it does not
/// arrive within the timeout.
pub(crate) async fn read_limited(headers: &HeaderMap, body: Body, limits: BodyLimits) -> Result<Bytes, ApiError> {
    let limit = limits.max_bytes;
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        drain(body, declared.unwrap_or(0)).await;
        return Err(too_large(limit));
    }
    let mut body = body;
    let read = async {
        let mut limited = Limited::new(&mut body, limit);
        let mut buf = Vec::new();
        while let Some(frame) = limited.frame().await {
            let frame = frame.map_err(|e| e.downcast_ref::<LengthLimitError>().is_some())?;
            if let Ok(data) = frame.into_data() {
                buf.extend_from_slice(&data);
            }
        }
        Ok::<_, bool>(Bytes::from(buf))
    };
    let Ok(collected) = tokio::time::timeout(limits.timeout, read).await else {
        return Err(ApiError::timed_out(format!(
            "the request body did not arrive within {:?} (see --body-read-timeout)",
            limits.timeout
        )));
    };
    match collected {
        Ok(bytes) => Ok(bytes),
        Err(true) => {
            drain(body, 0).await;
            Err(too_large(limit))
        }
        Err(false) => Err(ApiError::bad_data("reading the request body failed (the connection broke)")),
    }
}

/// Reads and discards what is left of a refused body — at most
/// [`DRAIN_MAX_BYTES`], for at most [`DRAIN_TIME`] — so the connection can
/// close without unread bytes in its receive buffer: closing with them makes
/// the kernel send a reset, which can destroy the 413 before the client
/// reads it. A body declared larger than that is not waited for.
async fn drain(mut body: Body, declared: u64) {
    if declared > DRAIN_MAX_BYTES {
        return;
    }
    let discard = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DRAIN_MAX_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

/// How much of a refused body is read and thrown away, and for how long.
const DRAIN_MAX_BYTES: u64 = 16 << 20;
const DRAIN_TIME: Duration = Duration::from_millis(500);

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
