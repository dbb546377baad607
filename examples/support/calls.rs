//! What the async examples share: the guide's registration on the sandbox's platform, and the
//! configured mode's calls. Included with `#[path = "support/calls.rs"] mod calls;` beside
//! [`support`](crate::support).

use crate::support::{Remote, report};
use bearer_sandbox::Sandbox;
use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// What a step of an example reports when it fails.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The first `shown` characters of a secret and its length, never the rest.
pub fn mask(value: &str, shown: usize) -> String {
    let head: String = value.chars().take(shown).collect();
    format!("{head}… ({} chars)", value.chars().count())
}

/// The guide's registration, over the sandbox's platform API: a developer, an application, the
/// platform team's approval, the application's keys. `platform` sends one request (method,
/// URL, developer key, JSON body, empty for none) and gives its JSON answer. Prints each step,
/// secrets masked; the client id and secret.
pub async fn register<P, F>(sandbox: &Sandbox, platform: P) -> Result<(String, String), Failure>
where
    P: Fn(&'static str, String, Option<String>, &'static str) -> F,
    F: Future<Output = Result<serde_json::Value, Failure>>,
{
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    let developer = platform(
        "POST",
        sandbox.url("/platform/developers"),
        None,
        r#"{"username":"ada","email":"ada@example.com"}"#,
    )
    .await?;
    let developer_key = text(&developer["developer_key"]);
    println!(
        "1. registered developer `ada` (developer key {})",
        mask(&developer_key, 4)
    );
    let app = platform(
        "POST",
        sandbox.url("/platform/applications"),
        Some(developer_key.clone()),
        r#"{"name":"Privacy search","web_page":"https://example.com","description":"Searches notices"}"#,
    )
    .await?;
    let app_id = text(&app["id"]);
    println!("2. created application {app_id}: status {}", app["status"]);
    sandbox.approve_app(&app_id)?;
    let keys_url = sandbox.url(&format!("/platform/applications/{app_id}/keys"));
    let keys = platform("GET", keys_url, Some(developer_key), "").await?;
    let (client_id, client_secret) = (text(&keys["client_id"]), text(&keys["client_secret"]));
    println!(
        "3. the platform team approved it: status {}; key {}, secret {}, plan {}",
        keys["status"],
        mask(&client_id, 4),
        mask(&client_secret, 0),
        keys["plan"]
    );
    Ok((client_id, client_secret))
}

/// Makes `remote.calls` calls with `call` (each gives the answer's status), `remote.interval`
/// apart, printing each status and then `budget`; a failure exit code if any call failed.
pub async fn call_remote<F, Fut, E>(
    remote: &Remote,
    call: F,
    budget: impl FnOnce() -> String,
) -> std::io::Result<ExitCode>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<http::StatusCode, E>>,
    E: Display,
{
    let mut all_ok = true;
    for n in 1..=remote.calls {
        if n > 1 {
            tokio::time::sleep(remote.interval).await;
        }
        all_ok &= report(n, call().await, &mut std::io::stdout())?;
    }
    println!("budget: {}", budget());
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
