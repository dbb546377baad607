//! [`RedisStore`]: the fleet store of many hosts, a Redis server the processes share; the keys
//! it uses and the scripts of its steps are described on the type.

use crate::key::credential_key;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bearer_client_core::{FleetStore, StoreError, WriteOutcome};
use bearer_protocol::Credential;
use bearer_protocol::fleet::{LeaseId, LeaseOutcome, Record};
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use redis::{Client, Connection, RedisError, Script};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};
use zeroize::Zeroize as _;

/// The default time to connect, and to wait for an answer to a command.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a record set aside is kept.
const CORRUPT_KEPT: Duration = Duration::from_secs(7 * 86_400);

/// Largest `data` field decoded: a record is well under a kilobyte.
const MAX_DATA_BYTES: usize = 64 * 1024;

/// Bytes of the random nonce before each ciphertext.
const NONCE_BYTES: usize = 24;

/// Takes the lease if free (or already the caller's, as after a retried call whose answer was
/// lost), and reads the lease's time to live and the record in the same step.
/// KEYS: record, lease. ARGV: holder, ttl in ms.
/// Returns `{won, pttl, generation, data}`.
const TAKE_LEASE: &str = r"
local won = 0
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  won = 1
elseif redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  won = 1
end
local ttl = redis.call('PTTL', KEYS[2])
local record = redis.call('HMGET', KEYS[1], 'generation', 'data')
return {won, ttl, record[1], record[2]}
";

/// The compare-and-swap write.
/// KEYS: record, lease, day. ARGV: expected generation, lease holder ('' for none), new
/// generation, data, calls, token requests, day reset (s), day reset (ms), channel.
/// Returns `{1, false, false}` when written, `{0, generation, data}` on a conflict.
const WRITE: &str = r"
local current = redis.call('HMGET', KEYS[1], 'generation', 'data')
if (current[1] or '0') ~= ARGV[1] then
  return {0, current[1], current[2]}
end
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then
  return {0, current[1], current[2]}
end
redis.call('HSET', KEYS[1], 'generation', ARGV[3], 'data', ARGV[4])
redis.call('HSET', KEYS[3], 'calls', ARGV[5], 'token_requests', ARGV[6], 'resets_at', ARGV[7])
redis.call('PEXPIREAT', KEYS[3], ARGV[8])
redis.call('PUBLISH', ARGV[9], ARGV[3])
return {1, false, false}
";

/// Compare-and-delete of the lease, and a wake-up for the waiters.
/// KEYS: lease. ARGV: holder, channel. Returns 1 if the lease was the holder's.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
";

/// What a waiter checks once subscribed. KEYS: record, lease. Returns `{generation, pttl}`.
const WAIT_CHECK: &str = r"
return {redis.call('HGET', KEYS[1], 'generation') or '0', redis.call('PTTL', KEYS[2])}
";

/// Sets a record aside if it is still the one read.
/// KEYS: record, corrupt. ARGV: data ('' for none), ms to keep it. Returns 1 if set aside.
const SET_ASIDE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 and (redis.call('HGET', KEYS[1], 'data') or '') == ARGV[1] then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
";

/// The fleet store of many hosts: a Redis server (or a cluster node) that the processes using
/// one credential share.
///
/// # Keys
///
/// Per credential, with `<key>` 16 hex digits naming it (a hash of its token URL and client id,
/// the same as the file store's), in braces so that every key of one credential falls in one
/// hash slot (Redis Cluster runs a script only on keys of one slot):
///
/// - `bearer:{<key>}:record`: a hash, `generation` (decimal) and `data` (the [`Record`] as
///   JSON, or, with an [encryption key](Self::with_encryption_key), base64 of a 24-byte
///   nonce followed by its XChaCha20-Poly1305 ciphertext);
/// - `bearer:{<key>}:lease`: the renewal lease, a string holding the holder's id, set with
///   `NX PX <ttl>`, so that Redis itself ends the lease of a holder that died;
/// - `bearer:{<key>}:day`: the quota day's counts in plain figures (`calls`, `token_requests`,
///   `resets_at` in seconds), for operators; it expires (`PEXPIREAT`) when the day resets;
/// - `bearer:{<key>}:corrupt`: a record this store could not read back, set aside (kept 7
///   days);
/// - `bearer:{<key>}:changed`: a pub/sub channel; each write publishes the new generation on
///   it, and each release publishes `released`, so that waiters wake at once.
///
/// # Steps
///
/// Each step is one Lua script (sent by its SHA1, `EVALSHA`, and in full when the server does
/// not know it yet), so each is atomic: the lease is taken and the record read in one step, a
/// write compares the generation (and that the lease is still the writer's) and stores in one
/// step, and a release deletes the lease only if it is still the releaser's. Taking a lease
/// one already holds wins it again and restarts its ttl, so that a call retried after its
/// answer was lost does not leave the caller waiting on its own lease.
///
/// # Unreadable records
///
/// A record that does not decode (not JSON, not a record, another credential's, or, with an
/// encryption key, one that does not decrypt with it, including a record written without
/// encryption) is renamed `bearer:{<key>}:corrupt`, only if it is still the record read, and
/// reported through [`take_notice`](FleetStore::take_notice); the store then reads as empty,
/// so that the next write can start the record again. It is renamed rather than left in place
/// because a record left there would refuse every write expecting no record, and the client
/// could never share its renewals again; it is not deleted, so that an operator can look at it.
/// Processes configured with different encryption keys for one credential thus set each
/// other's records aside in turn (each costing one token request): the notice says so. Turning
/// encryption on sets the plaintext record aside once, for the same reason (a sealed store
/// accepts only records it can authenticate).
///
/// # Connections
///
/// Opening it does not connect: the first call does, with the connect time-out, and each call
/// waits at most the response time-out for its answer (2 s each by default), so a call to a
/// server that stops answering fails after one connect and one answer time-out at most (a
/// wait: two of each, for its own connection and the shared one). Any failure is an `Err` (the client then works alone and reports it); the connection is dropped and the
/// next call connects again. [`wait`](FleetStore::wait) uses a connection of its own for the
/// notification it waits for.
///
/// ```no_run
/// use bearer_store::{FleetStore, RedisStore};
/// use bearer_protocol::Credential;
/// use std::time::Duration;
///
/// let store = RedisStore::open("redis://127.0.0.1:6379/0")?
///     .with_timeouts(Duration::from_secs(1), Duration::from_secs(1))
///     .with_encryption_key([7; 32]);
/// let credential = Credential {
///     token_url: "https://api.example.com/oauth2/token".into(),
///     client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
/// };
/// let record = store.read(&credential)?;
/// # let _ = record;
/// # Ok::<(), bearer_store::StoreError>(())
/// ```
pub struct RedisStore {
    client: Client,
    /// Where the server is (host and port, or socket path) and the database: no password.
    target: String,
    connect_timeout: Duration,
    response_timeout: Duration,
    /// The connection of the steps other than `wait`; `None` until connected, or after an
    /// error.
    connection: Mutex<Option<Connection>>,
    cipher: Option<XChaCha20Poly1305>,
    notice: Mutex<Option<String>>,
    take_lease: Script,
    write: Script,
    release: Script,
    wait_check: Script,
    set_aside: Script,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // By hand: neither the URL's password nor the encryption key may be printed.
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("encrypted", &self.cipher.is_some())
            .finish_non_exhaustive()
    }
}

/// A Redis failure, described without its server text (which may quote a command's
/// arguments) or the URL (which may hold a password).
#[derive(Debug)]
struct RedisStoreError {
    step: &'static str,
    what: String,
}

impl fmt::Display for RedisStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Redis store failed to {}: {}", self.step, self.what)
    }
}

impl std::error::Error for RedisStoreError {}

fn store_error(step: &'static str, error: &RedisError) -> StoreError {
    let what = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connection_refusal() {
        "connection refused".to_owned()
    } else if error.is_connection_dropped() {
        "connection dropped".to_owned()
    } else if let Some(code) = error.code() {
        // The server's error code only (`NOPERM`, `READONLY`, `WRONGTYPE`...).
        format!(
            "the server answered {}",
            code.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        )
    } else {
        format!("{:?} error", error.kind())
    };
    Box::new(RedisStoreError { step, what })
}

fn other_error(step: &'static str, what: &str) -> StoreError {
    Box::new(RedisStoreError {
        step,
        what: what.to_owned(),
    })
}

/// The names of one credential's keys.
struct Keys {
    credential: String,
    record: String,
    lease: String,
    day: String,
    corrupt: String,
    channel: String,
}

impl Keys {
    fn of(credential: &Credential) -> Self {
        let key = credential_key(credential);
        let name = |suffix: &str| format!("bearer:{{{key}}}:{suffix}");
        Self {
            record: name("record"),
            lease: name("lease"),
            day: name("day"),
            corrupt: name("corrupt"),
            channel: name("changed"),
            credential: key,
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl RedisStore {
    /// A store on the Redis server at `url`; does not connect yet (see the
    /// [type docs](Self)). The forms:
    ///
    /// - `redis://host[:port][/db]` (port 6379 and database 0 by default), for instance
    ///   `redis://127.0.0.1:6379/0`;
    /// - `redis://[user][:password]@host[:port][/db]` with ACL or `requirepass`
    ///   authentication (percent-encode special characters);
    /// - `redis+unix:///path/to/redis.sock[?db=N]` (or `unix:///path...`) for a Unix socket.
    ///
    /// `rediss://` (TLS) is refused: this build of the store has no TLS. For a Redis Cluster
    /// give one node; all of a credential's keys are in one slot, but requests are not
    /// redirected, so give the node that serves that slot (or use a proxy).
    ///
    /// An `Err` when the URL does not parse (its message never repeats the URL).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|error| store_error("open its URL", &error))?;
        let info = client.get_connection_info();
        let target = format!("{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self {
            client,
            target,
            connect_timeout: DEFAULT_TIMEOUT,
            response_timeout: DEFAULT_TIMEOUT,
            connection: Mutex::new(None),
            cipher: None,
            notice: Mutex::new(None),
            take_lease: Script::new(TAKE_LEASE),
            write: Script::new(WRITE),
            release: Script::new(RELEASE),
            wait_check: Script::new(WAIT_CHECK),
            set_aside: Script::new(SET_ASIDE),
        })
    }

    /// Sets the time-outs: to connect, and to wait for each answer (2 s each by default; a zero
    /// duration counts as 1 ms).
    pub fn with_timeouts(mut self, connect: Duration, response: Duration) -> Self {
        self.connect_timeout = connect.max(Duration::from_millis(1));
        self.response_timeout = response.max(Duration::from_millis(1));
        self
    }

    /// Encrypts the records at rest with `key` (XChaCha20-Poly1305, a random nonce per write,
    /// the credential key as associated data, so a record cannot be moved to another
    /// credential's key). Every process sharing the credential must use the same key; a record
    /// that does not decrypt is set aside (see [`RedisStore`]). The key is kept only
    /// inside the cipher (wiped when the store is dropped) and never printed; the copy passed
    /// in is wiped, the caller should wipe its own.
    pub fn with_encryption_key(mut self, mut key: [u8; 32]) -> Self {
        self.cipher = Some(XChaCha20Poly1305::new(&key.into()));
        key.zeroize();
        self
    }

    /// Where the store connects: host and port (or socket path) and database, no password.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn connect(&self) -> Result<Connection, RedisError> {
        let connection = self
            .client
            .get_connection_with_timeout(self.connect_timeout)?;
        connection.set_read_timeout(Some(self.response_timeout))?;
        connection.set_write_timeout(Some(self.response_timeout))?;
        Ok(connection)
    }

    /// Runs `f` on the shared connection (connecting first if need be); an error drops the
    /// connection, so that the next call connects again.
    fn with_connection<T>(
        &self,
        step: &'static str,
        f: impl FnOnce(&mut Connection) -> Result<T, RedisError>,
    ) -> Result<T, StoreError> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let connection = match slot.as_mut() {
            Some(connection) => connection,
            None => slot.insert(self.connect().map_err(|error| store_error(step, &error))?),
        };
        match f(connection) {
            Ok(value) => Ok(value),
            Err(error) => {
                *slot = None;
                Err(store_error(step, &error))
            }
        }
    }

    /// The `data` field of `record`: JSON, or sealed when the store has a key.
    fn seal(&self, keys: &Keys, record: &Record) -> Result<String, StoreError> {
        let json = serde_json::to_vec(record)
            .map_err(|_| other_error("write", "the record did not serialize"))?;
        let Some(cipher) = &self.cipher else {
            return String::from_utf8(json)
                .map_err(|_| other_error("write", "the record did not serialize"));
        };
        let nonce = XNonce::try_generate()
            .map_err(|_| other_error("write", "no randomness for a nonce"))?;
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &json,
                    aad: keys.credential.as_bytes(),
                },
            )
            .map_err(|_| other_error("write", "the record did not encrypt"))?;
        let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(BASE64.encode(bytes))
    }

    /// The record in `data`, or why it cannot be read back (no secret in it).
    fn open_data(
        &self,
        keys: &Keys,
        credential: &Credential,
        generation: Option<&str>,
        data: Option<&str>,
    ) -> Result<Record, &'static str> {
        let data = data.ok_or("has no data")?;
        if data.len() > MAX_DATA_BYTES {
            return Err("is too large");
        }
        let json = match &self.cipher {
            // A record is a JSON object; anything else (a sealed record, base64) is not JSON,
            // whatever its first characters would parse as.
            None if !data.trim_start().starts_with('{') => return Err("is not JSON"),
            None => data.as_bytes().to_vec(),
            Some(cipher) => {
                if data.starts_with('{') {
                    return Err("is not encrypted, and this store requires encryption");
                }
                let bytes = BASE64.decode(data).map_err(|_| "is not base64")?;
                if bytes.len() < NONCE_BYTES {
                    return Err("is cut short");
                }
                let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
                let nonce = XNonce::try_from(nonce).map_err(|_| "is cut short")?;
                cipher
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: sealed,
                            aad: keys.credential.as_bytes(),
                        },
                    )
                    .map_err(
                        |_| "does not decrypt with this store's key (another key, or altered)",
                    )?
            }
        };
        let record: Record =
            serde_json::from_slice(&json).map_err(|error| match error.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "is not JSON"
                }
                _ => "is not a record",
            })?;
        if record
            .tokens
            .as_ref()
            .is_some_and(|t| &t.issued_to != credential)
        {
            return Err("names another credential");
        }
        if generation != Some(record.generation.to_string().as_str()) {
            return Err("has a generation field that does not match its data");
        }
        Ok(record)
    }

    /// The record from the fields read; `None` when there is none, or when it cannot be read
    /// back, in which case it is set aside (if still the record read) and reported.
    fn decode(
        &self,
        step: &'static str,
        credential: &Credential,
        keys: &Keys,
        generation: Option<String>,
        data: Option<String>,
    ) -> Result<Option<Record>, StoreError> {
        if generation.is_none() && data.is_none() {
            return Ok(None);
        }
        let problem = match self.open_data(keys, credential, generation.as_deref(), data.as_deref())
        {
            Ok(record) => return Ok(Some(record)),
            Err(problem) => problem,
        };
        let set_aside: i64 = self.with_connection(step, |connection| {
            self.set_aside
                .key(&keys.record)
                .key(&keys.corrupt)
                .arg(data.as_deref().unwrap_or(""))
                .arg(millis(CORRUPT_KEPT))
                .invoke(connection)
        })?;
        let notice = if set_aside == 1 {
            format!(
                "the Redis record {} {problem}; set aside as {} (kept 7 days)",
                keys.record, keys.corrupt
            )
        } else {
            format!(
                "the Redis record {} {problem}; it was replaced meanwhile",
                keys.record
            )
        };
        *self.notice.lock().unwrap_or_else(PoisonError::into_inner) = Some(notice);
        Ok(None)
    }
}

impl FleetStore for RedisStore {
    fn read(&self, credential: &Credential) -> Result<Option<Record>, StoreError> {
        let keys = Keys::of(credential);
        let (generation, data): (Option<String>, Option<String>) =
            self.with_connection("read the record", |connection| {
                redis::cmd("HMGET")
                    .arg(&keys.record)
                    .arg("generation")
                    .arg("data")
                    .query(connection)
            })?;
        self.decode("read the record", credential, &keys, generation, data)
    }

    fn take_lease(
        &self,
        credential: &Credential,
        holder: LeaseId,
        ttl: Duration,
    ) -> Result<(Option<Record>, LeaseOutcome), StoreError> {
        let keys = Keys::of(credential);
        let (won, pttl, generation, data): (i64, i64, Option<String>, Option<String>) = self
            .with_connection("take the lease", |connection| {
                self.take_lease
                    .key(&keys.record)
                    .key(&keys.lease)
                    .arg(holder.0.to_string())
                    .arg(millis(ttl).max(1))
                    .invoke(connection)
            })?;
        let record = self.decode("take the lease", credential, &keys, generation, data)?;
        let outcome = if won == 1 {
            LeaseOutcome::Won
        } else {
            LeaseOutcome::Held {
                // -1: a lease set without an expiry (not by this store): say the whole ttl,
                // as for a lease whose end the store cannot tell.
                remaining: u64::try_from(pttl).map_or(ttl, Duration::from_millis),
            }
        };
        Ok((record, outcome))
    }

    fn write(
        &self,
        credential: &Credential,
        expected: u64,
        lease: Option<LeaseId>,
        record: &Record,
    ) -> Result<WriteOutcome, StoreError> {
        let keys = Keys::of(credential);
        let data = self.seal(&keys, record)?;
        let resets_at = record
            .day
            .resets_at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (written, generation, current): (i64, Option<String>, Option<String>) = self
            .with_connection("write the record", |connection| {
                self.write
                    .key(&keys.record)
                    .key(&keys.lease)
                    .key(&keys.day)
                    .arg(expected.to_string())
                    .arg(lease.map_or_else(String::new, |id| id.0.to_string()))
                    .arg(record.generation.to_string())
                    .arg(&data)
                    .arg(record.day.calls)
                    .arg(record.day.token_requests)
                    .arg(resets_at.as_secs())
                    .arg(millis(resets_at))
                    .arg(&keys.channel)
                    .invoke(connection)
            })?;
        if written == 1 {
            return Ok(WriteOutcome::Written);
        }
        let current = self.decode("write the record", credential, &keys, generation, current)?;
        Ok(WriteOutcome::Conflict(current))
    }

    fn release(&self, credential: &Credential, holder: LeaseId) -> Result<(), StoreError> {
        let keys = Keys::of(credential);
        let _released: i64 = self.with_connection("release the lease", |connection| {
            self.release
                .key(&keys.lease)
                .arg(holder.0.to_string())
                .arg(&keys.channel)
                .invoke(connection)
        })?;
        Ok(())
    }

    fn wait(
        &self,
        credential: &Credential,
        generation: u64,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        const STEP: &str = "wait for a change";
        // `None`: further than an `Instant` reaches (a time-out of `Duration::MAX`).
        let deadline = Instant::now().checked_add(timeout);
        let keys = Keys::of(credential);
        // Subscribe first, then look: a change made between the look and the subscription
        // would otherwise be missed until the time-out.
        let mut listener = self.connect().map_err(|error| store_error(STEP, &error))?;
        listener
            .send_packed_command(
                &redis::cmd("SUBSCRIBE")
                    .arg(&keys.channel)
                    .get_packed_command(),
            )
            .and_then(|()| listener.recv_response())
            .map_err(|error| store_error(STEP, &error))?;
        let (current, pttl): (String, i64) = self.with_connection(STEP, |connection| {
            self.wait_check
                .key(&keys.record)
                .key(&keys.lease)
                .invoke(connection)
        })?;
        // PTTL: -2 when there is no lease, -1 for one without an expiry (not set by this store).
        if current != generation.to_string() || pttl == -2 {
            // Changed already, or no lease (none, or expired): nothing to wait for.
            return Ok(());
        }
        // Redis says nothing when a lease expires: wake when it would have (and a little
        // after), and let the caller look again.
        let lease_ends = u64::try_from(pttl)
            .ok()
            .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms + 10)));
        let until = match (deadline, lease_ends) {
            (Some(deadline), Some(lease_ends)) => Some(deadline.min(lease_ends)),
            (one, other) => one.or(other),
        };
        // No end at all (no time-out, a lease that never expires): a day, then look again.
        let remaining = until.map_or(Duration::from_secs(86_400), |until| {
            until.saturating_duration_since(Instant::now())
        });
        if remaining.is_zero() {
            return Ok(());
        }
        listener
            .set_read_timeout(Some(remaining))
            .map_err(|error| store_error(STEP, &error))?;
        match listener.recv_response() {
            // A message on the channel: a write or a release. (Dropping the connection ends
            // the subscription.)
            Ok(_) => Ok(()),
            Err(error) if error.is_timeout() => Ok(()),
            Err(error) => Err(store_error(STEP, &error)),
        }
    }

    fn take_notice(&self) -> Option<String> {
        self.notice
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_one_credential_share_a_hash_slot() {
        let keys = Keys::of(&Credential {
            token_url: "https://api.example.com/oauth2/token".into(),
            client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
        });
        assert_eq!(keys.record, "bearer:{e438d18d8c26bac4}:record");
        assert_eq!(keys.lease, "bearer:{e438d18d8c26bac4}:lease");
        assert_eq!(keys.day, "bearer:{e438d18d8c26bac4}:day");
        assert_eq!(keys.channel, "bearer:{e438d18d8c26bac4}:changed");
        assert_eq!(keys.corrupt, "bearer:{e438d18d8c26bac4}:corrupt");
    }

    #[test]
    fn debug_prints_neither_password_nor_key() {
        let store = RedisStore::open("redis://user:hunter2secret@127.0.0.1:6379/3")
            .unwrap()
            .with_encryption_key([0x42; 32]);
        let debug = format!("{store:?}");
        assert!(!debug.contains("hunter2secret"), "{debug}");
        assert!(!debug.contains("42, 66"), "{debug}");
        assert!(debug.contains("127.0.0.1:6379/3"), "{debug}");
        assert!(debug.contains("encrypted: true"), "{debug}");
    }

    #[test]
    fn a_bad_url_is_an_error_that_does_not_repeat_it() {
        for url in [
            "nonsense://hunter2secret@x",
            "rediss://:hunter2secret@127.0.0.1/0",
        ] {
            let error = RedisStore::open(url).unwrap_err();
            assert!(!error.to_string().contains("hunter2secret"), "{error}");
            assert!(!format!("{error:?}").contains("hunter2secret"), "{error:?}");
        }
    }
}
