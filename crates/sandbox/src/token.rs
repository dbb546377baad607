//! The token endpoint, `POST /oauth2/token`: `client_credentials` and `refresh_token` grants,
//! client authentication by body fields or HTTP Basic, rotation of refresh tokens, and the
//! errors of Mashery's "OAuth Generated Errors" page.

use crate::faults::FaultTarget;
use crate::form::{self, Form, FormError};
use crate::platform::{AppStatus, LiveRefresh};
use crate::provider::body_over_limit;
use crate::provider::{Provider, later};
use crate::quota::{CallKind, Denial};
use crate::respond::{self, ERROR_CODE, oauth_error};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;
use std::collections::HashMap;
use std::time::SystemTime;

/// The parameters of a token request; each may appear at most once (RFC 6749 3.2).
const PARAMETERS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "refresh_token",
    "scope",
];

/// Base64 as in Basic credentials, with or without padding.
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An access token the provider issued.
#[derive(Debug, Clone)]
pub(crate) struct AccessEntry {
    pub(crate) app: usize,
    pub(crate) expires_at: SystemTime,
}

/// Every access token still known. Old tokens stay valid until they expire; expired ones are
/// pruned from time to time so memory stays bounded.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenStore {
    access: HashMap<String, AccessEntry>,
    prune_at: usize,
}

impl TokenStore {
    fn insert(&mut self, now: SystemTime, token: String, entry: AccessEntry) {
        if self.access.len() >= self.prune_at {
            self.access.retain(|_, e| e.expires_at > now);
            self.prune_at = (self.access.len() * 2).max(1024);
        }
        self.access.insert(token, entry);
    }

    /// The application of a token that is valid at `now`.
    pub(crate) fn valid(&self, now: SystemTime, token: &str) -> Option<usize> {
        self.access
            .get(token)
            .filter(|e| now < e.expires_at)
            .map(|e| e.app)
    }

    pub(crate) fn remove(&mut self, token: &str) -> bool {
        self.access.remove(token).is_some()
    }

    fn contains(&self, token: &str) -> bool {
        self.access.contains_key(token)
    }
}

/// The success body, fields in the guide's order.
#[derive(Serialize)]
struct Issued<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
}

pub(crate) fn handle(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    provider.totals.token_requests += 1;
    let form = Form::parse(request.body());
    let grants = &mut provider.totals.by_grant;
    match form.as_ref().ok().and_then(|f| f.get("grant_type")) {
        Some("client_credentials") => grants.client_credentials += 1,
        Some("refresh_token") => grants.refresh_token += 1,
        _ => grants.other += 1,
    }
    provider.through_gateway(now, FaultTarget::Token, request, |provider| {
        answer(provider, now, request, form)
    })
}

/// The answer, and the application it is attributed to (for the quota headers).
fn answer(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
    form: Result<Form, FormError>,
) -> (Option<usize>, Response<Vec<u8>>) {
    if request.method() != Method::POST {
        let mut response = oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            Some("The token endpoint accepts only POST"),
        );
        respond::set(&mut response, ALLOW, "POST");
        return (None, response);
    }
    if body_over_limit(request, provider.config.max_body_bytes) {
        let description = format!(
            "The request body is larger than {} bytes",
            provider.config.max_body_bytes
        );
        let response = oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            Some(&description),
        );
        return (None, response);
    }
    if !is_form(request) {
        return (
            None,
            bad_request("The request body must be application/x-www-form-urlencoded"),
        );
    }
    let form = match form {
        Ok(form) => form,
        Err(error) => return (None, bad_request(&error.to_string())),
    };
    if let Some(name) = form.duplicated(PARAMETERS) {
        return (
            None,
            bad_request(&format!("The parameter {name} is given more than once")),
        );
    }
    let realm = provider.realm(request);
    let credentials = match client_credentials(request, &form, &realm) {
        Ok(credentials) => credentials,
        Err(response) => return (None, *response),
    };
    let Some(index) = provider.platform.by_client_id(&credentials.id) else {
        return (None, invalid_client(&realm, "ERR_403_NOT_AUTHORIZED"));
    };
    let app = &mut provider.platform.apps[index];
    let secret_ok = match (&app.keys, &credentials.secret) {
        (Some(keys), Some(secret)) => keys.client_secret == *secret,
        _ => false,
    };
    if !secret_ok {
        return (None, invalid_client(&realm, "ERR_403_NOT_AUTHORIZED"));
    }
    app.counters.token_requests += 1;
    if app.status != AppStatus::Active {
        return (None, invalid_client(&realm, "ERR_403_DEVELOPER_INACTIVE"));
    }
    if let Err(denial) = app.usage.admit(now, &provider.config.plan, CallKind::Token) {
        return (
            Some(index),
            deny(&mut provider.platform.apps[index].counters, denial),
        );
    }
    let response = match form.get("grant_type") {
        None => bad_request("The grant_type parameter is required"),
        Some("client_credentials") => issue(provider, now, index),
        Some("refresh_token") => match form.get("refresh_token") {
            None => bad_request("The refresh_token parameter is required"),
            Some(given) => {
                let live = provider.platform.apps[index]
                    .refresh
                    .as_ref()
                    .is_some_and(|r| r.token == given && now < r.expires_at);
                if live {
                    issue(provider, now, index)
                } else {
                    respond::invalid_grant()
                }
            }
        },
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            Some("Supported grant types are client_credentials and refresh_token"),
        ),
    };
    (Some(index), response)
}

pub(crate) fn deny(
    counters: &mut crate::platform::AppCounters,
    denial: Denial,
) -> Response<Vec<u8>> {
    match denial {
        Denial::OverRate => {
            counters.denied_over_rate += 1;
            respond::over_rate()
        }
        Denial::OverQps => {
            counters.denied_over_qps += 1;
            respond::over_qps(Some(1))
        }
    }
}

/// Issues a new access token and a new refresh token; the previous refresh token dies.
fn issue(provider: &mut Provider, now: SystemTime, index: usize) -> Response<Vec<u8>> {
    let access = loop {
        let token = provider.keygen.token();
        if !provider.tokens.contains(&token) {
            break token;
        }
    };
    let refresh = provider.keygen.token();
    let ttl = provider.config.token_ttl;
    provider.tokens.insert(
        now,
        access.clone(),
        AccessEntry {
            app: index,
            expires_at: later(now, ttl),
        },
    );
    let app = &mut provider.platform.apps[index];
    app.refresh = Some(LiveRefresh {
        token: refresh.clone(),
        expires_at: later(now, provider.config.refresh_token_ttl),
    });
    app.current_access = Some(access.clone());
    app.counters.tokens_issued += 1;
    provider.totals.tokens_issued += 1;
    let mut response = respond::json(
        StatusCode::OK,
        &Issued {
            access_token: &access,
            token_type: "bearer",
            expires_in: ttl.as_secs(),
            refresh_token: &refresh,
        },
    );
    respond::no_store(&mut response);
    response
}

fn is_form(request: &Request<Vec<u8>>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn bad_request(description: &str) -> Response<Vec<u8>> {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        Some(description),
    )
}

/// 401 `invalid_client` with a Basic challenge, as Mashery sends it (no description).
fn invalid_client(realm: &str, code: &str) -> Response<Vec<u8>> {
    let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", None);
    respond::set(
        &mut response,
        WWW_AUTHENTICATE,
        &format!("Basic realm=\"{realm}\""),
    );
    respond::set(&mut response, ERROR_CODE, code);
    response
}

struct Credentials {
    id: String,
    secret: Option<String>,
}

/// The client's id and secret, from the `Authorization: Basic` header or the body; both
/// methods at once is `invalid_request` (RFC 6749 2.3.1).
fn client_credentials(
    request: &Request<Vec<u8>>,
    form: &Form,
    realm: &str,
) -> Result<Credentials, Box<Response<Vec<u8>>>> {
    let mut headers = request.headers().get_all(AUTHORIZATION).iter();
    let basic = match (headers.next(), headers.next()) {
        (None, _) => None,
        (Some(value), None) => Some(
            value
                .to_str()
                .ok()
                .and_then(parse_basic)
                .ok_or_else(|| Box::new(invalid_client(realm, "ERR_403_NOT_AUTHORIZED")))?,
        ),
        (Some(_), Some(_)) => {
            return Err(Box::new(bad_request(
                "Only one Authorization header is allowed",
            )));
        }
    };
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    match basic {
        Some(_) if body_secret.is_some() => Err(Box::new(bad_request(
            "Use one client authentication method: the Authorization header or the client_id and client_secret parameters, not both",
        ))),
        Some((id, _)) if body_id.is_some_and(|b| b != id) => {
            Err(Box::new(invalid_client(realm, "ERR_403_NOT_AUTHORIZED")))
        }
        Some((id, secret)) => Ok(Credentials {
            id,
            secret: Some(secret),
        }),
        None => match body_id {
            Some(id) => Ok(Credentials {
                id: id.to_owned(),
                secret: body_secret.map(str::to_owned),
            }),
            None => {
                let mut response = oauth_error(StatusCode::BAD_REQUEST, "invalid_request", None);
                respond::set(&mut response, ERROR_CODE, "ERR_403_NOT_AUTHORIZED");
                Err(Box::new(response))
            }
        },
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 2.3.1); the scheme is
/// case-insensitive here (RFC 7235).
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASIC_BASE64.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = form::decode(id).ok()?;
    let secret = form::decode(secret).ok()?;
    (!id.is_empty()).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials() {
        // "ysszm2yk7gp5r9ernuaurgcc:w9t7t48g7H"
        let value = "Basic eXNzem0yeWs3Z3A1cjllcm51YXVyZ2NjOnc5dDd0NDhnN0g=";
        assert_eq!(
            parse_basic(value),
            Some(("ysszm2yk7gp5r9ernuaurgcc".into(), "w9t7t48g7H".into()))
        );
        assert_eq!(
            parse_basic("basic eXNzem0yeWs3Z3A1cjllcm51YXVyZ2NjOnc5dDd0NDhnN0g"),
            Some(("ysszm2yk7gp5r9ernuaurgcc".into(), "w9t7t48g7H".into()))
        );
        // "a%3Ab:c+d" form-decodes to "a:b" / "c d".
        assert_eq!(
            parse_basic("Basic YSUzQWI6Yytk"),
            Some(("a:b".into(), "c d".into()))
        );
        assert_eq!(parse_basic("Bearer abc"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic"), None);
        // "nocolon"
        assert_eq!(parse_basic("Basic bm9jb2xvbg=="), None);
    }
}
