//! Call the search API with the `bearer-client` library: it gets the access token with the client
//! credentials, renews it with the refresh token before it expires, and counts every call
//! against the plan.
//!
//! Sample code of the developer platform for the application "{{ values.app_name }}".
//! In a new Cargo project (`cargo new search && cd search`), add `bearer-client` to Cargo.toml's
//! dependencies, put this file in src/main.rs and run:
//!
//!     {{ secret_variable }}=... cargo run -- [WORDS TO SEARCH]

use bearer_client::blocking::{Client, Config};

const TOKEN_URL: &str = "{{ values.token_url }}";
const API_URL: &str = "{{ values.api_url }}";
const CLIENT_ID: &str = "{{ values.client_id }}";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("{{ secret_variable }}")
        .map_err(|_| "set {{ secret_variable }} to the client secret shown under Keys in My Account")?;
    let config = Config::builder(TOKEN_URL, CLIENT_ID, secret.as_str()).build()?;
    let client = Client::new(config)?;
    let words = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let words = if words.is_empty() { "privacy".to_owned() } else { words };
    let answer = client.get(API_URL, [("query", words.as_str())])?;
    println!("GET /v1/searchoauth?query={words}: {}", answer.status());
    println!("{}", answer.body().text()?);
    println!("{:?}", client.budget());
    Ok(())
}
