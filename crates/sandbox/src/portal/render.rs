//! The portal's answers: HTML pages with their security headers, redirects, downloads and the
//! static assets.

use crate::respond;
use askama::Template;
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, HeaderName, LOCATION, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{Response, StatusCode};

/// What pages may load: only the portal's own script, style and API (no inline script).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const CSP_HEADER: HeaderName = HeaderName::from_static("content-security-policy");

fn guarded(response: &mut Response<Vec<u8>>) {
    respond::set(response, CSP_HEADER, CSP);
    respond::set(response, X_CONTENT_TYPE_OPTIONS, "nosniff");
    respond::set(response, X_FRAME_OPTIONS, "DENY");
    respond::set(response, REFERRER_POLICY, "same-origin");
    // Pages show keys and tokens: never kept in a cache.
    respond::set(response, CACHE_CONTROL, "no-store");
}

/// A page rendered from its template.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response<Vec<u8>> {
    let mut response = match template.render() {
        Ok(html) => respond::with_body(status, "text/html; charset=utf-8", html.into_bytes()),
        // The templates are compiled with the crate; rendering them cannot fail on data.
        Err(error) => respond::with_body(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("the page could not be rendered: {error}").into_bytes(),
        ),
    };
    guarded(&mut response);
    response
}

/// `303 See Other` to `location` (after a form is handled).
pub(crate) fn see_other(location: &str) -> Response<Vec<u8>> {
    let mut response = respond::with_body(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        format!("See {location}").into_bytes(),
    );
    respond::set(&mut response, LOCATION, location);
    guarded(&mut response);
    response
}

/// A file to save, named `filename`.
pub(crate) fn download(filename: &str, content_type: &str, body: String) -> Response<Vec<u8>> {
    let mut response = respond::with_body(StatusCode::OK, content_type, body.into_bytes());
    respond::set(
        &mut response,
        CONTENT_DISPOSITION,
        &format!("attachment; filename=\"{filename}\""),
    );
    guarded(&mut response);
    response
}

/// One of the portal's static files.
pub(crate) fn asset(content_type: &str, body: &'static str) -> Response<Vec<u8>> {
    let mut response = respond::with_body(StatusCode::OK, content_type, body.as_bytes().to_vec());
    respond::set(&mut response, X_CONTENT_TYPE_OPTIONS, "nosniff");
    respond::set(&mut response, CACHE_CONTROL, "no-cache");
    response
}
