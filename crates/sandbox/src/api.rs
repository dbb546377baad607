//! The protected API, `GET /v1/searchoauth?query=…`: a deterministic search over a small
//! built-in corpus of regulatory documents, behind the gateway's bearer-token check, quota and
//! QPS limits.

use crate::faults::FaultTarget;
use crate::form;
use crate::platform::AppStatus;
use crate::provider::Provider;
use crate::provider::body_over_limit;
use crate::quota::CallKind;
use crate::respond;
use http::header::{ALLOW, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;
use std::time::SystemTime;

/// One document of the built-in corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Stable id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// Issuing agency.
    pub agency: &'static str,
    /// Publication date (ISO 8601).
    pub published: &'static str,
    /// One-sentence summary.
    pub summary: &'static str,
}

/// The corpus the API searches.
pub const CORPUS: &[Document] = &[
    Document {
        id: "doc-001",
        title: "Customer Due Diligence Requirements for Financial Institutions",
        agency: "FinCEN",
        published: "2016-05-11",
        summary: "Banks must identify and verify the beneficial owners of legal entity customers.",
    },
    Document {
        id: "doc-002",
        title: "Privacy of Consumer Financial Information (Regulation P)",
        agency: "CFPB",
        published: "2014-10-28",
        summary: "Annual privacy notice delivery may use an alternative method under conditions.",
    },
    Document {
        id: "doc-003",
        title: "Cybersecurity Requirements for Financial Services Companies",
        agency: "NYDFS",
        published: "2017-03-01",
        summary: "Covered entities must maintain a cybersecurity program and report events within 72 hours.",
    },
    Document {
        id: "doc-004",
        title: "Climate-Related Disclosures for Investors",
        agency: "SEC",
        published: "2024-03-06",
        summary: "Registrants disclose material climate-related risks and greenhouse gas emissions.",
    },
    Document {
        id: "doc-005",
        title: "Interagency Guidance on Third-Party Relationships: Risk Management",
        agency: "FDIC",
        published: "2023-06-09",
        summary: "Banking organizations manage the risks of third-party relationships across their life cycle.",
    },
    Document {
        id: "doc-006",
        title: "Amendments to the Anti-Money Laundering Program Rule",
        agency: "FinCEN",
        published: "2024-07-03",
        summary: "Financial institutions establish effective, risk-based anti-money laundering programs.",
    },
    Document {
        id: "doc-007",
        title: "Electronic Fund Transfers (Regulation E) Error Resolution",
        agency: "CFPB",
        published: "2021-12-13",
        summary: "Consumers' rights to dispute errors in electronic fund transfers, including peer-to-peer payments.",
    },
    Document {
        id: "doc-008",
        title: "Cyber Incident Notification Requirements for Banking Organizations",
        agency: "OCC",
        published: "2021-11-23",
        summary: "Banks notify their primary regulator of significant computer-security incidents within 36 hours.",
    },
];

/// Documents matching every word of `query` (case-insensitive, in title, agency or summary),
/// in corpus order.
pub fn search(query: &str) -> Vec<&'static Document> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    CORPUS
        .iter()
        .filter(|doc| {
            let text = format!("{} {} {}", doc.title, doc.agency, doc.summary).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect()
}

#[derive(Serialize)]
struct Results<'a> {
    query: &'a str,
    count: usize,
    documents: Vec<&'static Document>,
}

pub(crate) fn handle(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    provider.totals.api_calls += 1;
    provider.through_gateway(now, FaultTarget::Api, request, |provider| {
        answer(provider, now, request)
    })
}

fn answer(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
) -> (Option<usize>, Response<Vec<u8>>) {
    if request.method() != Method::GET {
        let mut response = respond::platform_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This API accepts only GET",
        );
        respond::set(&mut response, ALLOW, "GET");
        return (None, response);
    }
    if body_over_limit(request, provider.config.max_body_bytes) {
        let response = respond::platform_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large",
        );
        return (None, response);
    }
    let realm = provider.realm(request);
    let mut headers = request.headers().get_all(AUTHORIZATION).iter();
    let value = match (headers.next(), headers.next()) {
        (None, _) => return (None, no_token(&realm)),
        (Some(value), None) => value,
        (Some(_), Some(_)) => {
            return (
                None,
                invalid_request(&realm, "Send exactly one Authorization header"),
            );
        }
    };
    // The scheme is case-sensitive at the gateway: exactly `Bearer`.
    let token = match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
        Some(token) if is_b64token(token) => token,
        _ => {
            return (
                None,
                invalid_request(
                    &realm,
                    "The Authorization header must be `Bearer <access token>`",
                ),
            );
        }
    };
    let Some(index) = provider.tokens.valid(now, token) else {
        return (None, invalid_token(&realm));
    };
    let app = &mut provider.platform.apps[index];
    app.counters.api_calls += 1;
    if app.status != AppStatus::Active {
        return (None, respond::developer_inactive());
    }
    if let Err(denial) = app.usage.admit(now, &provider.config.plan, CallKind::Api) {
        return (Some(index), crate::token::deny(&mut app.counters, denial));
    }
    (Some(index), results(request))
}

/// The API's own answer, once the gateway let the call through.
fn results(request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    let pairs = match form::parse(request.uri().query().unwrap_or("").as_bytes()) {
        Ok(pairs) => pairs,
        Err(_) => {
            return respond::platform_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "The query string is not valid URL encoding",
            );
        }
    };
    let query = pairs
        .iter()
        .find(|(name, value)| name == "query" && !value.trim().is_empty())
        .map(|(_, value)| value.as_str());
    let Some(query) = query else {
        return respond::platform_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The query parameter is required",
        );
    };
    let documents = search(query);
    respond::json(
        StatusCode::OK,
        &Results {
            query,
            count: documents.len(),
            documents,
        },
    )
}

/// RFC 6750 2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fn challenge(status: StatusCode, challenge: &str, code: &str, detail: &str) -> Response<Vec<u8>> {
    let mut response = respond::gateway_page(status, code, Some(detail), detail);
    respond::set(&mut response, WWW_AUTHENTICATE, challenge);
    response
}

/// No credentials: 401 with a bare challenge, no error code (RFC 6750 3.1).
fn no_token(realm: &str) -> Response<Vec<u8>> {
    challenge(
        StatusCode::UNAUTHORIZED,
        &format!("Bearer realm=\"{realm}\""),
        "ERR_403_NOT_AUTHORIZED",
        "Not Authorized",
    )
}

/// A malformed Authorization header: 400 `invalid_request`.
fn invalid_request(realm: &str, description: &str) -> Response<Vec<u8>> {
    challenge(
        StatusCode::BAD_REQUEST,
        &format!(
            "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{description}\""
        ),
        "ERR_403_NOT_AUTHORIZED",
        "Not Authorized",
    )
}

/// An unknown, expired or revoked token: 401 `invalid_token`.
pub(crate) fn invalid_token(realm: &str) -> Response<Vec<u8>> {
    challenge(
        StatusCode::UNAUTHORIZED,
        &format!(
            "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"The access token is invalid or has expired\""
        ),
        "ERR_401_INVALID_OR_EXPIRED_TOKEN",
        "Invalid Or Expired Token",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_is_deterministic_and_all_words_must_match() {
        let ids: Vec<_> = search("cyber").iter().map(|d| d.id).collect();
        assert_eq!(ids, ["doc-003", "doc-008"]);
        let ids: Vec<_> = search("FINCEN money").iter().map(|d| d.id).collect();
        assert_eq!(ids, ["doc-006"]);
        assert!(search("nothing-matches-this").is_empty());
    }

    #[test]
    fn b64token() {
        assert!(is_b64token("66mrpvtv4mvs6bz728nbaqmc"));
        assert!(is_b64token("abc+/=="));
        assert!(!is_b64token(""));
        assert!(!is_b64token("=="));
        assert!(!is_b64token("a b"));
    }
}
