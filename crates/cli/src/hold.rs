//! What a run must remember for the next ones, in small files beside the token cache
//! (`$XDG_CACHE_HOME/bearer/<key>.hold.json` and `<key>.usage.json`, mode 0600):
//!
//! - a **hold**: the credentials were refused (quiet until the quiet period ends, or the secret
//!   changes) or the day's quota is spent (until the reset). A run that finds one exits with
//!   the matching code and sends nothing;
//! - the **usage** of the quota day: calls and token requests sent by the runs of this host.

use crate::exit::{CREDENTIALS_REFUSED, Failure, HoldCause, QUOTA_EXHAUSTED, utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Largest hold or usage file read.
const MAX_FILE_BYTES: u64 = 16 * 1024;

/// What a hold is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// The token endpoint refused the client credentials.
    CredentialsRefused,
    /// The day's call quota is spent.
    QuotaExhausted,
}

/// A remembered refusal or spent quota.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// What it is for.
    pub kind: HoldKind,
    /// Nothing is sent before this (seconds since the epoch, UTC).
    pub until: u64,
    /// The message of the failure that caused it.
    pub message: String,
    /// A SHA-256 fingerprint of the secret that was refused (never the secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_sha256: Option<String>,
}

/// The calls this host's runs sent in one quota day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// When the day ends (seconds since the epoch, UTC).
    pub resets_at: u64,
    /// Calls counted, token requests included.
    pub calls: u64,
    /// Token requests sent.
    pub token_requests: u64,
}

/// The memory of one credential: its hold and usage files.
#[derive(Debug, Clone)]
pub struct Memory {
    dir: PathBuf,
    key: String,
}

/// 16 hex digits naming a credential (FNV-1a of the token URL and client id, as the file
/// store names its records; no secret goes in).
pub fn credential_key(token_url: &str, client_id: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in token_url.bytes().chain(*b"\n").chain(client_id.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The fingerprint of a secret kept in a hold: SHA-256, hex.
pub fn fingerprint(secret: &str) -> String {
    let digest = Sha256::digest(format!("bearer-cli hold\n{secret}").as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Seconds since the epoch.
pub fn epoch(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The instant `secs` seconds after the epoch.
pub fn instant(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

impl Memory {
    /// The memory of the credential in `dir`.
    pub fn new(dir: impl Into<PathBuf>, token_url: &str, client_id: &str) -> Self {
        Self {
            dir: dir.into(),
            key: credential_key(token_url, client_id),
        }
    }

    fn path(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{}.{what}.json", self.key))
    }

    /// The hold's file.
    pub fn hold_path(&self) -> PathBuf {
        self.path("hold")
    }

    /// The hold in force at `now` for a run with `secret`: an expired hold, or a
    /// credentials hold for another secret, is removed and `None` returned.
    pub fn hold(&self, now: SystemTime, secret: Option<&str>) -> Option<Hold> {
        let hold: Hold = read_json(&self.hold_path())?;
        let other_secret = hold.kind == HoldKind::CredentialsRefused
            && secret.map(fingerprint) != hold.secret_sha256;
        if epoch(now) >= hold.until || other_secret {
            self.clear_hold();
            return None;
        }
        Some(hold)
    }

    /// Remembers `cause` at `now`; `quiet` is how long a refusal keeps bearer quiet.
    pub fn remember(
        &self,
        cause: HoldCause,
        now: SystemTime,
        quiet: Duration,
        message: &str,
        secret: Option<&str>,
    ) -> std::io::Result<()> {
        let hold = match cause {
            HoldCause::CredentialsRefused => Hold {
                kind: HoldKind::CredentialsRefused,
                until: epoch(now + quiet),
                message: message.to_owned(),
                secret_sha256: secret.map(fingerprint),
            },
            HoldCause::QuotaExhausted(resets_at) => Hold {
                kind: HoldKind::QuotaExhausted,
                until: epoch(resets_at).max(epoch(now) + 1),
                message: message.to_owned(),
                secret_sha256: None,
            },
        };
        write_json(&self.dir, &self.hold_path(), &hold)
    }

    /// Forgets the hold.
    pub fn clear_hold(&self) {
        let _ = fs::remove_file(self.hold_path());
    }

    /// This host's usage of the quota day containing `now`.
    pub fn usage(&self, now: SystemTime) -> Usage {
        read_json::<Usage>(&self.path("usage"))
            .filter(|usage| epoch(now) < usage.resets_at)
            .unwrap_or_default()
    }

    /// Adds `calls` and `token_requests` to the day ending at `resets_at`, under a lock so
    /// that concurrent runs lose no count.
    pub fn add_usage(
        &self,
        resets_at: SystemTime,
        calls: u64,
        token_requests: u64,
    ) -> std::io::Result<()> {
        if calls == 0 && token_requests == 0 {
            return Ok(());
        }
        ensure_dir(&self.dir)?;
        let lock = open_private(&self.path("usage.lock"), false)?;
        lock.lock()?;
        let path = self.path("usage");
        let mut usage = read_json::<Usage>(&path)
            .filter(|usage| usage.resets_at == epoch(resets_at))
            .unwrap_or(Usage {
                resets_at: epoch(resets_at),
                ..Usage::default()
            });
        usage.calls = usage.calls.saturating_add(calls);
        usage.token_requests = usage.token_requests.saturating_add(token_requests);
        let written = write_json(&self.dir, &path, &usage);
        lock.unlock()?;
        written
    }
}

impl Hold {
    /// The failure a run reports when it finds this hold.
    pub fn failure(&self) -> Failure {
        let until = utc(instant(self.until));
        match self.kind {
            HoldKind::CredentialsRefused => Failure::new(
                CREDENTIALS_REFUSED,
                format!(
                    "the client credentials were refused earlier, and bearer sends no token request before {until}: {}\nChange the secret (`bearer configure`, BEARER_CLIENT_SECRET), or run `bearer logout` to ask again at once.",
                    self.message.lines().next().unwrap_or_default()
                ),
            ),
            HoldKind::QuotaExhausted => Failure::new(
                QUOTA_EXHAUSTED,
                format!(
                    "the day's call quota is spent; bearer sends nothing before the reset at {until}.\n{}",
                    self.message.lines().next().unwrap_or_default()
                ),
            ),
        }
    }
}

fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

fn open_private(path: &Path, truncate: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options
        .read(true)
        .write(true)
        .create(true)
        .truncate(truncate);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let mut text = String::new();
    File::open(path)
        .ok()?
        .take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes `value` to `path` through a temporary file renamed over it (mode 0600).
fn write_json<T: Serialize>(dir: &Path, path: &Path, value: &T) -> std::io::Result<()> {
    ensure_dir(dir)?;
    let temp = tempfile::Builder::new()
        .prefix(".bearer-")
        .tempfile_in(dir)?;
    let json = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    temp.as_file().write_all(&json)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_lasts_until_it_expires_or_the_secret_changes() {
        let dir = tempfile::tempdir().unwrap();
        let memory = Memory::new(dir.path(), "https://x.example/t", "id");
        let now = instant(1_000_000);
        let hour = Duration::from_secs(3600);
        memory
            .remember(
                HoldCause::CredentialsRefused,
                now,
                hour,
                "refused",
                Some("s1"),
            )
            .unwrap();
        let text = fs::read_to_string(memory.hold_path()).unwrap();
        assert!(!text.contains("s1\""), "{text}");
        assert!(memory.hold(now, Some("s1")).is_some());
        assert!(memory.hold(now + hour, Some("s1")).is_none(), "expired");
        memory
            .remember(
                HoldCause::CredentialsRefused,
                now,
                hour,
                "refused",
                Some("s1"),
            )
            .unwrap();
        assert!(memory.hold(now, Some("s2")).is_none(), "another secret");
        assert!(!memory.hold_path().exists());
    }

    #[test]
    fn a_quota_hold_ends_at_the_reset_and_usage_adds_up() {
        let dir = tempfile::tempdir().unwrap();
        let memory = Memory::new(dir.path(), "https://x.example/t", "id");
        let now = instant(1_000_000);
        let reset = instant(1_050_000);
        memory
            .remember(
                HoldCause::QuotaExhausted(reset),
                now,
                Duration::ZERO,
                "spent",
                None,
            )
            .unwrap();
        let hold = memory.hold(now, Some("any")).unwrap();
        assert_eq!(hold.failure().code, QUOTA_EXHAUSTED);
        assert!(memory.hold(reset, None).is_none());
        memory.add_usage(reset, 2, 1).unwrap();
        memory.add_usage(reset, 1, 0).unwrap();
        assert_eq!(memory.usage(now).calls, 3);
        assert_eq!(memory.usage(now).token_requests, 1);
        assert_eq!(memory.usage(reset), Usage::default());
    }
}
