//! The developer platform's routes (`/platform/…`): registration, applications, keys.
//!
//! A developer registers and gets a developer key; the key goes in the `X-Developer-Key` header
//! of the other routes.

use crate::error::ProviderError;
use crate::platform::{AppStatus, NewApplication, PlanLimits};
use crate::provider::Provider;
use crate::provider::body_over_limit;
use crate::respond::{self, platform_error};
use http::header::{ALLOW, HeaderName};
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::SystemTime;

/// Header carrying the developer key.
pub const DEVELOPER_KEY: HeaderName = HeaderName::from_static("x-developer-key");

/// The JSON body of a request, or the 400 answer for a bad one. An empty body is `{}`.
pub(crate) fn json_body<T: DeserializeOwned>(
    request: &Request<Vec<u8>>,
    max: usize,
) -> Result<T, Box<Response<Vec<u8>>>> {
    if body_over_limit(request, max) {
        return Err(Box::new(platform_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            &format!("The request body is larger than {max} bytes"),
        )));
    }
    let body: &[u8] = if request.body().iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        request.body()
    };
    serde_json::from_slice(body).map_err(|e| {
        Box::new(platform_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("The body is not the expected JSON object: {e}"),
        ))
    })
}

/// The status and error code of a refused platform operation.
pub(crate) fn refusal(error: &ProviderError) -> (StatusCode, &'static str) {
    match error {
        ProviderError::UnknownApplication(_) => (StatusCode::NOT_FOUND, "not_found"),
        ProviderError::DuplicateClientId(_) | ProviderError::UsernameTaken(_) => {
            (StatusCode::CONFLICT, "conflict")
        }
        ProviderError::InvalidTransition { .. } => (StatusCode::CONFLICT, "invalid_transition"),
        ProviderError::Invalid { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
    }
}

/// The answer for a refused platform operation.
pub(crate) fn refused(error: &ProviderError) -> Response<Vec<u8>> {
    let (status, code) = refusal(error);
    platform_error(status, code, &error.to_string())
}

pub(crate) fn method_not_allowed(allow: &str) -> Response<Vec<u8>> {
    let mut response = platform_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("This route accepts {allow}"),
    );
    respond::set(&mut response, ALLOW, allow);
    response
}

pub(crate) fn not_found() -> Response<Vec<u8>> {
    platform_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such route; see the routes in the crate README or `bearer-sandbox --help`",
    )
}

/// The path's segments after `prefix`, without empty ones.
pub(crate) fn segments<'a>(path: &'a str, prefix: &str) -> Vec<&'a str> {
    path.strip_prefix(prefix)
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

#[derive(Deserialize)]
struct Registration {
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
}

pub(crate) fn handle(
    provider: &mut Provider,
    _now: SystemTime,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let segments = segments(request.uri().path(), "/platform");
    let method = request.method();
    let max = provider.config.max_body_bytes;
    match segments.as_slice() {
        ["developers"] => {
            if method != Method::POST {
                return method_not_allowed("POST");
            }
            let registration: Registration = match json_body(request, max) {
                Ok(r) => r,
                Err(response) => return *response,
            };
            let platform = &mut provider.platform;
            match platform.register_developer(
                &registration.username,
                &registration.email,
                &mut provider.keygen,
            ) {
                Ok(index) => {
                    let developer = &platform.developers[index];
                    respond::json(
                        StatusCode::CREATED,
                        &serde_json::json!({
                            "id": developer.id,
                            "username": developer.username,
                            "email": developer.email,
                            "developer_key": developer.key,
                        }),
                    )
                }
                Err(error) => refused(&error),
            }
        }
        ["applications", rest @ ..] => {
            let developer = request
                .headers()
                .get(DEVELOPER_KEY)
                .and_then(|v| v.to_str().ok())
                .and_then(|key| provider.platform.developer_by_key(key));
            let Some(developer) = developer else {
                return platform_error(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Send the X-Developer-Key header with the key from POST /platform/developers",
                );
            };
            applications(provider, developer, method, rest, request)
        }
        _ => not_found(),
    }
}

fn applications(
    provider: &mut Provider,
    developer: usize,
    method: &Method,
    rest: &[&str],
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let platform = &mut provider.platform;
    // The developer's own application with this id.
    let own = |id: &str| {
        platform
            .apps
            .iter()
            .position(|a| a.id == id && a.developer == Some(developer))
    };
    match rest {
        [] if method == Method::POST => {
            let new: NewApplication = match json_body(request, provider.config.max_body_bytes) {
                Ok(new) => new,
                Err(response) => return *response,
            };
            match platform.create_application(Some(developer), &new) {
                Ok(index) => respond::json(StatusCode::CREATED, &platform.info(index, false)),
                Err(error) => refused(&error),
            }
        }
        [] if method == Method::GET => {
            let list: Vec<_> = (0..platform.apps.len())
                .filter(|&i| platform.apps[i].developer == Some(developer))
                .map(|i| platform.info(i, false))
                .collect();
            respond::json(StatusCode::OK, &serde_json::json!({ "applications": list }))
        }
        [] => method_not_allowed("GET, POST"),
        [id] | [id, "keys"] if method != Method::GET => {
            let _ = id;
            method_not_allowed("GET")
        }
        [id] => match own(id) {
            Some(index) => respond::json(StatusCode::OK, &platform.info(index, false)),
            None => unknown_app(id),
        },
        [id, "keys"] => {
            let Some(index) = own(id) else {
                return unknown_app(id);
            };
            let app = &platform.apps[index];
            match (&app.keys, app.status) {
                (Some(keys), AppStatus::Active) => {
                    let plan = provider.config.plan;
                    respond::json(
                        StatusCode::OK,
                        &serde_json::json!({
                            "application_id": app.id,
                            "status": app.status,
                            "client_id": keys.client_id,
                            "client_secret": keys.client_secret,
                            "plan": plan_json(&plan),
                        }),
                    )
                }
                _ => respond::json(
                    StatusCode::CONFLICT,
                    &serde_json::json!({
                        "error": "not_active",
                        "error_description": format!(
                            "The application is {}; keys are shown once the platform team has approved it",
                            app.status
                        ),
                        "status": app.status,
                    }),
                ),
            }
        }
        _ => not_found(),
    }
}

/// The plan as the platform shows it.
pub(crate) fn plan_json(plan: &PlanLimits) -> serde_json::Value {
    serde_json::json!({
        "calls_per_day": plan.calls_per_day,
        "auth_requests_per_day": PlanLimits::AUTH_REQUESTS_PER_DAY,
        "queries_per_second": plan.queries_per_second,
    })
}

fn unknown_app(id: &str) -> Response<Vec<u8>> {
    refused(&ProviderError::UnknownApplication(id.to_owned()))
}
