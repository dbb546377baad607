//! The name a credential's record goes by in a store: stable across processes, hosts and
//! versions of Rust (FNV-1a, not the standard library's hasher, whose algorithm may change).

use bearer_protocol::Credential;

/// 16 hex digits naming `credential` (its token URL and client id; no secret goes in).
pub(crate) fn credential_key(credential: &Credential) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = credential
        .token_url
        .as_bytes()
        .iter()
        .chain(b"\n")
        .chain(credential.client_id.expose().as_bytes());
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_tell_credentials_apart() {
        let credential = |url: &str, id: &str| Credential {
            token_url: url.into(),
            client_id: id.into(),
        };
        let a = credential_key(&credential("https://a.example/oauth2/token", "one"));
        assert_eq!(
            a,
            credential_key(&credential("https://a.example/oauth2/token", "one"))
        );
        assert_eq!(a.len(), 16);
        assert_ne!(
            a,
            credential_key(&credential("https://a.example/oauth2/token", "two"))
        );
        assert_ne!(
            a,
            credential_key(&credential("https://b.example/oauth2/token", "one"))
        );
        // Pinned: a process of another version must find the same record.
        assert_eq!(
            credential_key(&credential(
                "https://api.example.com/oauth2/token",
                "ysszm2yk7gp5r9ernuaurgcc"
            )),
            "e438d18d8c26bac4"
        );
    }
}
