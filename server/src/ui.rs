//! The web UI's routes: `/` redirects to `/ui/`, and `/ui/<path>` serves
//! the files embedded by `pulsedb-ui` with an ETag (a matching
//! `If-None-Match` gets 304) and a Content-Security-Policy that lets pages
//! load only from this server: no inline script, no other origin.

use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

/// Only this server's own origin, for everything a page loads or connects to.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'";

pub(crate) async fn root() -> Redirect {
    Redirect::to("/ui/")
}

pub(crate) async fn index(request: Request) -> Response {
    serve("", &request)
}

pub(crate) async fn file(Path(path): Path<String>, request: Request) -> Response {
    serve(&path, &request)
}

fn serve(path: &str, request: &Request) -> Response {
    let Some(asset) = pulsedb_ui::asset(path) else {
        return (StatusCode::NOT_FOUND, format!("404 page not found: /ui/{path}\n")).into_response();
    };
    let etag = HeaderValue::from_str(&asset.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let fresh = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    let headers = [
        (header::ETAG, etag),
        // Revalidate every time: the ETag makes that a 304 until the binary changes.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, [(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The UI's autocomplete lists exactly the functions the engine has.
    #[test]
    fn the_ui_knows_every_function_and_no_other() {
        let json: serde_json::Value =
            serde_json::from_slice(pulsedb_ui::asset("functions.json").unwrap().bytes).unwrap();
        let mut ui: Vec<&str> =
            json["functions"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        let mut engine: Vec<&str> = pulsedb::query_function_names().collect();
        ui.sort_unstable();
        engine.sort_unstable();
        assert_eq!(ui, engine);
        for f in json["functions"].as_array().unwrap() {
            let (name, signature) = (f["name"].as_str().unwrap(), f["signature"].as_str().unwrap());
            assert!(signature.starts_with(&format!("{name}(")), "{signature}");
            assert!(!f["help"].as_str().unwrap().is_empty(), "{name} has help");
        }
    }
}
