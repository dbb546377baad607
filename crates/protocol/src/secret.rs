//! Secret values: credentials and tokens that never show up in `Debug` or `Display` (and the
//! client id, which names the application and is shown).
//!
//! Each type wraps a `String` that is zeroed when dropped. Reading the value takes an explicit
//! call to [`expose`](ClientSecret::expose), so a secret only leaves the type where the code
//! says so: in a request body, an `Authorization` header, or a store that persists tokens.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use zeroize::Zeroizing;

/// A string type with a constructor, [`expose`](ClientSecret::expose), constant-time
/// comparison and serde as a plain string; its `Debug` and `Display` are written apart.
macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Zeroizing::new(value.into()))
            }

            /// The secret value itself.
            ///
            /// # Security
            /// Whatever receives this value can leak it: send it on the wire or to a store, never
            /// to a log or an error message.
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Number of characters in the value, which is safe to show.
            pub fn char_len(&self) -> usize {
                self.0.chars().count()
            }

            /// Compares two values in time that depends only on their lengths.
            pub fn same_as(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.expose())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer).map(Self::new)
            }
        }
    };
}

/// [`string_type!`] with `Debug` and `Display` that never show the value.
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        string_type!($(#[$doc])* $name);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

string_type!(
    /// The application's client id, also called key or API key (24 characters at the provider).
    /// It names the application, is sent in the clear in every token request and shown on the
    /// developer platform: not a secret, so `Debug` and `Display` show it, and a log line says
    /// which application it is about.
    ///
    /// ```
    /// let id = bearer_protocol::ClientId::new("ysszm2yk7gp5r9ernuaurgcc");
    /// assert_eq!(format!("{id:?}"), r#"ClientId("ysszm2yk7gp5r9ernuaurgcc")"#);
    /// assert_eq!(id.to_string(), "ysszm2yk7gp5r9ernuaurgcc");
    /// ```
    ClientId
);

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientId").field(&self.expose()).finish()
    }
}

impl PartialEq for ClientId {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for ClientId {}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expose())
    }
}
secret_type!(
    /// The application's client secret (10 characters at the provider).
    ClientSecret
);
secret_type!(
    /// An access token, sent as `Authorization: Bearer <token>` (24 characters at the provider).
    AccessToken
);
secret_type!(
    /// A refresh token; the provider rotates it on every renewal (24 characters at the provider).
    RefreshToken
);

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = AccessToken::new("6mh3cgqvc6d992fd45zc88ue");
        assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        assert_eq!(token.to_string(), "[redacted]");
        assert_eq!(token.expose(), "6mh3cgqvc6d992fd45zc88ue");
    }

    #[test]
    fn serde_round_trips_the_value() {
        let json = serde_json::to_string(&RefreshToken::new("abc")).unwrap();
        assert_eq!(json, "\"abc\"");
        let back: RefreshToken = serde_json::from_str(&json).unwrap();
        assert!(back.same_as(&RefreshToken::new("abc")));
        assert!(!back.same_as(&RefreshToken::new("abd")));
        assert!(!back.same_as(&RefreshToken::new("abcd")));
    }
}

/// The client's own secrets (the client secret, the tokens it holds) in every form a server
/// could echo them back: as text, form-encoded, and inside the Basic credentials. Server text
/// is cleaned of these exact values before any heuristic runs, so even a short letters-only
/// secret, which no pattern recognises, never reaches a message.
pub(crate) struct KnownSecrets {
    /// Longest first, so that a form containing another is replaced whole.
    forms: Vec<Zeroizing<String>>,
}

/// Shorter values are not searched for: they would match ordinary words.
const MIN_KNOWN_SECRET_CHARS: usize = 4;

impl KnownSecrets {
    /// The forms of `client_secret` (with `client_id` for the Basic credentials) and of each
    /// token in `tokens`.
    pub(crate) fn new(client_id: &str, client_secret: &str, tokens: &[&str]) -> Self {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let encoded =
            |value: &str| -> String { form_urlencoded::byte_serialize(value.as_bytes()).collect() };
        let mut forms = Vec::new();
        for value in std::iter::once(client_secret).chain(tokens.iter().copied()) {
            forms.push(Zeroizing::new(value.to_owned()));
            forms.push(Zeroizing::new(encoded(value)));
            forms.push(Zeroizing::new(encoded(value).replace('+', "%20")));
        }
        for credentials in [
            format!("{}:{}", encoded(client_id), encoded(client_secret)),
            format!("{client_id}:{client_secret}"),
        ] {
            let credentials = Zeroizing::new(credentials);
            forms.push(Zeroizing::new(STANDARD.encode(credentials.as_bytes())));
            forms.push(Zeroizing::new(URL_SAFE.encode(credentials.as_bytes())));
        }
        forms.retain(|form| form.chars().count() >= MIN_KNOWN_SECRET_CHARS);
        forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
        forms.dedup();
        Self { forms }
    }

    /// Replaces every known form in `text` with `[redacted]`.
    pub(crate) fn scrub(&self, text: &mut String) {
        for form in &self.forms {
            if text.contains(form.as_str()) {
                *text = text.replace(form.as_str(), crate::wire::support::REDACTED);
            }
        }
    }
}

#[cfg(test)]
mod known_secrets_tests {
    use super::KnownSecrets;

    #[test]
    fn every_form_of_the_clients_own_secrets_is_replaced() {
        let secrets = KnownSecrets::new("ysszm2yk7gp5r9ernuaurgcc", "abcdefghij", &["tok en+1"]);
        let mut text = "bad secret abcdefghij; token tok%20en%2B1 or tok+en%2B1 or tok en+1; \
            basic eXNzem0yeWs3Z3A1cjllcm51YXVyZ2NjOmFiY2RlZmdoaWo="
            .to_owned();
        secrets.scrub(&mut text);
        assert!(!text.contains("abcdefghij"), "{text}");
        for form in ["tok%20en%2B1", "tok+en%2B1", "tok en+1"] {
            assert!(!text.contains(form), "{text}");
        }
        assert!(!text.contains("eXNzem0y"), "{text}");
        assert!(text.starts_with("bad secret [redacted]"), "{text}");
    }
}
