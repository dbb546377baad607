//! Builders of the answers the provider sends: JSON, OAuth error bodies, and the gateway's
//! `<h1>…</h1>` pages (served as `text/xml`, as Mashery's default error set does).

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, PRAGMA, SERVER};
use http::{Response, StatusCode};
use serde::Serialize;

/// `X-Mashery-Error-Code`
pub const ERROR_CODE: HeaderName = HeaderName::from_static("x-mashery-error-code");
/// `X-Error-Detail-Header`
pub const ERROR_DETAIL: HeaderName = HeaderName::from_static("x-error-detail-header");
/// `X-Mashery-Responder`
pub const RESPONDER: HeaderName = HeaderName::from_static("x-mashery-responder");

/// The value of `X-Mashery-Responder` on gateway answers.
pub const RESPONDER_NAME: &str = "bearer-sandbox";

pub(crate) const JSON: &str = "application/json";
pub(crate) const XML: &str = "text/xml";

/// A response with a body and a content type.
pub(crate) fn with_body(
    status: StatusCode,
    content_type: &str,
    body: Vec<u8>,
) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    set(&mut response, CONTENT_TYPE, content_type);
    response
}

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Vec<u8>> {
    // Serializing plain data structs and `serde_json::Value` cannot fail.
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    with_body(status, JSON, body)
}

/// A JSON error body of the platform routes: `{"error": …, "error_description": …}`.
pub(crate) fn platform_error(
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response<Vec<u8>> {
    json(
        status,
        &serde_json::json!({ "error": error, "error_description": description }),
    )
}

/// An RFC 6749 5.2 error body with `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn oauth_error(
    status: StatusCode,
    error: &str,
    description: Option<&str>,
) -> Response<Vec<u8>> {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), error.into());
    if let Some(description) = description {
        body.insert("error_description".into(), description.into());
    }
    let mut response = json(status, &body);
    no_store(&mut response);
    response
}

/// Adds `Cache-Control: no-store` and `Pragma: no-cache`.
pub(crate) fn no_store(response: &mut Response<Vec<u8>>) {
    set(response, CACHE_CONTROL, "no-store");
    set(response, PRAGMA, "no-cache");
}

/// One of the gateway's error-set pages: `<h1>{title}</h1>` as `text/xml`, with its
/// `X-Mashery-Error-Code` and, when the catalogue has one, its `X-Error-Detail-Header`.
pub(crate) fn gateway_page(
    status: StatusCode,
    code: &str,
    detail: Option<&str>,
    title: &str,
) -> Response<Vec<u8>> {
    let mut response = with_body(status, XML, format!("<h1>{title}</h1>").into_bytes());
    set(&mut response, ERROR_CODE, code);
    if let Some(detail) = detail {
        set(&mut response, ERROR_DETAIL, detail);
    }
    response
}

/// `ERR_403_DEVELOPER_OVER_RATE`: the day's quota is spent.
pub(crate) fn over_rate() -> Response<Vec<u8>> {
    gateway_page(
        StatusCode::FORBIDDEN,
        "ERR_403_DEVELOPER_OVER_RATE",
        Some("Account Over Rate Limit"),
        "Developer Over Rate",
    )
}

/// `ERR_403_DEVELOPER_OVER_QPS`, with `Retry-After` when given (the gateway sends 1).
pub(crate) fn over_qps(retry_after: Option<u64>) -> Response<Vec<u8>> {
    let mut response = gateway_page(
        StatusCode::FORBIDDEN,
        "ERR_403_DEVELOPER_OVER_QPS",
        Some("Account Over Queries Per Second Limit"),
        "Developer Over Qps",
    );
    self::retry_after(&mut response, retry_after);
    response
}

/// Sets `Retry-After: N` (seconds) when given.
pub(crate) fn retry_after(response: &mut Response<Vec<u8>>, seconds: Option<u64>) {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
}

/// 400 `invalid_grant` "Invalid refresh token", as a Mashery-fronted token endpoint sends it.
pub(crate) fn invalid_grant() -> Response<Vec<u8>> {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        Some("Invalid refresh token"),
    )
}

/// `ERR_403_DEVELOPER_INACTIVE`: the application is not active.
pub(crate) fn developer_inactive() -> Response<Vec<u8>> {
    gateway_page(
        StatusCode::FORBIDDEN,
        "ERR_403_DEVELOPER_INACTIVE",
        Some("Account Inactive"),
        "Developer Inactive",
    )
}

/// The non-standard status 596 the gateway answers for a path no service is mapped to.
pub(crate) const SERVICE_NOT_FOUND: u16 = 596;

/// `ERR_596_SERVICE_NOT_FOUND`: no service at this path.
pub(crate) fn service_not_found() -> Response<Vec<u8>> {
    // 596 is within 100..=999, which `http` accepts.
    let status = StatusCode::from_u16(SERVICE_NOT_FOUND).unwrap_or(StatusCode::NOT_FOUND);
    gateway_page(
        status,
        "ERR_596_SERVICE_NOT_FOUND",
        None,
        "596 Service Not Found",
    )
}

/// Marks a response as the gateway's: `Server: Mashery Proxy` and `X-Mashery-Responder`.
pub(crate) fn from_gateway(response: &mut Response<Vec<u8>>) {
    set(response, SERVER, "Mashery Proxy");
    set(response, RESPONDER, RESPONDER_NAME);
}

/// Sets a header from a value known to be valid; an invalid one is skipped, never a panic.
pub(crate) fn set(response: &mut Response<Vec<u8>>, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_pages_have_the_captured_lengths() {
        assert_eq!(over_rate().body().len(), 28);
        assert_eq!(developer_inactive().body().len(), 27);
        assert_eq!(service_not_found().body().len(), 30);
        assert_eq!(service_not_found().status().as_u16(), 596);
        assert_eq!(over_qps(Some(1)).body(), b"<h1>Developer Over Qps</h1>");
    }
}
