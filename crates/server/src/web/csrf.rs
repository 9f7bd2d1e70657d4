//! Cross-site protection for every state-changing API request: it must carry
//! `X-Scanwire-Request: 1` (a custom header makes a browser send a CORS preflight, which
//! this server never grants, so another site's page cannot send it), and an `Origin`, when
//! present, must be this server's own. GET and HEAD change nothing and pass.

use super::WebError;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The header the page sends with every POST, PUT and DELETE.
pub(crate) const REQUEST_HEADER: &str = "x-scanwire-request";

pub(crate) async fn protect(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    match check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(why) => WebError::new(StatusCode::FORBIDDEN, "cross-site", why).into_response(),
    }
}

fn check(headers: &HeaderMap) -> Result<(), String> {
    let marked = headers
        .get(REQUEST_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1");
    if !marked {
        return Err(format!(
            "this request changes something and must come from Scanwire's own page: it needs the header {}: 1",
            "X-Scanwire-Request"
        ));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let origin = origin.to_str().unwrap_or("");
    let own = ["http://", "https://"]
        .iter()
        .any(|scheme| !host.is_empty() && origin.eq_ignore_ascii_case(&format!("{scheme}{host}")));
    if own {
        Ok(())
    } else {
        Err(format!(
            "this request came from another site ({origin}); only pages served by this server (http://{host}) may change anything"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn own_origin_with_the_header_passes() {
        assert!(check(&headers(&[(REQUEST_HEADER, "1"), ("host", "h:8090")])).is_ok());
        assert!(check(&headers(&[
            (REQUEST_HEADER, "1"),
            ("host", "h:8090"),
            ("origin", "http://h:8090")
        ]))
        .is_ok());
        assert!(check(&headers(&[
            (REQUEST_HEADER, "1"),
            ("host", "h:8090"),
            ("origin", "https://h:8090")
        ]))
        .is_ok());
    }

    #[test]
    fn missing_header_or_foreign_origin_is_refused() {
        assert!(check(&headers(&[("host", "h:8090")])).is_err());
        assert!(check(&headers(&[(REQUEST_HEADER, "yes"), ("host", "h:8090")])).is_err());
        let e = check(&headers(&[
            (REQUEST_HEADER, "1"),
            ("host", "h:8090"),
            ("origin", "http://evil.example"),
        ]))
        .unwrap_err();
        assert!(e.contains("evil.example"), "{e}");
        assert!(check(&headers(&[
            (REQUEST_HEADER, "1"),
            ("host", "h:8090"),
            ("origin", "http://h:8091")
        ]))
        .is_err());
        assert!(check(&headers(&[(REQUEST_HEADER, "1"), ("origin", "null")])).is_err());
    }
}
