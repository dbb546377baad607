//! HTTPS with the generated test CA.

mod common;

use bearer_sandbox::{Sandbox, SandboxConfig};
use common::*;
use std::sync::Arc;

fn https_agent(ca_pem: &str) -> ureq::Agent {
    let ca = ureq::tls::Certificate::from_pem(ca_pem.as_bytes()).expect("a PEM certificate");
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(Arc::new(vec![ca])))
                .build(),
        )
        .build()
        .new_agent()
}

#[test]
fn https_clients_that_trust_the_test_ca_get_the_same_answers() {
    let sandbox = Sandbox::start_blocking(
        SandboxConfig::default()
            .tls(true)
            .app(CLIENT_ID, CLIENT_SECRET),
    )
    .unwrap();
    assert!(sandbox.token_url().starts_with("https://127.0.0.1:"));
    let pem = sandbox.ca_pem().expect("a CA").to_owned();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let agent = https_agent(&pem);
    for host in ["127.0.0.1", "localhost"] {
        let url = sandbox.token_url().replace("127.0.0.1", host);
        let request = http::Request::post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&grant_type=client_credentials").into_bytes())
            .unwrap();
        let issued = send_with(&agent, request).unwrap();
        assert_eq!(issued.status, 200, "{host}");
        let request = http::Request::get(sandbox.search_url("cyber").replace("127.0.0.1", host))
            .header("Authorization", format!("Bearer {}", issued.access_token()))
            .body(Vec::new())
            .unwrap();
        assert_eq!(send_with(&agent, request).unwrap().status, 200, "{host}");
    }
}

#[test]
fn clients_that_do_not_trust_the_test_ca_are_refused() {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().tls(true)).unwrap();
    let request = http::Request::get(sandbox.url("/"))
        .body(Vec::new())
        .unwrap();
    assert!(send(request).is_err());
    // Plain HTTP to the TLS port is not served either, and the server goes on.
    let answer = raw(
        sandbox.addr(),
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(!answer.starts_with("HTTP/1.1 596"));
    let other = Sandbox::start_blocking(SandboxConfig::default().tls(true)).unwrap();
    assert_ne!(
        other.ca_pem(),
        sandbox.ca_pem(),
        "each sandbox has its own CA"
    );
    let agent = https_agent(sandbox.ca_pem().unwrap());
    let request = http::Request::get(sandbox.url("/nowhere"))
        .body(Vec::new())
        .unwrap();
    assert_eq!(send_with(&agent, request).unwrap().status, 596);
}

#[test]
fn the_portal_is_served_over_tls_with_https_urls() {
    let sandbox = Sandbox::start_blocking(SandboxConfig::default().tls(true)).unwrap();
    let agent = https_agent(sandbox.ca_pem().unwrap());
    let home = send_with(
        &agent,
        http::Request::get(sandbox.url("/"))
            .body(Vec::new())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(home.status, 200);
    assert!(
        home.header("set-cookie")
            .is_some_and(|c| c.contains("HttpOnly") && c.contains("SameSite=Strict"))
    );
    let token_url = format!("POST {}", sandbox.token_url());
    assert!(token_url.starts_with("POST https://"));
    assert!(home.text().contains(&token_url), "{}", home.text());
    let docs = send_with(
        &agent,
        http::Request::get(sandbox.url("/io-docs"))
            .body(Vec::new())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(docs.status, 200);
}
