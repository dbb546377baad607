//! Helpers of the black-box tests: a plain HTTP client (ureq, statuses not turned into
//! errors), raw TCP requests, and a stable text form of answers for snapshots.
#![allow(dead_code)] // each test file uses a different part

use bearer_sandbox::{Sandbox, SandboxClock, SandboxConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The guide's keys.
pub const CLIENT_ID: &str = "ysszm2yk7gp5r9ernuaurgcc";
pub const CLIENT_SECRET: &str = "w9t7t48g7H";
pub const ADMIN: &str = "test-admin-key";

/// 2024-06-06 10:00:00 UTC, a Thursday.
pub fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_717_668_000)
}

/// A sandbox on a fixed clock, with the guide's application and a known admin key.
pub fn sandbox() -> Sandbox {
    sandbox_with(SandboxConfig::default())
}

pub fn sandbox_with(config: SandboxConfig) -> Sandbox {
    let config = config
        .clock(SandboxClock::fixed(start_time()))
        .admin_key(ADMIN)
        .app(CLIENT_ID, CLIENT_SECRET);
    Sandbox::start_blocking(config).expect("the sandbox starts")
}

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The string field `name` of a JSON answer.
    pub fn field(&self, name: &str) -> String {
        self.json()[name].as_str().expect(name).to_owned()
    }

    /// `access_token` of a token answer.
    pub fn access_token(&self) -> String {
        self.field("access_token")
    }

    /// `refresh_token` of a token answer.
    pub fn refresh_token(&self) -> String {
        self.field("refresh_token")
    }

    /// The answer as text for a snapshot: status, every header but `date` (sorted), body;
    /// generated values (tokens, keys) are replaced by their shape once checked.
    pub fn snapshot(&self) -> String {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date"))
            .map(|(n, v)| format!("{}: {v}", n.to_ascii_lowercase()))
            .collect();
        headers.sort();
        format!(
            "HTTP {}\n{}\n\n{}",
            self.status,
            headers.join("\n"),
            redact(&self.text())
        )
    }
}

/// Replaces the values of generated fields by their shape, after checking the shape.
pub fn redact(body: &str) -> String {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_owned();
    };
    let mut out = body.to_owned();
    let mut visit = vec![&json];
    while let Some(value) = visit.pop() {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    let shape = match key.as_str() {
                        "access_token" | "refresh_token" | "client_id" => {
                            Some(("<24 a-z0-9>", 24, false))
                        }
                        "client_secret" => Some(("<10 A-Za-z0-9>", 10, true)),
                        "developer_key" => Some(("<32 A-Za-z0-9>", 32, true)),
                        _ => None,
                    };
                    match (shape, value.as_str()) {
                        (Some((placeholder, len, upper)), Some(text)) => {
                            assert_eq!(text.len(), len, "{key} {text}");
                            assert!(
                                text.bytes().all(|b| b.is_ascii_digit()
                                    || b.is_ascii_lowercase()
                                    || (upper && b.is_ascii_uppercase())),
                                "{key} {text}"
                            );
                            out =
                                out.replace(&format!("\"{text}\""), &format!("\"{placeholder}\""));
                        }
                        _ => visit.push(value),
                    }
                }
            }
            serde_json::Value::Array(items) => visit.extend(items),
            _ => {}
        }
    }
    out
}

/// A plain HTTP client: statuses are answers, not errors; no redirects.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

/// Sends a request built with `http` and reads the whole answer.
pub fn send(request: http::Request<Vec<u8>>) -> Result<Answer, ureq::Error> {
    send_with(&agent(), request)
}

pub fn send_with(
    agent: &ureq::Agent,
    request: http::Request<Vec<u8>>,
) -> Result<Answer, ureq::Error> {
    let mut response = agent.run(request)?;
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec()?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// `POST` a form body to the token endpoint; an error where no whole answer came.
pub fn try_token_request(sandbox: &Sandbox, body: &str) -> Result<Answer, ureq::Error> {
    let request = http::Request::post(sandbox.token_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body.as_bytes().to_vec())
        .unwrap();
    send(request)
}

/// `POST` a form body to the token endpoint.
pub fn token_request(sandbox: &Sandbox, body: &str) -> Answer {
    try_token_request(sandbox, body).expect("the token endpoint answers")
}

/// The form of the guide's client_credentials request, for the application `id`.
pub fn client_credentials_form(id: &str, secret: &str) -> String {
    format!("client_id={id}&client_secret={secret}&grant_type=client_credentials")
}

/// The guide's client_credentials request.
pub fn client_credentials(sandbox: &Sandbox) -> Answer {
    client_credentials_for(sandbox, CLIENT_ID, CLIENT_SECRET)
}

/// The guide's client_credentials request with the keys of another application.
pub fn client_credentials_for(sandbox: &Sandbox, id: &str, secret: &str) -> Answer {
    token_request(sandbox, &client_credentials_form(id, secret))
}

/// The guide's refresh request.
pub fn refresh(sandbox: &Sandbox, refresh_token: &str) -> Answer {
    token_request(
        sandbox,
        &format!(
            "client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=refresh_token&refresh_token={refresh_token}&undefined=undefined"
        ),
    )
}

/// `GET /v1/searchoauth?query=…` with `Authorization: Bearer <token>`.
pub fn search(sandbox: &Sandbox, token: &str, query: &str) -> Answer {
    let request = http::Request::get(sandbox.search_url(query))
        .header("Authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    send(request).expect("the API answers")
}

/// A JSON request to the platform or admin routes.
pub fn json_request(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<serde_json::Value>,
) -> Answer {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(sandbox.url(path));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = match body {
        Some(value) => {
            builder = builder.header("Content-Type", "application/json");
            serde_json::to_vec(&value).unwrap()
        }
        None => Vec::new(),
    };
    send(builder.body(body).unwrap()).expect("the sandbox answers")
}

/// An admin request.
pub fn admin(
    sandbox: &Sandbox,
    method: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Answer {
    json_request(sandbox, method, path, &[("X-Admin-Key", ADMIN)], body)
}

/// An admin action on one application: `POST /admin/applications/{app}/{action}`.
pub fn admin_on_app(sandbox: &Sandbox, app: &str, action: &str) -> Answer {
    admin(
        sandbox,
        "POST",
        &format!("/admin/applications/{app}/{action}"),
        None,
    )
}

/// Sends raw bytes on a new connection (with `Connection: close` expected in them) and reads
/// until the server closes; returns the raw answer.
pub fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request).expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// [`raw`] from async code: sends raw bytes on a new connection and reads until it closes.
pub async fn raw_async(addr: SocketAddr, request: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// The raw HTTP/1.1 request of the guide's client_credentials grant, with `Connection: close`.
pub fn raw_client_credentials() -> String {
    let body = client_credentials_form(CLIENT_ID, CLIENT_SECRET);
    format!(
        "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The status line and the headers that matter of a raw answer, and its body, for snapshots.
pub fn raw_snapshot(answer: &str) -> String {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").to_owned();
    let mut headers: Vec<String> = lines
        .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or((l, ""));
            format!("{}:{v}", n.to_ascii_lowercase())
        })
        .collect();
    headers.sort();
    format!("{status}\n{}\n\n{}", headers.join("\n"), redact(body))
}
