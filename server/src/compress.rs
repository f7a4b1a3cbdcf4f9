//! gzip for responses, as Prometheus' API does: a client that sends
//! `Accept-Encoding: gzip` gets JSON, text and UI files compressed. For
//! 1 s data the JSON is the cost of a chart, not the drawing; gzip cuts
//! it about sevenfold. Small bodies and already-encoded ones pass as they are.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt as _;
use std::io::Write as _;

/// Bodies smaller than this are not worth a gzip header.
const MIN_BYTES: usize = 1024;

fn accepts_gzip(request: &Request) -> bool {
    request.headers().get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',').any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused =
                parts.any(|p| p.trim().strip_prefix("q=").is_some_and(|q| q.trim().parse::<f32>() == Ok(0.0)));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

fn compressible(response: &Response) -> bool {
    if response.headers().contains_key(header::CONTENT_ENCODING) {
        return false;
    }
    let kind = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    kind.starts_with("application/json") || kind.starts_with("text/")
}

pub(crate) async fn gzip(request: Request, next: Next) -> Response {
    let wanted = accepts_gzip(&request);
    let response = next.run(request).await;
    if !wanted || !compressible(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "reading a response body to compress it");
            return Response::from_parts(parts, Body::empty());
        }
    };
    parts.headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if bytes.len() < MIN_BYTES {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::new(5));
    let compressed = encoder.write_all(&bytes).and_then(|()| encoder.finish());
    match compressed {
        Ok(gz) => {
            parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(gz))
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(accept: Option<&str>) -> Request {
        let mut r = Request::new(Body::empty());
        if let Some(a) = accept {
            r.headers_mut().insert(header::ACCEPT_ENCODING, HeaderValue::from_str(a).expect("header"));
        }
        r
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        assert!(accepts_gzip(&request(Some("gzip, deflate, br"))));
        assert!(accepts_gzip(&request(Some("br;q=1.0, gzip;q=0.8"))));
        assert!(accepts_gzip(&request(Some("*"))));
        assert!(!accepts_gzip(&request(Some("gzip;q=0"))));
        assert!(!accepts_gzip(&request(Some("deflate, br"))));
        assert!(!accepts_gzip(&request(None)));
    }
}
