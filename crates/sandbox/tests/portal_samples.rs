//! The Keys page's Python sample, downloaded over HTTP from a signed-in session and run
//! against the sandbox: it gets a token with the client credentials, renews it with the
//! refresh token and calls `/v1/searchoauth`.

mod common;

use common::{Answer, sandbox, send};
use std::process::Command;

/// The session cookie a page set, as a `Cookie` header value.
fn session_cookie(answer: &Answer) -> String {
    let set = answer.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// The CSRF token of a page's forms.
fn csrf(answer: &Answer) -> String {
    let text = answer.text();
    let marker = "name=\"csrf\" value=\"";
    let start = text.find(marker).expect("a form") + marker.len();
    text[start..start + text[start..].find('"').unwrap()].to_owned()
}

fn page(url: String, cookie: &str) -> Answer {
    send(
        http::Request::get(url)
            .header("cookie", cookie)
            .body(Vec::new())
            .unwrap(),
    )
    .unwrap()
}

fn form(url: String, cookie: &str, body: String) -> Answer {
    send(
        http::Request::post(url)
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.into_bytes())
            .unwrap(),
    )
    .unwrap()
}

#[test]
#[ignore = "needs python3: run with --include-ignored (.ci/run does)"]
fn the_python_sample_gets_renews_and_calls() {
    let sandbox = sandbox();
    let signup = send(
        http::Request::get(sandbox.url("/signup"))
            .body(Vec::new())
            .unwrap(),
    )
    .unwrap();
    let visitor = session_cookie(&signup);
    let signed_up = form(
        sandbox.url("/signup"),
        &visitor,
        format!(
            "username=ada&email=ada%40example.com&password=correct+horse&csrf={}",
            csrf(&signup)
        ),
    );
    assert_eq!(signed_up.status, 303, "{}", signed_up.text());
    let cookie = session_cookie(&signed_up);
    let account = page(sandbox.url("/account"), &cookie);
    let created = form(
        sandbox.url("/account/applications"),
        &cookie,
        format!(
            "name=Python+sample&web_page=https%3A%2F%2Fexample.com%2F&description=Runs+the+sample&csrf={}",
            csrf(&account)
        ),
    );
    let app_page = created.header("location").unwrap().to_owned();
    let id = app_page.rsplit('/').next().unwrap();
    let keys = sandbox.approve_app(id).unwrap();
    let sample = page(
        sandbox.url(&format!("{app_page}/bearer_sample.py")),
        &cookie,
    );
    assert_eq!(sample.status, 200, "{}", sample.text());
    assert!(!sample.text().contains(&keys.client_secret));
    let dir = std::env::temp_dir().join(format!("bearer-sample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("bearer_sample.py");
    std::fs::write(&script, &sample.body).unwrap();
    sandbox.reset_counters();

    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let output = Command::new(&python)
        .arg(&script)
        .arg("cyber")
        .env("CLIENT_SECRET", &keys.client_secret)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?} (is Python 3 installed?): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("client_credentials: access token "),
        "{stdout}"
    );
    assert!(stdout.contains("refresh token rotated"), "{stdout}");
    assert!(
        stdout.contains("GET /v1/searchoauth?query=cyber: 2 documents"),
        "{stdout}"
    );
    assert!(
        stdout.contains("doc-003  Cybersecurity Requirements"),
        "{stdout}"
    );
    let counters = sandbox.counters();
    assert_eq!(counters.token_requests_by_grant.client_credentials, 1);
    assert_eq!(counters.token_requests_by_grant.refresh_token, 1);
    assert_eq!(counters.api_calls, 1);

    // Without the secret in the environment it says what to do, and calls nothing.
    let missing = Command::new(&python)
        .arg(&script)
        .env_remove("CLIENT_SECRET")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("Set CLIENT_SECRET"));
    assert_eq!(sandbox.counters().token_requests, 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
