//! Every page as a pure function of the provider's state, the time and the request.

use crate::platform::AppStatus;
use crate::provider::{Provider, ProviderConfig};
use crate::server::percent_encode;
use http::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use http::uri::Scheme;
use http::{Method, Request, StatusCode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ADMIN_KEY: &str = "portal-admin-key";
const PASSWORD: &str = "correct horse battery";
const SCRIPT: &str = "<script>alert(1)</script>";

/// One answer, with its body as text.
struct Page {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn location(&self) -> &str {
        self.header(LOCATION.as_str())
    }

    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("the page has a form") + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_owned()
    }
}

/// A browser talking to a provider in-process: keeps the session cookie it is given.
struct Browser {
    provider: Provider,
    now: SystemTime,
    cookie: Option<String>,
    tls: bool,
}

impl Browser {
    fn new() -> Self {
        Self {
            provider: Provider::new(ProviderConfig {
                admin_key: Some(ADMIN_KEY.into()),
                ..ProviderConfig::default()
            }),
            // 2024-06-06 10:00:00 UTC
            now: UNIX_EPOCH + Duration::from_secs(1_717_668_000),
            cookie: None,
            tls: false,
        }
    }

    /// Another browser (no cookie) on the same platform.
    fn stranger(&self) -> Self {
        Self {
            provider: self.provider.clone(),
            now: self.now,
            cookie: None,
            tls: false,
        }
    }

    fn send(&mut self, method: Method, path: &str, body: Option<String>) -> Page {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, "portal.test:8080");
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, format!("theme=dark; {cookie}"));
        }
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let mut request = request.body(body.unwrap_or_default().into_bytes()).unwrap();
        if self.tls {
            request.extensions_mut().insert(Scheme::HTTPS);
        }
        let response = self.provider.handle(self.now, request);
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let set = set.to_str().unwrap();
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: String::from_utf8(response.into_body()).unwrap(),
        }
    }

    fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None)
    }

    /// Sends a form as it is, with exactly these fields.
    fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields
            .iter()
            .map(|(n, v)| format!("{}={}", percent_encode(n), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.send(Method::POST, path, Some(body))
    }

    /// Sends a form from the page at `from`, with its CSRF token.
    fn submit(&mut self, from: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(from).csrf();
        let mut fields = fields.to_vec();
        fields.push(("csrf", &csrf));
        self.post_raw(path, &fields)
    }

    fn sign_up(&mut self, username: &str) -> Page {
        self.submit(
            "/signup",
            "/signup",
            &[
                ("username", username),
                ("email", &format!("{username}@example.com")),
                ("password", PASSWORD),
            ],
        )
    }

    fn create_app(&mut self, name: &str) -> Page {
        self.submit(
            "/account",
            "/account/applications",
            &[
                ("name", name),
                ("web_page", "https://compliance.example.com/"),
                (
                    "description",
                    "Shows new regulations to the compliance team",
                ),
            ],
        )
    }

    fn as_admin(&mut self, action: &str, app: &str) -> Page {
        let mut admin = self.stranger();
        let signed_in = admin.submit(
            "/admin",
            "/admin",
            &[("action", "signin"), ("admin_key", ADMIN_KEY)],
        );
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        let page = admin.submit("/admin", "/admin", &[("action", action), ("app", app)]);
        self.provider = admin.provider;
        page
    }
}

#[test]
fn the_home_page_sets_a_strict_http_only_session_cookie_and_guards_itself() {
    let mut browser = Browser::new();
    let home = browser.get("/");
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.header("content-type"), "text/html; charset=utf-8");
    let cookie = home.header("set-cookie");
    assert!(cookie.starts_with("bearer_portal="), "{cookie}");
    assert!(
        cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        home.header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert_eq!(home.header("cache-control"), "no-store");
    assert!(
        home.body
            .contains("POST http://portal.test:8080/oauth2/token")
    );
    assert!(home.body.contains("id=\"nav-signup\""));
    // The same browser keeps its session: no new cookie.
    assert_eq!(browser.get("/").header("set-cookie"), "");
}

#[test]
fn sign_up_signs_in_with_a_new_session_and_my_account_needs_it() {
    let mut browser = Browser::new();
    assert_eq!(browser.get("/account").location(), "/signin");
    let visitor_cookie = browser.get("/signup").header("set-cookie").to_owned();
    let signed_up = browser.sign_up("ada");
    assert_eq!(signed_up.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_up.location(), "/account");
    // Signing in replaces the session id.
    assert_ne!(signed_up.header("set-cookie"), "");
    assert_ne!(
        Some(visitor_cookie.split(';').next().unwrap().to_owned()),
        browser.cookie
    );
    let account = browser.get("/account");
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("id=\"account-username\">ada<"));
    assert!(account.body.contains("id=\"no-apps\""));
    assert!(account.body.contains("id=\"sign-out\""));
    // The same username again, a short password.
    let mut other = browser.stranger();
    assert_eq!(other.sign_up("ada").status, StatusCode::CONFLICT);
    let short = other.submit(
        "/signup",
        "/signup",
        &[
            ("username", "bob"),
            ("email", "bob@example.com"),
            ("password", "short"),
        ],
    );
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("at least 8 characters"));
    assert!(short.body.contains("value=\"bob@example.com\""));
}

#[test]
fn sign_in_and_sign_out() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    let out = browser.submit("/account", "/signout", &[]);
    assert_eq!((out.status, out.location()), (StatusCode::SEE_OTHER, "/"));
    assert_eq!(browser.get("/account").location(), "/signin");
    let wrong = browser.submit(
        "/signin",
        "/signin",
        &[("username", "ada"), ("password", "nope-nope")],
    );
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("wrong password"));
    let unknown = browser.submit(
        "/signin",
        "/signin",
        &[("username", "eve"), ("password", PASSWORD)],
    );
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let right = browser.submit(
        "/signin",
        "/signin",
        &[("username", "ada"), ("password", PASSWORD)],
    );
    assert_eq!(
        (right.status, right.location()),
        (StatusCode::SEE_OTHER, "/account")
    );
    assert_eq!(browser.get("/account").status, StatusCode::OK);
}

#[test]
fn forms_without_the_session_token_are_refused() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    let fields = [
        ("name", "Sneaky"),
        ("web_page", "https://sneaky.example/"),
        ("description", "Sent from another site"),
    ];
    // No token, a wrong token, the token of another session.
    assert_eq!(
        browser.post_raw("/account/applications", &fields).status,
        StatusCode::FORBIDDEN
    );
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "not-the-token"));
    assert_eq!(
        browser.post_raw("/account/applications", &wrong).status,
        StatusCode::FORBIDDEN
    );
    let mut stranger = browser.stranger();
    let theirs = stranger.get("/signin").csrf();
    let mut foreign = fields.to_vec();
    foreign.push(("csrf", &theirs));
    let refused = browser.post_raw("/account/applications", &foreign);
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("security token"));
    // A browser without a cookie cannot send a token it was never given.
    let mut cookieless = browser.stranger();
    let token = browser.get("/").csrf();
    let mut replayed = fields.to_vec();
    replayed.push(("csrf", &token));
    assert_eq!(
        cookieless
            .post_raw("/account/applications", &replayed)
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(browser.provider.platform.apps.is_empty());
    // Sign-up, sign-in, sign-out and the admin page are guarded alike.
    for path in ["/signup", "/signin", "/signout", "/admin"] {
        assert_eq!(
            browser.post_raw(path, &[]).status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

#[test]
fn a_visitor_cannot_create_applications() {
    let mut browser = Browser::new();
    let page = browser.submit(
        "/signin",
        "/account/applications",
        &[
            ("name", "n"),
            ("web_page", "https://n.example/"),
            ("description", "d"),
        ],
    );
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(browser.provider.platform.apps.is_empty());
}

#[test]
fn creating_an_application_shows_it_pending_and_bad_fields_are_explained() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    let created = browser.create_app("Compliance dashboard");
    assert_eq!(created.location(), "/account/applications/app-1");
    let page = browser.get("/account/applications/app-1");
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("id=\"app-status\">pending<"));
    assert!(!page.body.contains("id=\"keys\""));
    assert!(
        browser
            .get("/account")
            .body
            .contains("id=\"app-row-app-1\"")
    );
    let bad = browser.submit(
        "/account",
        "/account/applications",
        &[
            ("name", "Second"),
            ("web_page", "ftp://x"),
            ("description", "d"),
        ],
    );
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("Invalid `web_page`"), "{}", bad.body);
    assert!(bad.body.contains("value=\"Second\""));
}

#[test]
fn everything_a_user_types_is_escaped() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    browser.create_app(SCRIPT);
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;";
    let account = browser.get("/account");
    let app = browser.get("/account/applications/app-1");
    for page in [&account, &app] {
        assert!(!page.body.contains(SCRIPT), "{}", page.body);
        assert!(
            page.body.contains(escaped) || page.body.contains("&lt;script&gt;"),
            "{}",
            page.body
        );
    }
    browser.as_admin("approve", "app-1");
    let mut admin = browser.stranger();
    admin.submit(
        "/admin",
        "/admin",
        &[("action", "signin"), ("admin_key", ADMIN_KEY)],
    );
    let review = admin.get("/admin");
    assert!(!review.body.contains(SCRIPT));
    let docs = browser.get("/io-docs");
    assert!(!docs.body.contains(SCRIPT));
    // A username with markup, in the header of every page.
    let mut other = browser.stranger();
    other.sign_up("<b>bold</b>");
    assert!(!other.get("/account").body.contains("<b>bold</b>"));
}

#[test]
fn the_keys_appear_once_approved_with_the_plan_and_todays_usage() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    browser.create_app("Compliance dashboard");
    let approved = browser.as_admin("approve", "app-1");
    assert_eq!(approved.location(), "/admin");
    let keys = browser.provider.platform.apps[0].keys.clone().unwrap();
    // A token request and an API call, through the gateway.
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        keys.client_id, keys.client_secret
    );
    let token = browser.provider.handle(
        browser.now,
        Request::post("/oauth2/token")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap(),
    );
    let token: serde_json::Value = serde_json::from_slice(token.body()).unwrap();
    let search = browser.provider.handle(
        browser.now,
        Request::get("/v1/searchoauth?query=privacy")
            .header(
                "authorization",
                format!("Bearer {}", token["access_token"].as_str().unwrap()),
            )
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(search.status(), StatusCode::OK);
    let page = browser.get("/account/applications/app-1");
    assert!(page.body.contains("id=\"app-status\">active<"));
    assert!(
        page.body
            .contains(&format!("id=\"client-id\">{}<", keys.client_id))
    );
    // The secret is inside a closed <details>: hidden until revealed.
    assert!(page.body.contains(&format!(
        "<details id=\"secret\"><summary id=\"reveal-secret\">Reveal secret</summary><code id=\"client-secret\">{}</code></details>",
        keys.client_secret
    )));
    assert!(page.body.contains(
        "5000 calls per day, 6 of them accounted for token requests; 10 queries per second"
    ));
    assert!(page.body.contains("id=\"usage-calls\">2 of 5000<"));
    assert!(
        page.body
            .contains("id=\"usage-tokens\">1 (the plan accounts for 6)<")
    );
    assert!(page.body.contains("id=\"usage-api\">1<"));
    assert!(page.body.contains("Fri, 07 Jun 2024 00:00:00 GMT"));
    // Tomorrow's usage starts from zero.
    browser.now += Duration::from_secs(14 * 3600);
    assert!(
        browser
            .get("/account/applications/app-1")
            .body
            .contains("id=\"usage-calls\">0 of 5000<")
    );
}

#[test]
fn an_application_is_the_developers_own() {
    let mut ada = Browser::new();
    ada.sign_up("ada");
    ada.create_app("Ada's");
    let mut bob = ada.stranger();
    bob.sign_up("bob");
    assert_eq!(
        bob.get("/account/applications/app-1").status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.get("/account/applications/app-1/bearer_sample.py")
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.get("/account/applications/app-9").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn the_samples_are_offered_for_active_applications_with_this_host() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    browser.create_app("Compliance dashboard");
    let pending = browser.get("/account/applications/app-1/bearer_sample.py");
    assert_eq!(pending.status, StatusCode::CONFLICT);
    browser.as_admin("approve", "app-1");
    let keys = browser.provider.platform.apps[0].keys.clone().unwrap();
    let python = browser.get("/account/applications/app-1/bearer_sample.py");
    assert_eq!(python.status, StatusCode::OK);
    assert_eq!(
        python.header("content-disposition"),
        "attachment; filename=\"bearer_sample.py\""
    );
    assert!(
        python
            .body
            .contains("TOKEN_URL = \"http://portal.test:8080/oauth2/token\"")
    );
    assert!(
        python
            .body
            .contains("API_URL = \"http://portal.test:8080/v1/searchoauth\"")
    );
    assert!(
        python
            .body
            .contains(&format!("CLIENT_ID = \"{}\"", keys.client_id))
    );
    assert!(!python.body.contains(&keys.client_secret));
    let rust = browser.get("/account/applications/app-1/main.rs");
    assert_eq!(rust.status, StatusCode::OK);
    assert!(
        rust.body
            .contains(&format!("const CLIENT_ID: &str = \"{}\";", keys.client_id))
    );
    assert!(!rust.body.contains(&keys.client_secret));
    assert_eq!(
        browser.get("/account/applications/app-1/other.txt").status,
        StatusCode::NOT_FOUND
    );
    // Over TLS the URLs are https.
    browser.tls = true;
    let secure = browser.get("/account/applications/app-1/bearer_sample.py");
    assert!(
        secure
            .body
            .contains("TOKEN_URL = \"https://portal.test:8080/oauth2/token\"")
    );
}

#[test]
fn the_platform_team_signs_in_with_the_admin_key_and_reviews() {
    let mut browser = Browser::new();
    browser.sign_up("ada");
    browser.create_app("First");
    browser.create_app("Second");
    let mut admin = browser.stranger();
    let form = admin.get("/admin");
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("id=\"admin-key\""));
    assert!(!form.body.contains("First"));
    let wrong = admin.submit(
        "/admin",
        "/admin",
        &[("action", "signin"), ("admin_key", "guess")],
    );
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let unauthorized = admin.submit(
        "/admin",
        "/admin",
        &[("action", "approve"), ("app", "app-1")],
    );
    assert_eq!(unauthorized.status, StatusCode::UNAUTHORIZED);
    assert_eq!(admin.provider.platform.apps[0].status, AppStatus::Pending);
    // A developer's session is not the platform team's.
    assert_eq!(
        browser
            .submit(
                "/account",
                "/admin",
                &[("action", "approve"), ("app", "app-1")]
            )
            .status,
        StatusCode::UNAUTHORIZED
    );
    admin.submit(
        "/admin",
        "/admin",
        &[("action", "signin"), ("admin_key", ADMIN_KEY)],
    );
    let review = admin.get("/admin");
    assert!(
        review.body.contains("id=\"approve-app-1\"") && review.body.contains("id=\"reject-app-2\"")
    );
    assert_eq!(
        admin
            .submit(
                "/admin",
                "/admin",
                &[("action", "approve"), ("app", "app-1")]
            )
            .location(),
        "/admin"
    );
    assert_eq!(
        admin
            .submit(
                "/admin",
                "/admin",
                &[("action", "reject"), ("app", "app-2")]
            )
            .location(),
        "/admin"
    );
    let statuses: Vec<_> = admin
        .provider
        .platform
        .apps
        .iter()
        .map(|a| a.status)
        .collect();
    assert_eq!(statuses, [AppStatus::Active, AppStatus::Rejected]);
    let after = admin.get("/admin");
    assert!(after.body.contains("id=\"no-pending\""));
    assert!(after.body.contains("id=\"chart-app-1\""));
    assert!(after.body.contains("data-calls=\"0\""));
    assert!(after.body.contains("id=\"disable-app-1\""));
    // A transition the status does not allow, an unknown application.
    assert_eq!(
        admin
            .submit(
                "/admin",
                "/admin",
                &[("action", "reject"), ("app", "app-1")]
            )
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin
            .submit(
                "/admin",
                "/admin",
                &[("action", "approve"), ("app", "app-7")]
            )
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin
            .submit(
                "/admin",
                "/admin",
                &[("action", "explode"), ("app", "app-1")]
            )
            .status,
        StatusCode::BAD_REQUEST
    );
    admin.submit(
        "/admin",
        "/admin",
        &[("action", "disable"), ("app", "app-1")],
    );
    assert_eq!(admin.provider.platform.apps[0].status, AppStatus::Disabled);
    assert!(admin.get("/admin").body.contains("Enable again"));
}

#[test]
fn the_admin_chart_counts_the_days_calls() {
    let mut browser = Browser::new();
    let keys = browser.provider.create_app(None).unwrap();
    for _ in 0..2 {
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            keys.client_id, keys.client_secret
        );
        browser.provider.handle(
            browser.now,
            Request::post("/oauth2/token")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.into_bytes())
                .unwrap(),
        );
    }
    browser.submit(
        "/admin",
        "/admin",
        &[("action", "signin"), ("admin_key", ADMIN_KEY)],
    );
    let page = browser.get("/admin");
    assert!(
        page.body
            .contains("data-calls=\"2\" data-token-requests=\"2\" data-api-calls=\"0\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("10:00–11:00 UTC: 2 token requests"));
    assert!(
        page.body
            .contains("2 of 5000 calls today: 0 API calls, 2 token requests of the 6 accounted")
    );
}

#[test]
fn io_docs_lists_the_methods_and_offers_the_developers_active_applications() {
    let mut browser = Browser::new();
    let visitor = browser.get("/io-docs");
    assert_eq!(visitor.status, StatusCode::OK);
    for needle in [
        "id=\"get-token\"",
        "id=\"refresh\"",
        "<span class=\"http-method\">POST</span> <span class=\"uri\">/oauth2/token</span>",
        "<span class=\"http-method\">GET</span> <span class=\"uri\">/v1/searchoauth</span>",
        "id=\"try-it-searchoauth\"",
        "data-bearer=\"true\"",
        "<script src=\"/assets/iodocs.js\" defer></script>",
    ] {
        assert!(visitor.body.contains(needle), "{needle}");
    }
    assert!(!visitor.body.contains("id=\"pick-app\""));
    browser.sign_up("ada");
    browser.create_app("Dashboard");
    browser.create_app("Still pending");
    browser.as_admin("approve", "app-1");
    let keys = browser.provider.platform.apps[0].keys.clone().unwrap();
    let picked = browser.get("/io-docs?app=app-1");
    assert!(
        picked
            .body
            .contains(&format!("data-client-id=\"{}\"", keys.client_id))
    );
    assert!(picked.body.contains(" selected>Dashboard ("));
    assert!(!picked.body.contains("Still pending"));
    assert!(picked.body.contains(&format!(
        "id=\"client_id\" name=\"client_id\" value=\"{}\"",
        keys.client_id
    )));
}

#[test]
fn assets_the_definition_unknown_pages_and_methods() {
    let mut browser = Browser::new();
    let css = browser.get("/assets/portal.css");
    assert_eq!(
        (css.status, css.header("content-type")),
        (StatusCode::OK, "text/css; charset=utf-8")
    );
    let js = browser.get("/assets/iodocs.js");
    assert!(js.body.contains("Authorization"));
    assert_eq!(
        browser.get("/assets/nothing.js").status,
        StatusCode::NOT_FOUND
    );
    let definition = browser.get("/io-docs/definition.json");
    let json: serde_json::Value = serde_json::from_str(&definition.body).unwrap();
    assert_eq!(json["auth"]["oauth"]["type"], "client_credentials");
    assert_eq!(
        browser.get("/account/nothing/here/at/all").status,
        StatusCode::NOT_FOUND
    );
    let put = browser.send(Method::PUT, "/account", None);
    assert_eq!(
        (put.status, put.header("allow")),
        (StatusCode::METHOD_NOT_ALLOWED, "GET")
    );
    assert_eq!(
        browser
            .send(Method::DELETE, "/signup", None)
            .header("allow"),
        "GET, POST"
    );
    assert_eq!(
        browser.get("/signout").status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    // The gateway's paths are not the portal's.
    assert_eq!(browser.get("/nowhere").status.as_u16(), 596);
}
