//! Portal accounts: a developer's password, kept as a salted SHA-256 digest.
//!
//! A sandbox on loopback, not a production identity store: the digest only keeps passwords out
//! of memory dumps and `Debug` output. Developers registered through the JSON routes have no
//! password and cannot sign in to the pages.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// Shortest password accepted.
pub(crate) const MIN_PASSWORD: usize = 8;
/// Longest password accepted.
pub(crate) const MAX_PASSWORD: usize = 200;

#[derive(Clone)]
struct Digested {
    salt: String,
    digest: [u8; 32],
}

fn digest(salt: &str, password: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hasher.finalize().into()
}

/// The passwords of developers who signed up through the portal, by developer index.
#[derive(Clone, Default)]
pub(crate) struct Accounts {
    passwords: HashMap<usize, Digested>,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("accounts", &self.passwords.len())
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// Why `password` cannot be used, if it cannot.
    pub(crate) fn check_password(password: &str) -> Option<String> {
        let length = password.chars().count();
        if length < MIN_PASSWORD {
            Some(format!(
                "The password must be at least {MIN_PASSWORD} characters"
            ))
        } else if password.len() > MAX_PASSWORD {
            Some(format!("The password must be at most {MAX_PASSWORD} bytes"))
        } else {
            None
        }
    }

    /// Sets developer `index`'s password.
    pub(crate) fn set(&mut self, index: usize, salt: String, password: &str) {
        let digest = digest(&salt, password);
        self.passwords.insert(index, Digested { salt, digest });
    }

    /// Whether `password` is developer `index`'s.
    pub(crate) fn verify(&self, index: usize, password: &str) -> bool {
        self.passwords
            .get(&index)
            .is_some_and(|d| digest(&d.salt, password) == d.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_never_show() {
        let mut accounts = Accounts::default();
        accounts.set(0, "salt".into(), "correct horse");
        assert!(accounts.verify(0, "correct horse"));
        assert!(!accounts.verify(0, "correct hors"));
        assert!(!accounts.verify(1, "correct horse"));
        assert!(!format!("{accounts:?}").contains("correct"));
        assert!(Accounts::check_password("short").is_some());
        assert!(Accounts::check_password("long enough").is_none());
    }
}
