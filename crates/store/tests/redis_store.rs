//! The Redis store's steps against a real, throwaway `redis-server` (one per test, on a free
//! loopback port, no persistence): the compare-and-swap fence, the lease and its expiry,
//! waiters woken by pub/sub, encryption at rest, a server that stops, the day's counters.
//!
//! They need `redis-server` on `PATH`, so they are ignored by default; run them with
//! `cargo test -p bearer-store --features redis -- --include-ignored`. Run so without the
//! binary, they fail (never a silent pass).
#![cfg(feature = "redis")]

use bearer_protocol::fleet::{LeaseId, LeaseOutcome, QuotaDay, Record};
use bearer_protocol::{AccessToken, Credential, RefreshToken, StoredTokens};
use bearer_store::{FleetStore, RedisStore, WriteOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod redis_server;

use redis_server::RedisServer as Server;

impl Server {
    fn store(&self) -> RedisStore {
        RedisStore::open(&self.url()).unwrap()
    }

    /// A plain connection, to look at the keys as they are.
    fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap()
    }
}

fn credential() -> Credential {
    Credential {
        token_url: "http://127.0.0.1:9/oauth2/token".into(),
        client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
    }
}

fn keys() -> String {
    // The credential key as the store computes it (FNV-1a of the token URL and client id).
    let credential = credential();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in credential
        .token_url
        .as_bytes()
        .iter()
        .chain(b"\n")
        .chain(credential.client_id.expose().as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("bearer:{{{hash:016x}}}")
}

const ACCESS: &str = "66mrpvtv4mvs6bz728nbaqmc";
const REFRESH: &str = "edcv2npr3furqsnscpn795t9";

fn record(generation: u64, access: &str) -> Record {
    let now = SystemTime::now();
    Record {
        tokens: Some(StoredTokens {
            access_token: AccessToken::new(access),
            refresh_token: Some(RefreshToken::new(REFRESH)),
            expires_at: now + Duration::from_secs(3600),
            scope: None,
            issued_to: credential(),
        }),
        generation,
        day: QuotaDay::starting(now),
    }
}

const TTL: Duration = Duration::from_secs(30);

/// One of the store's steps, its answer dropped.
type Step<'a> = dyn Fn() -> Result<(), bearer_store::StoreError> + 'a;

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn writes_are_fenced_by_the_generation_and_the_lease() {
    let server = Server::start();
    let store = server.store();
    let c = credential();
    assert!(store.read(&c).unwrap().is_none());
    assert!(matches!(
        store.write(&c, 0, None, &record(1, "a")).unwrap(),
        WriteOutcome::Written
    ));
    // A writer that read generation 0 is refused and shown the record as it is.
    let WriteOutcome::Conflict(Some(current)) = store.write(&c, 0, None, &record(1, "b")).unwrap()
    else {
        panic!("a stale write must conflict");
    };
    assert_eq!(current.generation, 1);
    assert_eq!(current.tokens.unwrap().access_token.expose(), "a");
    // A write that requires a lease nobody holds is refused.
    assert!(matches!(
        store
            .write(&c, 1, Some(LeaseId(7)), &record(2, "b"))
            .unwrap(),
        WriteOutcome::Conflict(Some(_))
    ));
    // ... and one that requires a lease another holder has.
    let (_, won) = store.take_lease(&c, LeaseId(8), TTL).unwrap();
    assert_eq!(won, LeaseOutcome::Won);
    assert!(matches!(
        store
            .write(&c, 1, Some(LeaseId(7)), &record(2, "b"))
            .unwrap(),
        WriteOutcome::Conflict(Some(_))
    ));
    // The holder's write goes through.
    assert!(matches!(
        store
            .write(&c, 1, Some(LeaseId(8)), &record(2, "c"))
            .unwrap(),
        WriteOutcome::Written
    ));
    let read = store.read(&c).unwrap().unwrap();
    assert_eq!(read.generation, 2);
    assert_eq!(read.tokens.unwrap().access_token.expose(), "c");
    assert!(store.take_notice().is_none());
    // The names of the keys: all in one hash slot.
    let mut raw = server.raw();
    let generation: String = redis::cmd("HGET")
        .arg(format!("{}:record", keys()))
        .arg("generation")
        .query(&mut raw)
        .unwrap();
    assert_eq!(generation, "2");
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn one_holder_has_the_lease_until_it_releases_or_it_expires() {
    let server = Server::start();
    let a = server.store();
    let b = server.store();
    let c = credential();
    a.write(&c, 0, None, &record(1, "a")).unwrap();
    let (read, won) = a.take_lease(&c, LeaseId(1), TTL).unwrap();
    assert_eq!(won, LeaseOutcome::Won);
    assert_eq!(
        read.unwrap().generation,
        1,
        "the record comes with the lease"
    );
    // Taking it again (a retried call whose answer was lost) keeps it.
    assert_eq!(
        a.take_lease(&c, LeaseId(1), TTL).unwrap().1,
        LeaseOutcome::Won
    );
    let (read, held) = b.take_lease(&c, LeaseId(2), TTL).unwrap();
    assert_eq!(read.unwrap().generation, 1);
    let LeaseOutcome::Held { remaining } = held else {
        panic!("a second holder must be refused");
    };
    assert!(
        remaining > Duration::ZERO && remaining <= TTL,
        "{remaining:?}"
    );
    // A release by a non-holder does nothing.
    b.release(&c, LeaseId(2)).unwrap();
    assert!(matches!(
        b.take_lease(&c, LeaseId(2), TTL).unwrap().1,
        LeaseOutcome::Held { .. }
    ));
    // Released, it can be won.
    a.release(&c, LeaseId(1)).unwrap();
    assert_eq!(
        b.take_lease(&c, LeaseId(2), TTL).unwrap().1,
        LeaseOutcome::Won
    );
    b.release(&c, LeaseId(2)).unwrap();

    // A holder that never releases: the lease carries its ttl, so Redis ends it by itself
    // (Redis's own clock; asserted on the key, not waited for).
    let short = Duration::from_millis(200);
    assert_eq!(
        a.take_lease(&c, LeaseId(3), short).unwrap().1,
        LeaseOutcome::Won
    );
    assert!(matches!(
        b.take_lease(&c, LeaseId(4), TTL).unwrap().1,
        LeaseOutcome::Held { remaining } if remaining <= short
    ));
    let mut raw = server.raw();
    let pttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}:lease", keys()))
        .query(&mut raw)
        .unwrap();
    assert!(
        pttl > 0 && pttl <= 200,
        "the lease expires after its ttl: {pttl} ms"
    );
    // Gone (as when it expires), the next holder wins it.
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{}:lease", keys()))
        .query(&mut raw)
        .unwrap();
    assert_eq!(
        b.take_lease(&c, LeaseId(4), TTL).unwrap().1,
        LeaseOutcome::Won
    );
}

/// Blocks until a waiter is subscribed to the credential's channel (`PUBSUB NUMSUB`), so that
/// what the test does next happens while it waits; bounded.
fn until_subscribed(server: &Server, waiter: &std::thread::JoinHandle<Duration>) {
    let mut raw = server.raw();
    for _ in 0..10_000 {
        let (_, subscribers): (String, i64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(format!("{}:changed", keys()))
            .query(&mut raw)
            .unwrap();
        if subscribers > 0 {
            assert!(!waiter.is_finished(), "the waiter waits");
            return;
        }
        std::thread::yield_now();
    }
    panic!("the waiter never subscribed");
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn a_waiter_is_woken_by_another_write_or_release_and_otherwise_times_out() {
    let server = Server::start();
    let store = Arc::new(server.store());
    let writer = server.store();
    let c = credential();
    writer.write(&c, 0, None, &record(1, "a")).unwrap();

    // The record changed already: no wait.
    let started = Instant::now();
    store.wait(&c, 0, Duration::from_secs(3600)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    // Nobody holds the lease: no wait either (nobody is renewing).
    store.wait(&c, 1, Duration::from_secs(3600)).unwrap();
    store.wait(&c, 1, Duration::MAX).unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));

    // Held: only the writer's notification can end an hour's wait before the lease's 30 s.
    assert_eq!(
        writer.take_lease(&c, LeaseId(9), TTL).unwrap().1,
        LeaseOutcome::Won
    );
    let waiter = {
        let (store, c) = (Arc::clone(&store), c.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            store.wait(&c, 1, Duration::MAX).unwrap();
            started.elapsed()
        })
    };
    until_subscribed(&server, &waiter);
    assert!(matches!(
        writer
            .write(&c, 1, Some(LeaseId(9)), &record(2, "b"))
            .unwrap(),
        WriteOutcome::Written
    ));
    // An unbounded wait that ends: only the write's notification can end it.
    let waited = waiter.join().unwrap();
    assert!(
        waited < Duration::from_secs(5),
        "woken by the write: {waited:?}"
    );

    // Woken by a release too.
    let waiter = {
        let (store, c) = (Arc::clone(&store), c.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            store.wait(&c, 2, Duration::from_secs(3600)).unwrap();
            started.elapsed()
        })
    };
    until_subscribed(&server, &waiter);
    writer.release(&c, LeaseId(9)).unwrap();
    let waited = waiter.join().unwrap();
    assert!(
        waited < Duration::from_secs(5),
        "woken by the release: {waited:?}"
    );

    // Nothing happens: back at the time-out.
    writer.take_lease(&c, LeaseId(10), TTL).unwrap();
    let started = Instant::now();
    store.wait(&c, 2, Duration::from_millis(300)).unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    writer.release(&c, LeaseId(10)).unwrap();

    // A holder that dies: the wait ends when its lease expires, not at the time-out.
    writer
        .take_lease(&c, LeaseId(11), Duration::from_millis(300))
        .unwrap();
    let started = Instant::now();
    store.wait(&c, 2, Duration::from_secs(3600)).unwrap();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(3), "{waited:?}");
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn tokens_at_rest_are_encrypted_with_the_users_key() {
    let server = Server::start();
    let store = server.store().with_encryption_key([0x11; 32]);
    let c = credential();
    assert!(matches!(
        store.write(&c, 0, None, &record(1, ACCESS)).unwrap(),
        WriteOutcome::Written
    ));
    let mut raw = server.raw();
    let data: String = redis::cmd("HGET")
        .arg(format!("{}:record", keys()))
        .arg("data")
        .query(&mut raw)
        .unwrap();
    assert!(!data.contains(ACCESS) && !data.contains(REFRESH), "{data}");
    assert!(!data.contains("access_token"), "the whole record is sealed");
    // Nothing else in Redis holds it either.
    let dump: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(format!("{}:day", keys()))
        .query(&mut raw)
        .unwrap();
    assert!(dump.iter().all(|(_, v)| !v.contains(ACCESS)));
    // A second write: another nonce, so another text.
    store.write(&c, 1, None, &record(2, ACCESS)).unwrap();
    let again: String = redis::cmd("HGET")
        .arg(format!("{}:record", keys()))
        .arg("data")
        .query(&mut raw)
        .unwrap();
    assert_ne!(again[..32], data[..32]);

    // The right key reads it back.
    let same = server.store().with_encryption_key([0x11; 32]);
    let read = same.read(&c).unwrap().unwrap();
    assert_eq!(read.generation, 2);
    assert_eq!(read.tokens.unwrap().access_token.expose(), ACCESS);
    assert!(same.take_notice().is_none());

    // The wrong key: a notice (without the token), nothing read, the record set aside.
    let wrong = server.store().with_encryption_key([0x22; 32]);
    assert!(wrong.read(&c).unwrap().is_none());
    let notice = wrong.take_notice().expect("a record that does not decrypt");
    assert!(notice.contains("does not decrypt"), "{notice}");
    assert!(!notice.contains(ACCESS) && !notice.contains(REFRESH));
    assert!(wrong.take_notice().is_none(), "reported once");
    let aside: bool = redis::cmd("EXISTS")
        .arg(format!("{}:corrupt", keys()))
        .query(&mut raw)
        .unwrap();
    assert!(aside, "set aside, not deleted");
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{}:corrupt", keys()))
        .query(&mut raw)
        .unwrap();
    assert!(ttl > 6 * 86_400, "kept a week: {ttl}");
    // ... so that the wrong-key store can start the record again.
    assert!(matches!(
        wrong.write(&c, 0, None, &record(1, "fresh")).unwrap(),
        WriteOutcome::Written
    ));
    // A store without a key does not take a sealed record for a record.
    let plain = server.store();
    assert!(plain.read(&c).unwrap().is_none());
    assert!(plain.take_notice().unwrap().contains("is not JSON"));
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn a_corrupt_record_is_set_aside_and_reported() {
    let server = Server::start();
    let store = server.store();
    let c = credential();
    let mut raw = server.raw();
    let () = redis::cmd("HSET")
        .arg(format!("{}:record", keys()))
        .arg("generation")
        .arg("4")
        .arg("data")
        .arg("{\"tokens\":")
        .query(&mut raw)
        .unwrap();
    // Met in a conflict: the record set aside, the conflict shows none.
    assert!(matches!(
        store.write(&c, 0, None, &record(1, "a")).unwrap(),
        WriteOutcome::Conflict(None)
    ));
    let notice = store.take_notice().unwrap();
    assert!(notice.contains("is not JSON"), "{notice}");
    assert!(store.read(&c).unwrap().is_none());
    assert!(matches!(
        store.write(&c, 0, None, &record(1, "a")).unwrap(),
        WriteOutcome::Written
    ));
    assert_eq!(store.read(&c).unwrap().unwrap().generation, 1);
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn the_days_counters_expire_when_the_day_resets() {
    let server = Server::start();
    let store = server.store();
    let c = credential();
    let mut day = record(1, "a");
    day.day.calls = 120;
    day.day.token_requests = 2;
    store.write(&c, 0, None, &day).unwrap();
    let mut raw = server.raw();
    let name = format!("{}:day", keys());
    let (calls, requests, resets_at): (u64, u32, u64) = redis::cmd("HMGET")
        .arg(&name)
        .arg("calls")
        .arg("token_requests")
        .arg("resets_at")
        .query(&mut raw)
        .unwrap();
    assert_eq!((calls, requests), (120, 2));
    let expected = day.day.resets_at.duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(resets_at, expected.as_secs());
    let expires: i64 = redis::cmd("PEXPIRETIME")
        .arg(&name)
        .query(&mut raw)
        .unwrap();
    assert_eq!(expires as u128, expected.as_millis());
}

#[test]
#[ignore = "needs redis-server (apt-get install redis-server)"]
fn a_store_that_stops_answering_is_an_error_never_a_hang() {
    let server = Server::start();
    let timeout = Duration::from_millis(300);
    let store = server.store().with_timeouts(timeout, timeout);
    let c = credential();
    store.write(&c, 0, None, &record(1, "a")).unwrap();
    let bound = Duration::from_secs(2);
    let every_step = |store: &RedisStore| {
        let steps: [(&str, &Step); 5] = [
            ("read", &|| store.read(&c).map(drop)),
            ("take_lease", &|| {
                store.take_lease(&c, LeaseId(1), TTL).map(drop)
            }),
            ("write", &|| {
                store.write(&c, 1, None, &record(2, "b")).map(drop)
            }),
            ("release", &|| store.release(&c, LeaseId(1))),
            ("wait", &|| store.wait(&c, 1, Duration::from_secs(3600))),
        ];
        for (step, call) in steps {
            let started = Instant::now();
            let result = call();
            let took = started.elapsed();
            eprintln!("{step}: {took:?}");
            let error = result.expect_err("a stopped store must be an Err");
            assert!(!error.to_string().contains(ACCESS), "{step}: {error}");
            assert!(took < bound, "{step} took {took:?}");
        }
    };

    // Paused (it accepts connections but never answers): each step times out.
    server.signal("-STOP");
    every_step(&store);
    server.signal("-CONT");
    // It answers again: the store reconnects.
    assert_eq!(store.read(&c).unwrap().unwrap().generation, 1);

    // Gone: refused at once.
    let port = server.port();
    drop(server);
    every_step(&store);
    // Back on the same port: the next call connects again.
    let Some(_again) = Server::start_on(port) else {
        return; // the port was taken meanwhile; what mattered is above
    };
    assert!(store.read(&c).unwrap().is_none(), "a new, empty server");
}
