//! The developer platform and the admin routes over real HTTP: register, create an application,
//! approval, keys, plan; the admin's controls.

mod common;

use bearer_sandbox::Sandbox;
use common::*;
use insta::assert_snapshot;
use serde_json::json;

fn registration(sandbox: &Sandbox, username: &str) -> Answer {
    json_request(
        sandbox,
        "POST",
        "/platform/developers",
        &[],
        Some(json!({ "username": username, "email": format!("{username}@example.com") })),
    )
}

/// Registers `username`; returns the developer key.
fn register(sandbox: &Sandbox, username: &str) -> String {
    let answer = registration(sandbox, username);
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.field("developer_key")
}

fn create_app(sandbox: &Sandbox, key: &str, name: &str) -> Answer {
    json_request(
        sandbox,
        "POST",
        "/platform/applications",
        &[("X-Developer-Key", key)],
        Some(json!({
            "name": name,
            "web_page": "https://example.com/app",
            "description": "Searches regulatory documents",
        })),
    )
}

/// A `GET` of the developer platform, as the developer with `key`.
fn developer_get(sandbox: &Sandbox, key: &str, path: &str) -> Answer {
    json_request(sandbox, "GET", path, &[("X-Developer-Key", key)], None)
}

/// `GET /platform/applications/{id}/keys`, as the developer with `key`.
fn keys(sandbox: &Sandbox, key: &str, id: &str) -> Answer {
    developer_get(sandbox, key, &format!("/platform/applications/{id}/keys"))
}

#[test]
fn register_create_review_approve_read_keys_and_call() {
    let sandbox = sandbox();
    let answer = registration(&sandbox, "ada");
    assert_snapshot!("register", answer.snapshot());
    let key = answer.field("developer_key");

    let created = create_app(&sandbox, &key, "Compliance dashboard");
    assert_snapshot!("application_created", created.snapshot());
    let id = created.field("id");

    let pending = keys(&sandbox, &key, &id);
    assert_snapshot!("keys_while_pending", pending.snapshot());

    // The platform team approves it.
    let approved = admin_on_app(&sandbox, &id, "approve");
    assert_eq!(approved.status, 200, "{}", approved.text());
    assert_eq!(approved.json()["status"], "active");

    let active = keys(&sandbox, &key, &id);
    assert_snapshot!("keys_when_active", active.snapshot());
    let (client_id, client_secret) = (active.field("client_id"), active.field("client_secret"));

    let issued = client_credentials_for(&sandbox, &client_id, &client_secret);
    assert_eq!(issued.status, 200);
    assert_eq!(
        search(&sandbox, &issued.access_token(), "privacy").status,
        200
    );

    // The developer's list and one application.
    let list = developer_get(&sandbox, &key, "/platform/applications");
    assert_eq!(list.json()["applications"][0]["status"], "active");
    assert!(
        list.json()["applications"][0]
            .get("client_secret")
            .is_none()
    );
    let one = developer_get(&sandbox, &key, &format!("/platform/applications/{id}"));
    assert_eq!(one.json()["name"], "Compliance dashboard");

    // Disabled: the keys are refused; approved again: accepted.
    let disabled = admin_on_app(&sandbox, &client_id, "disable");
    assert_eq!(disabled.json()["status"], "disabled");
    let refused = client_credentials_for(&sandbox, &client_id, &client_secret);
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.header("x-mashery-error-code"),
        Some("ERR_403_DEVELOPER_INACTIVE")
    );
    assert_eq!(keys(&sandbox, &key, &id).status, 409);
    admin_on_app(&sandbox, &id, "approve");
    let again = client_credentials_for(&sandbox, &client_id, &client_secret);
    assert_eq!(again.status, 200);
}

#[test]
fn a_rejected_application_never_gets_keys() {
    let sandbox = sandbox();
    let key = register(&sandbox, "bob");
    let id = create_app(&sandbox, &key, "Scraper").field("id");
    let rejected = admin_on_app(&sandbox, &id, "reject");
    assert_eq!(rejected.json()["status"], "rejected");
    let approve = admin_on_app(&sandbox, &id, "approve");
    assert_snapshot!("approve_rejected", approve.snapshot());
    let keys = keys(&sandbox, &key, &id);
    assert_eq!(keys.status, 409);
    assert_eq!(keys.json()["status"], "rejected");
}

#[test]
fn developers_see_only_their_own_applications() {
    let sandbox = sandbox();
    let ada = register(&sandbox, "ada");
    let bob = register(&sandbox, "bob");
    let id = create_app(&sandbox, &ada, "Ada's").field("id");
    let answer = developer_get(&sandbox, &bob, &format!("/platform/applications/{id}"));
    assert_eq!(answer.status, 404);
    let list = developer_get(&sandbox, &bob, "/platform/applications");
    assert_eq!(list.text(), r#"{"applications":[]}"#);
}

#[test]
fn platform_errors() {
    let sandbox = sandbox();
    let key = register(&sandbox, "ada");
    let dev = [("X-Developer-Key", key.as_str())];
    let cases = [
        (
            "register_taken",
            json_request(
                &sandbox,
                "POST",
                "/platform/developers",
                &[],
                Some(json!({"username":"ada","email":"a@b.c"})),
            ),
        ),
        (
            "register_bad_email",
            json_request(
                &sandbox,
                "POST",
                "/platform/developers",
                &[],
                Some(json!({"username":"eve","email":"nope"})),
            ),
        ),
        (
            "register_not_json",
            send(
                http::Request::post(sandbox.url("/platform/developers"))
                    .body(b"username=eve".to_vec())
                    .unwrap(),
            )
            .unwrap(),
        ),
        (
            "application_missing_fields",
            json_request(
                &sandbox,
                "POST",
                "/platform/applications",
                &dev,
                Some(json!({"name":"x"})),
            ),
        ),
        (
            "application_bad_web_page",
            json_request(
                &sandbox,
                "POST",
                "/platform/applications",
                &dev,
                Some(json!({"name":"x","web_page":"ftp://x","description":"d"})),
            ),
        ),
        (
            "application_without_developer_key",
            json_request(&sandbox, "GET", "/platform/applications", &[], None),
        ),
        (
            "application_unknown_developer_key",
            json_request(
                &sandbox,
                "GET",
                "/platform/applications",
                &[("X-Developer-Key", "nope")],
                None,
            ),
        ),
        (
            "platform_unknown_route",
            json_request(&sandbox, "GET", "/platform/nothing", &[], None),
        ),
        (
            "platform_wrong_method",
            json_request(&sandbox, "DELETE", "/platform/developers", &[], None),
        ),
    ];
    for (name, answer) in cases {
        assert_snapshot!(name, answer.snapshot());
    }
}

#[test]
fn admin_routes_need_the_admin_key() {
    let sandbox = sandbox();
    for key in [None, Some("wrong")] {
        let headers: Vec<(&str, &str)> = key.map(|k| ("X-Admin-Key", k)).into_iter().collect();
        let answer = json_request(&sandbox, "GET", "/admin/counters", &headers, None);
        assert_eq!(answer.status, 401);
    }
    let answer = json_request(&sandbox, "GET", "/admin/applications", &[], None);
    assert_snapshot!("admin_unauthorized", answer.snapshot());
}

#[test]
fn admin_creates_active_applications_with_given_or_generated_keys() {
    let sandbox = sandbox();
    let given = admin(
        &sandbox,
        "POST",
        "/admin/applications",
        Some(
            json!({"name": "Partner", "client_id": "partner00000000000000000", "client_secret": "Partner000"}),
        ),
    );
    assert_snapshot!("admin_create_given_keys", given.snapshot());
    let generated = admin(&sandbox, "POST", "/admin/applications", None);
    assert_eq!(generated.status, 201);
    let generated = generated.json();
    assert_eq!(generated["status"], "active");
    let duplicate = admin(
        &sandbox,
        "POST",
        "/admin/applications",
        Some(json!({"client_id": CLIENT_ID, "client_secret": "x"})),
    );
    assert_snapshot!("admin_create_duplicate", duplicate.snapshot());
    let half = admin(
        &sandbox,
        "POST",
        "/admin/applications",
        Some(json!({"client_id": "x"})),
    );
    assert_eq!(half.status, 400);
    let list = admin(&sandbox, "GET", "/admin/applications", None).json();
    assert_eq!(list["applications"].as_array().unwrap().len(), 3);
    let one = admin(
        &sandbox,
        "GET",
        "/admin/applications/partner00000000000000000",
        None,
    );
    assert_eq!(one.json()["name"], "Partner");
    let missing = admin(&sandbox, "POST", "/admin/applications/app-99/approve", None);
    assert_eq!(missing.status, 404);
}

#[test]
fn admin_forgets_refresh_tokens_and_revokes_access_tokens() {
    let sandbox = sandbox();
    let issued = client_credentials(&sandbox);
    let forgotten = admin_on_app(&sandbox, CLIENT_ID, "forget-refresh-token");
    assert_eq!(forgotten.text(), r#"{"forgotten":true}"#);
    assert_eq!(
        refresh(&sandbox, &issued.refresh_token()).json()["error"],
        "invalid_grant"
    );
    let revoked = admin_on_app(&sandbox, CLIENT_ID, "revoke-access-token");
    assert_eq!(revoked.text(), r#"{"revoked":true}"#);
    assert_eq!(search(&sandbox, &issued.access_token(), "x").status, 401);
}

#[test]
fn admin_clock_counters_and_settings() {
    let sandbox = sandbox();
    let clock = admin(&sandbox, "GET", "/admin/clock", None);
    assert_eq!(
        clock.text(),
        r#"{"now":"Thu, 06 Jun 2024 10:00:00 GMT","now_unix":1717668000}"#
    );
    let before = sandbox.now();
    let advanced = admin(
        &sandbox,
        "POST",
        "/admin/clock/advance",
        Some(json!({"seconds": 3600, "millis": 500})),
    );
    assert_eq!(
        advanced.text(),
        r#"{"advanced_ms":3600500,"now":"Thu, 06 Jun 2024 11:00:00 GMT","now_unix":1717671600}"#
    );
    // The handle's clock (and every clone) moved.
    assert_eq!(
        sandbox.now().duration_since(before).unwrap().as_millis(),
        3_600_500
    );
    let too_far = admin(
        &sandbox,
        "POST",
        "/admin/clock/advance",
        Some(json!({"seconds": u64::MAX})),
    );
    assert_eq!(too_far.status, 400);

    let issued = client_credentials(&sandbox);
    search(&sandbox, &issued.access_token(), "x");
    refresh(&sandbox, &issued.refresh_token());
    token_request(&sandbox, "grant_type=nonsense");
    let counters = admin(&sandbox, "GET", "/admin/counters", None);
    assert_snapshot!("admin_counters", counters.snapshot());
    let reset = admin(&sandbox, "POST", "/admin/counters/reset", None);
    assert_eq!(reset.json()["token_requests"], 0);

    let settings = admin(
        &sandbox,
        "POST",
        "/admin/settings",
        Some(
            json!({"quota_headers": true, "token_ttl": 2, "calls_per_day": 100, "queries_per_second": 0}),
        ),
    );
    assert_snapshot!("admin_settings", settings.snapshot());
    let issued = client_credentials(&sandbox);
    assert_eq!(issued.json()["expires_in"], 2);
    assert_eq!(issued.header("x-plan-quota-allotted"), Some("100"));
    let bad = admin(
        &sandbox,
        "POST",
        "/admin/settings",
        Some(json!({"token_ttl": "soon"})),
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn admin_unknown_routes_and_methods() {
    let sandbox = sandbox();
    assert_eq!(admin(&sandbox, "GET", "/admin/nothing", None).status, 404);
    // `/admin` itself is the platform team's page (HTML), not a JSON route.
    assert_eq!(admin(&sandbox, "GET", "/admin/", None).status, 404);
    let wrong = admin(&sandbox, "PUT", "/admin/faults", None);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("allow"), Some("GET, POST, DELETE"));
    assert_eq!(
        admin(&sandbox, "GET", "/admin/clock/advance", None).status,
        405
    );
    assert_eq!(
        admin(&sandbox, "POST", "/admin/applications/app-1/explode", None).status,
        404
    );
}
