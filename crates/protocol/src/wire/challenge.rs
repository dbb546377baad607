//! `WWW-Authenticate: Bearer …` challenges (RFC 6750 3).
//!
//! A header value may hold several challenges (`Basic realm="x", Bearer realm="y"`), and a
//! response may have several headers; the parser reads them per RFC 7235 (case-insensitive
//! scheme and parameter names, quoted-strings with backslash escapes, bare tokens, token68) and
//! never panics on garbage.
//!
//! ```
//! use bearer_protocol::wire::challenge::{BearerChallenge, ChallengeError};
//!
//! let challenge = BearerChallenge::parse(
//!     r#"Basic realm="x", Bearer realm="api.example.com", error="invalid_token", error_description="The access token expired""#,
//! )
//! .unwrap();
//! assert_eq!(challenge.realm.as_deref(), Some("api.example.com"));
//! assert_eq!(challenge.error, Some(ChallengeError::InvalidToken));
//! ```

use http::header::{HeaderMap, WWW_AUTHENTICATE};
use std::fmt;

/// The `error` of a bearer challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChallengeError {
    /// `invalid_request` (400)
    InvalidRequest,
    /// `invalid_token` (401): the token is expired, revoked or unknown; renew and retry once.
    InvalidToken,
    /// `insufficient_scope` (403)
    InsufficientScope,
    /// Any other code, sanitised (server text: at most 80 characters, token-like runs masked).
    Other(String),
}

impl ChallengeError {
    /// Reads an `error` parameter: trimmed, case-insensitive; an unknown code is kept, sanitised,
    /// in [`ChallengeError::Other`].
    pub fn parse(code: &str) -> ChallengeError {
        // Matched once cleaned, so that a code reads back as itself.
        let code = crate::wire::support::sanitize(code.trim(), 80);
        [
            ChallengeError::InvalidRequest,
            ChallengeError::InvalidToken,
            ChallengeError::InsufficientScope,
        ]
        .into_iter()
        .find(|candidate| candidate.as_str().eq_ignore_ascii_case(&code))
        .unwrap_or(ChallengeError::Other(code))
    }

    /// The wire code, e.g. `invalid_token`.
    pub fn as_str(&self) -> &str {
        match self {
            ChallengeError::InvalidRequest => "invalid_request",
            ChallengeError::InvalidToken => "invalid_token",
            ChallengeError::InsufficientScope => "insufficient_scope",
            ChallengeError::Other(code) => code,
        }
    }
}

impl fmt::Display for ChallengeError {
    /// The wire code (an unknown one sanitised: it is server text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChallengeError::Other(code) => f.write_str(&crate::wire::support::sanitize(code, 80)),
            known => f.write_str(known.as_str()),
        }
    }
}

/// A parsed `Bearer` challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BearerChallenge {
    /// `realm`
    pub realm: Option<String>,
    /// `error`; absent when the request carried no token.
    pub error: Option<ChallengeError>,
    /// `error_description`
    pub description: Option<String>,
    /// `error_uri`
    pub uri: Option<String>,
    /// `scope`
    pub scope: Option<String>,
}

impl BearerChallenge {
    /// The first `Bearer` challenge in any `WWW-Authenticate` header of `headers`.
    pub fn from_headers(headers: &HeaderMap) -> Option<BearerChallenge> {
        headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .find_map(|value| Self::parse(&String::from_utf8_lossy(value.as_bytes())))
    }

    /// The first `Bearer` challenge (scheme case-insensitive) in one `WWW-Authenticate` value,
    /// which may hold several challenges. Parameter names are case-insensitive; the first of a
    /// repeated parameter wins; values are unescaped and sanitised (server text: control
    /// characters removed, token-like runs and secret values masked, at most 200 characters).
    pub fn parse(value: &str) -> Option<BearerChallenge> {
        let challenge = parse_challenges(value)
            .into_iter()
            .find(|challenge| challenge.scheme.eq_ignore_ascii_case("bearer"))?;
        let param = |name: &str| {
            challenge
                .params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| crate::wire::support::sanitize_text(value))
        };
        Some(BearerChallenge {
            realm: param("realm"),
            error: param("error")
                .filter(|code| !code.trim().is_empty())
                .map(|code| ChallengeError::parse(&code)),
            description: param("error_description"),
            uri: param("error_uri"),
            scope: param("scope"),
        })
    }

    /// The token was refused as expired, revoked or unknown (`invalid_token`): renew it and
    /// retry once.
    pub fn is_invalid_token(&self) -> bool {
        self.error == Some(ChallengeError::InvalidToken)
    }
}

impl fmt::Display for BearerChallenge {
    /// `Bearer realm="…", error="…", error_description="…"`, with the parameters present, each
    /// sanitised (server text); never the URI or the scope.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::wire::support::sanitize_text;
        let quoted = |text: &str| sanitize_text(text).replace(['"', '\\'], "'");
        f.write_str("Bearer")?;
        let mut separator = " ";
        if let Some(realm) = &self.realm {
            write!(f, "{separator}realm=\"{}\"", quoted(realm))?;
            separator = ", ";
        }
        if let Some(error) = &self.error {
            write!(f, "{separator}error=\"{}\"", quoted(&error.to_string()))?;
            separator = ", ";
        }
        if let Some(description) = &self.description {
            write!(
                f,
                "{separator}error_description=\"{}\"",
                quoted(description)
            )?;
        }
        Ok(())
    }
}

/// One challenge: its scheme and its auth-params (a token68 is skipped).
#[derive(Debug)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

/// A cursor over the characters of a header value.
struct Cursor {
    chars: Vec<char>,
    pos: usize,
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_token68_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/".contains(c)
}

impl Cursor {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|&c| keep(c)) {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    /// A quoted-string starting at `"`; an unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        let mut out = String::new();
        self.pos += 1;
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '"' => break,
                '\\' => {
                    if let Some(escaped) = self.peek() {
                        out.push(escaped);
                        self.pos += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// Skips to the next comma (for garbage).
    fn skip_item(&mut self) {
        while let Some(c) = self.peek() {
            if c == ',' {
                break;
            }
            if c == '"' {
                self.quoted();
            } else {
                self.pos += 1;
            }
        }
    }

    /// After a scheme: consumes a token68 (`abc==`) if one follows, alone in its list item.
    fn skip_token68(&mut self) {
        let start = self.pos;
        self.skip_spaces();
        let body = self.take_while(is_token68_char);
        self.take_while(|c| c == '=');
        self.skip_spaces();
        if body.is_empty() || !matches!(self.peek(), None | Some(',')) {
            self.pos = start;
        }
    }
}

/// Every challenge in a `WWW-Authenticate` value (RFC 7235 4.1, tolerant).
fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut cursor = Cursor {
        chars: value.chars().collect(),
        pos: 0,
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        while matches!(cursor.peek(), Some(' ' | '\t' | ',')) {
            cursor.pos += 1;
        }
        if cursor.peek().is_none() {
            break;
        }
        let token = cursor.take_while(is_tchar);
        if token.is_empty() {
            cursor.skip_item();
            continue;
        }
        cursor.skip_spaces();
        if cursor.peek() == Some('=') {
            cursor.pos += 1;
            cursor.skip_spaces();
            let value = match cursor.peek() {
                Some('"') => Some(cursor.quoted()),
                Some(c) if is_tchar(c) => Some(cursor.take_while(is_tchar)),
                // `name=` followed by nothing or more `=`: the tail of a token68.
                _ => None,
            };
            match (value, challenges.last_mut()) {
                (Some(value), Some(challenge)) => challenge.params.push((token, value)),
                _ => cursor.skip_item(),
            }
            cursor.skip_spaces();
            if !matches!(cursor.peek(), None | Some(',')) {
                cursor.skip_item();
            }
        } else {
            challenges.push(Challenge {
                scheme: token,
                params: Vec::new(),
            });
            cursor.skip_token68();
        }
    }
    challenges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_several_challenges() {
        let all = parse_challenges(
            r#"Basic realm="x", Newauth abc==, Bearer realm="y", error=invalid_token"#,
        );
        let schemes: Vec<_> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Newauth", "Bearer"]);
        assert_eq!(
            all[2].params,
            [
                ("realm".into(), "y".into()),
                ("error".into(), "invalid_token".into())
            ]
        );
    }

    #[test]
    fn bare_token68_without_padding_is_not_a_scheme() {
        let all = parse_challenges("Negotiate a87421000492aa874209af8bc028, Bearer");
        let schemes: Vec<_> = all.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Negotiate", "Bearer"]);
    }
}
