//! Configuration: what is accepted, what is refused, and what each refusal says.

use bearer_protocol::config::*;
use std::time::Duration;

fn builder(url: &str) -> ConfigBuilder {
    Config::builder(url, "ysszm2yk7gp5r9ernuaurgcc", "w9t7t48g7H")
}

#[test]
fn accepts_https_and_loopback_http() {
    for url in [
        "https://api.example.com/oauth2/token",
        "http://127.0.0.1:8080/oauth2/token",
        "http://localhost/oauth2/token",
        "http://[::1]:9/oauth2/token",
    ] {
        let config = builder(url).build().unwrap();
        assert!(config.hints().is_empty(), "{url}");
    }
}

#[test]
fn refuses_plain_http_to_a_remote_host() {
    let err = builder("http://api.example.com/oauth2/token")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "token_url");
    for bad in ["ftp://x/oauth2/token", "/oauth2/token", "not a url"] {
        assert_eq!(
            builder(bad).build().unwrap_err().field,
            "token_url",
            "{bad}"
        );
    }
}

#[test]
fn credential_errors_name_the_field_and_hide_the_value() {
    let err = Config::builder("https://a.b/t", "abc def", "s")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "client_id");
    assert!(!err.to_string().contains("abc"));
    let err = Config::builder("https://a.b/t", "abc", "")
        .build()
        .unwrap_err();
    assert_eq!(err.field, "client_secret");
}

#[test]
fn every_error_names_the_field_and_the_fix() {
    let id = "ysszm2yk7gp5r9ernuaurgcc";
    let errors = [
        Config::builder("http://api.example.com/t", id, "s").build(),
        Config::builder("ftp://x/t", id, "s").build(),
        Config::builder("https:///t", id, "s").build(),
        Config::builder("https://a.b/t", "", "s").build(),
        Config::builder("https://a.b/t", id, "a b").build(),
        builder("https://a.b/t").scope("").build(),
        builder("https://a.b/t")
            .default_lifetime(Duration::ZERO)
            .build(),
        builder("https://a.b/t")
            .plan(Plan {
                calls_per_day: Some(0),
                ..Plan::default()
            })
            .build(),
        builder("https://a.b/t")
            .plan(Plan {
                queries_per_second: Some(0),
                ..Plan::default()
            })
            .build(),
        builder("https://a.b/t")
            .token_request_timeout(Duration::ZERO)
            .build(),
        builder("https://a.b/t")
            .retry(RetryPolicy {
                base_delay: Duration::from_secs(60),
                ..RetryPolicy::default()
            })
            .build(),
    ];
    let text: Vec<String> = errors
        .into_iter()
        .map(|result| result.unwrap_err().to_string())
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}

#[test]
fn unusual_lengths_are_hints_not_errors() {
    let config = Config::builder("https://a.b/t", "short", "longer-than-ten")
        .build()
        .unwrap();
    assert_eq!(config.hints().len(), 2);
    assert!(
        config.hints()[0]
            .to_string()
            .contains("`client_id` has 5 characters")
    );
}
