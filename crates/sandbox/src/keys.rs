//! Seeded generation of keys, secrets and tokens in the provider's shapes.
//!
//! Client ids, access tokens and refresh tokens are 24 lowercase letters and digits; client
//! secrets are 10 letters and digits (the guide's shapes). The generator is seeded, so a
//! provider built with the same seed and fed the same requests issues the same values.

const LOWER_DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const LETTERS_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of a client id (API key), per the guide.
pub const CLIENT_ID_LEN: usize = 24;
/// Length of a client secret, per the guide.
pub const CLIENT_SECRET_LEN: usize = 10;
/// Length of access and refresh tokens, per the guide.
pub const TOKEN_LEN: usize = 24;
/// Length of developer keys and generated admin keys.
pub const PRIVATE_KEY_LEN: usize = 32;

/// A seeded generator of the provider's random strings.
#[derive(Debug, Clone)]
pub(crate) struct KeyGen {
    rng: fastrand::Rng,
}

impl KeyGen {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn draw(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.rng.usize(..alphabet.len())]))
            .collect()
    }

    /// A 24-character client id.
    pub(crate) fn client_id(&mut self) -> String {
        self.draw(LOWER_DIGITS, CLIENT_ID_LEN)
    }

    /// A 10-character client secret.
    pub(crate) fn client_secret(&mut self) -> String {
        self.draw(LETTERS_DIGITS, CLIENT_SECRET_LEN)
    }

    /// A 24-character access or refresh token.
    pub(crate) fn token(&mut self) -> String {
        self.draw(LOWER_DIGITS, TOKEN_LEN)
    }

    /// A 32-character developer or admin key.
    pub(crate) fn private_key(&mut self) -> String {
        self.draw(LETTERS_DIGITS, PRIVATE_KEY_LEN)
    }
}

/// Whether `s` is acceptable as a client id or secret given by a user (`--app`, the admin
/// route): 1 to 128 characters, URL-unreserved only (`A-Z a-z 0-9 - . _ ~`), so that it needs no
/// escaping in a form body or a Basic header. The documented lengths are not enforced.
pub fn is_valid_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_guide_and_the_seed() {
        let mut a = KeyGen::new(7);
        let mut b = KeyGen::new(7);
        let id = a.client_id();
        assert_eq!(id, b.client_id());
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let secret = a.client_secret();
        assert_eq!(secret.len(), 10);
        assert!(secret.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(a.token().len(), 24);
        assert_ne!(a.token(), a.token());
    }

    #[test]
    fn key_validation() {
        assert!(is_valid_key("ysszm2yk7gp5r9ernuaurgcc"));
        assert!(is_valid_key("w9t7t48g7H"));
        assert!(!is_valid_key(""));
        assert!(!is_valid_key("a:b"));
        assert!(!is_valid_key("a b"));
        assert!(!is_valid_key(&"a".repeat(129)));
    }
}
