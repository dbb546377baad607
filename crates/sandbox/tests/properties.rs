//! Property tests on the pure provider: a refresh token is accepted at most once, the counters
//! equal the requests made, and no request makes it panic.

use bearer_sandbox::{AppKeys, Fault, FaultTarget, PlanLimits, Provider, ProviderConfig};
use http::{Request, Response};
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ADMIN: &str = "admin";

#[derive(Debug, Clone, Copy)]
enum Pick {
    Latest,
    Old(usize),
    Garbage,
}

#[derive(Debug, Clone)]
enum Op {
    ClientCredentials { app: usize, basic: bool },
    Refresh { app: usize, pick: Pick },
    Api { app: usize, pick: Pick },
    Advance(u64),
    Inject(u8),
    Arbitrary(Arbitrary),
}

#[derive(Debug, Clone)]
struct Arbitrary {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        4 => Just(Pick::Latest),
        2 => (0usize..8).prop_map(Pick::Old),
        1 => Just(Pick::Garbage),
    ]
}

fn arbitrary() -> impl Strategy<Value = Arbitrary> {
    let method = prop_oneof![
        Just("GET".to_owned()),
        Just("POST".to_owned()),
        Just("PUT".to_owned()),
        Just("DELETE".to_owned()),
        Just("HEAD".to_owned()),
        Just("PATCH".to_owned()),
        Just("BREW".to_owned()),
    ];
    let path = prop_oneof![
        Just("/oauth2/token".to_owned()),
        Just("/v1/searchoauth?query=cyber".to_owned()),
        Just("/v1/searchoauth?query=%ff%zz".to_owned()),
        Just("/platform/developers".to_owned()),
        Just("/platform/applications".to_owned()),
        Just("/platform/applications/app-1/keys".to_owned()),
        Just("/admin/applications".to_owned()),
        Just("/admin/applications/app-1/approve".to_owned()),
        Just("/admin/applications/app-2/disable".to_owned()),
        Just("/admin/faults".to_owned()),
        Just("/admin/clock/advance".to_owned()),
        Just("/admin/settings".to_owned()),
        Just("/admin/counters/reset".to_owned()),
        "/[a-z0-9/%?=&._-]{0,40}",
    ];
    let header_name = prop_oneof![
        Just("authorization".to_owned()),
        Just("content-type".to_owned()),
        Just("x-admin-key".to_owned()),
        Just("x-developer-key".to_owned()),
        Just("host".to_owned()),
        Just("content-length".to_owned()),
    ];
    let header_value = prop_oneof![
        Just(b"application/x-www-form-urlencoded".to_vec()),
        Just(b"application/json".to_vec()),
        Just(ADMIN.as_bytes().to_vec()),
        Just(b"Basic eXNzem0yeWs3Z3A1cjllcm51YXVyZ2NjOnc5dDd0NDhnN0g=".to_vec()),
        Just(b"Bearer ".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[a-z_=&%0-9A-F{}\":,]{0,120}".prop_map(String::into_bytes),
        Just(br#"{"kind":"connection_reset","count":3}"#.to_vec()),
        Just(br#"{"seconds":86400}"#.to_vec()),
        Just(br#"{"calls_per_day":5,"queries_per_second":1,"quota_headers":true,"token_ttl":0}"#.to_vec()),
        Just(b"client_id=ysszm2yk7gp5r9ernuaurgcc&client_secret=w9t7t48g7H&grant_type=client_credentials".to_vec()),
    ];
    (
        method,
        path,
        proptest::collection::vec((header_name, header_value), 0..4),
        body,
    )
        .prop_map(|(method, path, headers, body)| Arbitrary {
            method,
            path,
            headers,
            body,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..3, any::<bool>()).prop_map(|(app, basic)| Op::ClientCredentials { app, basic }),
        4 => (0usize..3, pick()).prop_map(|(app, pick)| Op::Refresh { app, pick }),
        6 => (0usize..3, pick()).prop_map(|(app, pick)| Op::Api { app, pick }),
        2 => prop_oneof![0u64..3, 0u64..4000, Just(86_400u64)].prop_map(Op::Advance),
        1 => (0u8..7).prop_map(Op::Inject),
        3 => arbitrary().prop_map(Op::Arbitrary),
    ]
}

fn form(keys: &AppKeys, basic: bool, rest: &str) -> Request<Vec<u8>> {
    use base64::Engine as _;
    let builder = Request::post("/oauth2/token")
        .header("host", "sandbox.test")
        .header("content-type", "application/x-www-form-urlencoded");
    if basic {
        let credentials = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", keys.client_id, keys.client_secret));
        builder
            .header("authorization", format!("Basic {credentials}"))
            .body(rest.as_bytes().to_vec())
            .unwrap()
    } else {
        builder
            .body(
                format!(
                    "client_id={}&client_secret={}&{rest}",
                    keys.client_id, keys.client_secret
                )
                .into_bytes(),
            )
            .unwrap()
    }
}

fn json(response: &Response<Vec<u8>>) -> Option<serde_json::Value> {
    serde_json::from_slice(response.body()).ok()
}

#[derive(Default)]
struct Made {
    token_requests: u64,
    api_calls: u64,
    tokens_issued: u64,
}

/// Runs the ops and checks the properties as it goes; returns what was sent.
fn run(ops: Vec<Op>, plan: PlanLimits) -> Result<(), TestCaseError> {
    let mut provider = Provider::new(ProviderConfig {
        admin_key: Some(ADMIN.into()),
        plan,
        ..ProviderConfig::default()
    });
    let apps: Vec<AppKeys> = vec![
        provider
            .create_app(Some(AppKeys::new("ysszm2yk7gp5r9ernuaurgcc", "w9t7t48g7H")))
            .unwrap(),
        provider.create_app(None).unwrap(),
        provider.create_app(None).unwrap(),
    ];
    let mut now: SystemTime = UNIX_EPOCH + Duration::from_secs(1_717_668_000);
    let mut refresh_history: Vec<Vec<String>> = vec![Vec::new(); apps.len()];
    let mut access_history: Vec<Vec<String>> = vec![Vec::new(); apps.len()];
    let mut accepted: HashMap<String, u32> = HashMap::new();
    let mut made = Made::default();

    for op in ops {
        let (request, presented_refresh, asker) = match op {
            Op::Advance(secs) => {
                now += Duration::from_secs(secs);
                continue;
            }
            Op::Inject(kind) => {
                let fault = match kind {
                    0 => Fault::ServerError,
                    1 => Fault::BadGateway,
                    2 => Fault::ServiceUnavailable,
                    3 => Fault::ConnectionReset,
                    4 => Fault::Delay(Duration::from_millis(5)),
                    5 => Fault::TruncatedBody,
                    _ => Fault::ErrorIn200("server_error".into()),
                };
                provider.inject(FaultTarget::Any, fault, 1);
                continue;
            }
            Op::ClientCredentials { app, basic } => (
                form(&apps[app], basic, "grant_type=client_credentials"),
                None,
                Some(app),
            ),
            Op::Refresh { app, pick } => {
                let history = &refresh_history[app];
                let token = match pick {
                    Pick::Latest => history.last().cloned(),
                    Pick::Old(i) => history.get(i).cloned(),
                    Pick::Garbage => None,
                }
                .unwrap_or_else(|| "6mh3cgqvc6d992fd45zc88ue".to_owned());
                (
                    form(
                        &apps[app],
                        false,
                        &format!("grant_type=refresh_token&refresh_token={token}"),
                    ),
                    Some(token),
                    Some(app),
                )
            }
            Op::Api { app, pick } => {
                let history = &access_history[app];
                let token = match pick {
                    Pick::Latest => history.last().cloned(),
                    Pick::Old(i) => history.get(i).cloned(),
                    Pick::Garbage => None,
                }
                .unwrap_or_else(|| "66mrpvtv4mvs6bz728nbaqmc".to_owned());
                let request = Request::get("/v1/searchoauth?query=cyber")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Vec::new())
                    .unwrap();
                (request, None, None)
            }
            Op::Arbitrary(arbitrary) => {
                let mut builder = Request::builder()
                    .method(arbitrary.method.as_str())
                    .uri(arbitrary.path.as_str());
                for (name, value) in &arbitrary.headers {
                    if let Ok(value) = http::HeaderValue::from_bytes(value) {
                        builder = builder.header(name.as_str(), value);
                    }
                }
                match builder.body(arbitrary.body.clone()) {
                    Ok(request) => (request, None, None),
                    Err(_) => continue,
                }
            }
        };
        let path = request.uri().path().to_owned();
        if path == "/oauth2/token" {
            made.token_requests += 1;
        } else if path == "/v1/searchoauth" {
            made.api_calls += 1;
        }
        let response = provider.handle(now, request);
        if path == "/admin/counters/reset" && response.status() == 200 {
            made = Made::default();
        }
        // Every answer is a valid HTTP answer.
        prop_assert!(response.status().as_u16() >= 200);
        if path == "/oauth2/token" && response.status() == 200 {
            if let Some(body) = json(&response) {
                if let (Some(access), Some(refresh)) = (
                    body["access_token"].as_str(),
                    body["refresh_token"].as_str(),
                ) {
                    made.tokens_issued += 1;
                    prop_assert_eq!(access.len(), 24);
                    prop_assert_eq!(refresh.len(), 24);
                    if let Some(presented) = &presented_refresh {
                        let count = accepted.entry(presented.clone()).or_default();
                        *count += 1;
                        prop_assert!(*count <= 1, "refresh token {presented} accepted twice");
                    }
                    // Remember the new tokens of the application that asked (not for arbitrary
                    // requests, whose tokens are simply dropped).
                    if let Some(index) = asker {
                        refresh_history[index].push(refresh.to_owned());
                        access_history[index].push(access.to_owned());
                    }
                }
            }
        }
    }

    let counters = provider.counters(now);
    prop_assert_eq!(counters.token_requests, made.token_requests);
    prop_assert_eq!(counters.api_calls, made.api_calls);
    let grants = counters.token_requests_by_grant;
    prop_assert_eq!(
        grants.client_credentials + grants.refresh_token + grants.other,
        made.token_requests
    );
    prop_assert_eq!(counters.tokens_issued, made.tokens_issued);
    for app in counters.applications.values() {
        prop_assert!(app.tokens_issued <= app.token_requests);
        prop_assert!(app.quota_current <= provider.config().plan.calls_per_day);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn properties_hold_under_generous_limits(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, PlanLimits { calls_per_day: 1_000_000, queries_per_second: 0 })?;
    }

    #[test]
    fn properties_hold_under_tight_limits(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, PlanLimits { calls_per_day: 12, queries_per_second: 2 })?;
    }
}

/// Counters equal the requests made, exactly, when no admin request interferes.
#[test]
fn counters_equal_the_requests_made() {
    let mut provider = Provider::default();
    let keys = provider.create_app(None).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(1_717_668_000);
    let mut refresh_token = String::new();
    let mut access_token = String::new();
    for i in 0..9 {
        let rest = if i % 3 == 0 {
            "grant_type=client_credentials".to_owned()
        } else {
            format!("grant_type=refresh_token&refresh_token={refresh_token}")
        };
        let response =
            provider.handle(now + Duration::from_secs(i), form(&keys, i % 2 == 0, &rest));
        assert_eq!(response.status(), 200);
        let body = json(&response).unwrap();
        refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
        access_token = body["access_token"].as_str().unwrap().to_owned();
    }
    for i in 0..7 {
        let response = provider.handle(
            now + Duration::from_secs(10 + i),
            Request::get("/v1/searchoauth?query=x")
                .header("authorization", format!("Bearer {access_token}"))
                .body(Vec::new())
                .unwrap(),
        );
        assert_eq!(response.status(), 200);
    }
    let counters = provider.counters(now);
    assert_eq!(counters.token_requests, 9);
    assert_eq!(counters.token_requests_by_grant.client_credentials, 3);
    assert_eq!(counters.token_requests_by_grant.refresh_token, 6);
    assert_eq!(counters.tokens_issued, 9);
    assert_eq!(counters.api_calls, 7);
    let app = &counters.applications[&keys.client_id];
    assert_eq!(
        (app.token_requests, app.api_calls, app.quota_current),
        (9, 7, 16)
    );
}

/// The same seed and the same requests give the same answers, byte for byte.
#[test]
fn the_provider_is_deterministic() {
    let answers = || {
        let mut provider = Provider::default();
        let keys = provider.create_app(None).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_717_668_000);
        let response = provider.handle(now, form(&keys, false, "grant_type=client_credentials"));
        (keys, response.into_body(), provider.admin_key().to_owned())
    };
    let (a, b) = (answers(), answers());
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2);
}
