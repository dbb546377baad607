//! The guide's whole story, clicked through in headless Chromium: sign up, create an
//! application, the platform team approves it, read the keys, open I/O Docs, get a token, try
//! `/v1/searchoauth`, refresh, and see the calls in the admin chart; and an application named
//! `<script>alert(1)</script>` shown as text.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`;
//! `CHROMIUM` and `CHROMEDRIVER` name others). The test starts chromedriver itself on a free
//! port. It is ignored by default; `.ci/run` installs both and runs it with
//! `--include-ignored`, where a missing program is a failure. Screenshots of each page go to
//! `BEARER_SCREENSHOTS` (default: the target directory's `portal-screenshots`).

mod common;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any one condition may take to hold.
const PATIENCE: Duration = Duration::from_secs(20);
const SCRIPT: &str = "<script>alert(1)</script>";

fn program(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| default.into(), PathBuf::from)
}

/// chromedriver, started on a free port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let path = program("CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(&path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): apt-get install chromium chromium-driver",
                    path.display()
                )
            });
        // chromedriver says on stdout when it listens.
        let stdout = child.stdout.take().unwrap();
        let (ready, started) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("started successfully") {
                    let _ = ready.send(());
                }
            }
        });
        started
            .recv_timeout(PATIENCE)
            .expect("chromedriver reports that it started");
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new browser with a fresh profile.
    async fn browser(&self, profile: &tempdir::Profile) -> Client {
        let chromium = program("CHROMIUM", "/usr/bin/chromium");
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-quic",
                    "--no-first-run",
                    "--window-size=1100,860",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromium starts under chromedriver")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fresh browser profiles, removed when dropped.
mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Profile(PathBuf);

    impl Profile {
        pub fn new(name: &str) -> Profile {
            let path =
                std::env::temp_dir().join(format!("bearer-portal-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Profile(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Profile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Waits (a bounded poll) for the element `css`.
async fn element(client: &Client, css: &str) -> Element {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} within {PATIENCE:?}: {e}"))
}

/// Waits until `value` gives something, polling every 50 ms for at most [`PATIENCE`].
async fn until<T, F, Fut>(what: &str, mut value: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(found) = value().await {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text(client: &Client, css: &str) -> String {
    element(client, css).await.text().await.unwrap()
}

async fn value(client: &Client, css: &str) -> String {
    element(client, css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let field = element(client, css).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    element(client, css).await.click().await.unwrap();
}

/// Where screenshots go.
fn screenshots() -> PathBuf {
    let dir = std::env::var_os("BEARER_SCREENSHOTS").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// No alert is open: a script that ran would have opened one.
async fn no_alert(client: &Client) {
    assert!(
        client.get_alert_text().await.is_err(),
        "a script ran and opened an alert"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium and chromium-driver (apt-get install chromium chromium-driver)"]
async fn the_guides_story_in_a_browser() {
    let sandbox = common::sandbox();
    let base = sandbox.base_url();
    let driver = Driver::start();
    let (dev_profile, admin_profile) = (
        tempdir::Profile::new("developer"),
        tempdir::Profile::new("admin"),
    );
    let dev = driver.browser(&dev_profile).await;
    let admin = driver.browser(&admin_profile).await;

    // Sign up.
    dev.goto(&format!("{base}/")).await.unwrap();
    element(&dev, "#home-signup").await;
    screenshot(&dev, "home").await;
    click(&dev, "#home-signup").await;
    type_into(&dev, "#username", "ada").await;
    type_into(&dev, "#email", "ada@example.com").await;
    type_into(&dev, "#password", "correct horse battery").await;
    click(&dev, "#signup-submit").await;
    assert_eq!(text(&dev, "#account-username").await, "ada");

    // Create an application: pending.
    type_into(&dev, "#app-name", "Compliance dashboard").await;
    type_into(&dev, "#app-web-page", "https://compliance.example.com/").await;
    type_into(
        &dev,
        "#app-description",
        "Shows new regulations to the compliance team",
    )
    .await;
    click(&dev, "#create-app").await;
    assert_eq!(text(&dev, "#app-status").await, "PENDING");
    assert!(dev.find(Locator::Css("#keys")).await.is_err());
    let id = dev
        .current_url()
        .await
        .unwrap()
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    // The platform team approves it.
    admin.goto(&format!("{base}/admin")).await.unwrap();
    type_into(&admin, "#admin-key", common::ADMIN).await;
    click(&admin, "#admin-signin").await;
    element(&admin, &format!("#approve-{id}")).await;
    screenshot(&admin, "admin-review").await;
    click(&admin, &format!("#approve-{id}")).await;
    element(&admin, "#no-pending").await;

    // The keys: the secret is hidden until revealed.
    dev.refresh().await.unwrap();
    assert_eq!(text(&dev, "#app-status").await, "ACTIVE");
    let keys = sandbox
        .applications()
        .into_iter()
        .find(|a| a.id == id)
        .and_then(|a| a.keys)
        .unwrap();
    assert_eq!(text(&dev, "#client-id").await, keys.client_id);
    assert!(
        !element(&dev, "#client-secret")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    click(&dev, "#reveal-secret").await;
    assert_eq!(text(&dev, "#client-secret").await, keys.client_secret);
    assert!(
        text(&dev, "#plan")
            .await
            .contains("6 of them accounted for token requests")
    );
    screenshot(&dev, "keys").await;

    // I/O Docs with this application picked: get a token.
    click(&dev, "#try-iodocs").await;
    assert_eq!(value(&dev, "#client_id").await, keys.client_id);
    click(&dev, "#get-token").await;
    element(&dev, "#token-exchange[data-status='200']").await;
    let access = value(&dev, "#access_token").await;
    let refresh = value(&dev, "#refresh_token").await;
    assert_eq!((access.len(), refresh.len()), (24, 24));
    let token_request = text(&dev, "#token-exchange pre.request").await;
    assert!(
        token_request.starts_with(&format!("POST {}", sandbox.token_url())),
        "{token_request}"
    );
    assert!(
        token_request.contains("grant_type=client_credentials"),
        "{token_request}"
    );
    let token_curl = text(&dev, "#token-exchange pre.curl").await;
    assert!(
        token_curl.contains("\"client_secret=$CLIENT_SECRET\""),
        "{token_curl}"
    );
    for shown in [&token_request, &token_curl] {
        assert!(!shown.contains(&keys.client_secret), "{shown}");
    }

    // Try /v1/searchoauth with a query.
    type_into(&dev, "#searchoauth-query", "cyber").await;
    click(&dev, "#try-it-searchoauth").await;
    element(&dev, "#exchange-searchoauth[data-status='200']").await;
    let request = text(&dev, "#exchange-searchoauth pre.request").await;
    assert!(
        request.starts_with(&format!("GET {}", sandbox.search_url("cyber"))),
        "{request}"
    );
    assert!(
        request.contains(&format!("Authorization: Bearer {access}")),
        "{request}"
    );
    let body = text(&dev, "#exchange-searchoauth pre.body").await;
    assert!(
        body.contains("Cybersecurity Requirements for Financial Services Companies"),
        "{body}"
    );
    let curl = text(&dev, "#exchange-searchoauth pre.curl").await;
    assert!(
        curl.contains(&format!("'Authorization: Bearer {access}'")),
        "{curl}"
    );
    assert!(
        text(&dev, "#exchange-searchoauth pre.headers")
            .await
            .contains("x-mashery-responder")
    );
    screenshot(&dev, "iodocs").await;
    for (css, name) in [
        ("#credentials-card", "iodocs-token"),
        ("#method-searchoauth", "iodocs-try-it"),
    ] {
        let png = element(&dev, css).await.screenshot().await.unwrap();
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }

    // Refresh: a new access token and a rotated refresh token.
    click(&dev, "#refresh").await;
    let renewed = until("the refreshed access token", || async {
        let now = value(&dev, "#access_token").await;
        (now != access).then_some(now)
    })
    .await;
    assert_eq!(renewed.len(), 24);
    assert_ne!(value(&dev, "#refresh_token").await, refresh);
    assert!(
        text(&dev, "#token-exchange pre.request")
            .await
            .contains("grant_type=refresh_token")
    );
    let counters = sandbox.counters();
    assert_eq!(counters.token_requests_by_grant.client_credentials, 1);
    assert_eq!(counters.token_requests_by_grant.refresh_token, 1);
    assert_eq!(counters.api_calls, 1);

    // The calls in the admin chart: 2 token requests and 1 API call today.
    admin.refresh().await.unwrap();
    let chart = element(&admin, &format!("#chart-{id}")).await;
    assert_eq!(
        chart.attr("data-token-requests").await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(
        chart.attr("data-api-calls").await.unwrap().as_deref(),
        Some("1")
    );
    assert_eq!(
        chart.attr("data-calls").await.unwrap().as_deref(),
        Some("3")
    );
    let summary = text(&admin, &format!("#chart-{id} text.summary")).await;
    assert_eq!(
        summary,
        "3 of 5000 calls today: 1 API call, 2 token requests of the 6 accounted"
    );
    let article = element(&admin, &format!("#app-{id}")).await;
    std::fs::write(
        screenshots().join("admin-chart.png"),
        article.screenshot().await.unwrap(),
    )
    .unwrap();
    screenshot(&admin, "admin").await;

    // Escaping: an application named like a script is shown as text, and runs nowhere.
    dev.goto(&format!("{base}/account")).await.unwrap();
    type_into(&dev, "#app-name", SCRIPT).await;
    type_into(&dev, "#app-web-page", "https://example.com/").await;
    type_into(&dev, "#app-description", SCRIPT).await;
    click(&dev, "#create-app").await;
    assert_eq!(text(&dev, "#app-title").await, SCRIPT);
    no_alert(&dev).await;
    dev.goto(&format!("{base}/account")).await.unwrap();
    element(&dev, "#applications .app-link").await;
    no_alert(&dev).await;
    let links = dev
        .find_all(Locator::Css("#applications .app-link"))
        .await
        .unwrap();
    let mut names = Vec::new();
    for link in links {
        names.push(link.text().await.unwrap());
    }
    assert!(names.contains(&SCRIPT.to_owned()), "{names:?}");
    admin.refresh().await.unwrap();
    let pending = text(&admin, "#pending .app-name").await;
    assert_eq!(pending, SCRIPT);
    no_alert(&admin).await;
    let scripts: Vec<_> = admin.find_all(Locator::Css("script")).await.unwrap();
    assert!(scripts.is_empty(), "the admin page has no script at all");
    screenshot(&dev, "account").await;

    dev.close().await.unwrap();
    admin.close().await.unwrap();
    eprintln!("screenshots in {}", screenshots().display());
}
