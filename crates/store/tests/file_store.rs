//! The file store's steps against a real directory: the compare-and-swap fence, the lease
//! across handles (as across processes), waking a waiter, and a corrupt record set aside.

use bearer_protocol::fleet::{LeaseId, LeaseOutcome, QuotaDay, Record};
use bearer_protocol::{AccessToken, Credential, RefreshToken, StoredTokens};
use bearer_store::{FileStore, FleetStore, WriteOutcome};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

fn credential() -> Credential {
    Credential {
        token_url: "http://127.0.0.1:9/oauth2/token".into(),
        client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
    }
}

fn record(generation: u64, access: &str) -> Record {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    Record {
        tokens: Some(StoredTokens {
            access_token: AccessToken::new(access),
            refresh_token: Some(RefreshToken::new("edcv2npr3furqsnscpn795t9")),
            expires_at: now + Duration::from_secs(3600),
            scope: None,
            issued_to: credential(),
        }),
        generation,
        day: QuotaDay::starting(now),
    }
}

const TTL: Duration = Duration::from_secs(30);

#[test]
fn writes_are_fenced_by_the_generation_and_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    let c = credential();
    assert!(matches!(
        store.write(&c, 0, None, &record(1, "a")).unwrap(),
        WriteOutcome::Written
    ));
    // A writer that read generation 0 is refused and shown the record as it is.
    let WriteOutcome::Conflict(Some(now)) = store.write(&c, 0, None, &record(1, "b")).unwrap()
    else {
        panic!("a stale write must conflict");
    };
    assert_eq!(now.generation, 1);
    assert_eq!(now.tokens.unwrap().access_token.expose(), "a");
    // A write that requires a lease this store does not hold is refused too.
    assert!(matches!(
        store
            .write(&c, 1, Some(LeaseId(7)), &record(2, "b"))
            .unwrap(),
        WriteOutcome::Conflict(_)
    ));
    let read = store.read(&c).unwrap().unwrap();
    assert_eq!(read.generation, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.record_path(&c))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "a record holds credentials: owner only"
        );
    }
}

#[test]
fn one_handle_holds_the_lease_until_it_releases_or_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let a = FileStore::new(dir.path()).unwrap();
    let b = FileStore::new(dir.path()).unwrap();
    let c = credential();
    let (_, won) = a.take_lease(&c, LeaseId(1), TTL).unwrap();
    assert_eq!(won, LeaseOutcome::Won);
    let (_, held) = b.take_lease(&c, LeaseId(2), TTL).unwrap();
    assert!(matches!(held, LeaseOutcome::Held { .. }));
    // The holder writes under its lease; the other cannot.
    assert!(matches!(
        a.write(&c, 0, Some(LeaseId(1)), &record(1, "a")).unwrap(),
        WriteOutcome::Written
    ));
    assert!(matches!(
        b.write(&c, 1, Some(LeaseId(2)), &record(2, "b")).unwrap(),
        WriteOutcome::Conflict(_)
    ));
    a.release(&c, LeaseId(1)).unwrap();
    let (record, won) = b.take_lease(&c, LeaseId(2), TTL).unwrap();
    assert_eq!(won, LeaseOutcome::Won);
    assert_eq!(
        record.unwrap().generation,
        1,
        "the record is read with the lease"
    );
    // A holder that goes away (as a process that exits) leaves the lease free.
    drop(b);
    let (_, won) = a.take_lease(&c, LeaseId(3), TTL).unwrap();
    assert_eq!(won, LeaseOutcome::Won);
}

#[test]
fn a_waiter_is_woken_by_the_release_not_by_its_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let holder = Arc::new(FileStore::new(dir.path()).unwrap());
    let waiter = FileStore::new(dir.path()).unwrap();
    let c = credential();
    assert_eq!(
        holder.take_lease(&c, LeaseId(1), TTL).unwrap().1,
        LeaseOutcome::Won
    );
    let (started, ready) = std::sync::mpsc::channel();
    let releasing = {
        let holder = Arc::clone(&holder);
        let c = c.clone();
        std::thread::spawn(move || {
            // Released once the waiter has seen the lease held.
            ready.recv().unwrap();
            holder
                .write(&c, 0, Some(LeaseId(1)), &record(1, "a"))
                .unwrap();
            holder.release(&c, LeaseId(1)).unwrap();
        })
    };
    started.send(()).unwrap();
    // A time-out far longer than any test run: only the release can end this wait.
    waiter.wait(&c, 0, Duration::from_secs(3600)).unwrap();
    releasing.join().unwrap();
    assert_eq!(waiter.read(&c).unwrap().unwrap().generation, 1);
}

#[test]
fn a_corrupt_or_foreign_record_is_set_aside_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(dir.path()).unwrap();
    let c = credential();
    std::fs::write(store.record_path(&c), b"{\"tokens\": tru").unwrap();
    assert!(store.read(&c).unwrap().is_none());
    let notice = store.take_notice().expect("reported");
    assert!(notice.contains("set aside"), "{notice}");
    assert!(store.take_notice().is_none());
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
        .collect();
    assert_eq!(aside.len(), 1);
    // Then the store works as if empty.
    assert!(matches!(
        store.write(&c, 0, None, &record(1, "a")).unwrap(),
        WriteOutcome::Written
    ));
    // A record of another credential (a file copied by hand) is set aside as well.
    let other = Credential {
        client_id: "another0client0id0000000".into(),
        ..credential()
    };
    std::fs::copy(store.record_path(&c), store.record_path(&other)).unwrap();
    assert!(store.read(&other).unwrap().is_none());
    assert!(store.take_notice().unwrap().contains("another credential"));
}
