// The cases every async transport (hyper, reqwest) runs: single flight across tasks,
// cancellation of the task driving the token request, and the background renewer, against the
// sandbox on 127.0.0.1. Both transports run client-core's `Flight` and renewer, so the cases
// are written once and included by each transport's `tests/concurrency.rs`, after it names its
// crate `transport` and declares its `common` module.

use bearer_sandbox::{FaultTarget, HOLD_WAIT_LIMIT, SandboxClock};
use common::*;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};
use tokio::sync::{Barrier, watch};
use transport::Clock;
use transport::{Client, ClientEvent};

fn assert_send_sync<T: Send + Sync + Clone>(_: &T) {}
fn assert_send<T: Send>(_: T) {}

#[tokio::test]
async fn the_client_and_its_futures_are_send() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    assert_send_sync(&client);
    assert_send(client.get(&search(&sandbox), [("query", "a")]));
    assert_send(client.bearer());
    assert_send(
        client.send(
            http::Request::get(search(&sandbox))
                .body(Vec::new())
                .unwrap(),
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tasks_at_expiry_cause_one_token_request() {
    const TASKS: usize = 10_000;
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    client.bearer().await.unwrap();
    sandbox.advance(HOUR);
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let client = client.clone();
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            client.bearer().await
        });
    }
    let expected = {
        let mut first = None;
        while let Some(result) = tasks.join_next().await {
            let bearer = result.unwrap().unwrap();
            let token = bearer.access_token().expose().to_owned();
            assert_eq!(first.get_or_insert_with(|| token.clone()), &token);
        }
        first.unwrap()
    };
    assert_eq!(
        token_requests(&sandbox.counters()),
        (1, 1),
        "one renewal for 10,000 tasks"
    );
    assert_eq!(client.tokens().unwrap().access_token.expose(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_task_driving_the_token_request_lets_a_waiter_take_over() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    // The first token answer is held until the end of the test: its request is cancelled
    // mid-flight.
    let first = sandbox.hold(FaultTarget::Token, 1);
    let driver = tokio::spawn({
        let client = client.clone();
        async move { client.bearer().await }
    });
    first.arrived().await;
    // Each waiter is polled until it awaits the request in flight, then spawned.
    let mut waiters = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        let mut waiter = Box::pin(async move { client.bearer().await });
        let polled = std::future::poll_fn(|cx| Poll::Ready(waiter.as_mut().poll(cx))).await;
        assert!(
            polled.is_pending(),
            "a waiter waits for the request in flight"
        );
        waiters.spawn(waiter);
    }
    driver.abort();
    assert!(driver.await.unwrap_err().is_cancelled());
    // Every waiter gets a token while the cancelled request's answer is still held: none
    // waits on it.
    let mut tokens = Vec::new();
    let all = async {
        while let Some(result) = waiters.join_next().await {
            let bearer = result.unwrap().expect("a waiter gets a token");
            tokens.push(bearer.access_token().expose().to_owned());
        }
    };
    tokio::time::timeout(HOLD_WAIT_LIMIT, all)
        .await
        .expect("no waiter hangs");
    assert_eq!(first.arrivals(), 1);
    let current = client.tokens().unwrap().access_token.expose().to_owned();
    assert!(tokens.iter().all(|token| *token == current), "one takeover");
    let counters = sandbox.counters();
    assert_eq!(
        counters.token_requests, 2,
        "the cancelled request and one takeover: {counters:?}"
    );
}

/// The sandbox's clock, counting the client's reads of it; the count closes when the client's
/// shared state (which owns the clock) is gone.
struct CountingClock {
    clock: SandboxClock,
    reads: watch::Sender<u64>,
}

impl Clock for CountingClock {
    fn now(&self) -> SystemTime {
        let now = self.clock.now();
        self.reads.send_modify(|reads| *reads += 1);
        now
    }
}

/// Waits until the client has read its clock `n` more times than when `reads` last looked.
async fn reads_more(reads: &mut watch::Receiver<u64>, n: u64) {
    let target = *reads.borrow_and_update() + n;
    tokio::time::timeout(HOLD_WAIT_LIMIT, reads.wait_for(|count| *count >= target))
        .await
        .expect("the renewer keeps looking at the clock")
        .expect("the client is alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proactive_renewal_renews_before_expiry_and_stops_with_the_last_handle() {
    let (sandbox, keys) = sandbox().await;
    let (reads, mut watched) = watch::channel(0);
    // Token requests sent and tokens adopted, as the client reports them.
    let (events, mut tokens) = watch::channel((0, 0));
    let client = builder(&sandbox, &keys)
        .on_event(move |event| match event {
            ClientEvent::TokenRequested { .. } => events.send_modify(|(sent, _)| *sent += 1),
            ClientEvent::TokensChanged { .. } => events.send_modify(|(_, got)| *got += 1),
            _ => {}
        })
        .clock(CountingClock {
            clock: sandbox.clock(),
            reads,
        })
        .proactive_renewal(true)
        .renewal_check_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let first = client.bearer().await.unwrap();
    // 50 minutes in, nothing is due: the renewer looks at the clock (once a look while
    // nothing is due) ten times and asks for nothing.
    sandbox.advance(Duration::from_secs(3000));
    reads_more(&mut watched, 10).await;
    assert_eq!(*tokens.borrow(), (1, 1));
    assert_eq!(sandbox.counters().token_requests, 1);
    // 59.5 minutes in, the renewal (60 s leeway) is.
    let renewal = sandbox.hold(FaultTarget::Token, 1);
    sandbox.advance(Duration::from_secs(570));
    renewal.arrived().await;
    renewal.release();
    tokio::time::timeout(HOLD_WAIT_LIMIT, tokens.wait_for(|(_, got)| *got == 2))
        .await
        .expect("the renewal is adopted")
        .unwrap();
    // The call finds a fresh token: no token request of its own.
    let answer = search_once(&client, &sandbox).await.unwrap();
    assert_eq!(answer.status(), 200);
    let counters = sandbox.counters();
    assert_eq!(token_requests(&counters), (1, 1));
    assert!(
        !client
            .bearer()
            .await
            .unwrap()
            .access_token()
            .same_as(first.access_token())
    );

    // With the last handle gone, the shared state goes too (the renewer holds it only
    // weakly), so nothing can renew: an hour later nothing is renewed.
    let clone = client.clone();
    drop(client);
    drop(clone);
    let closed = async { while watched.changed().await.is_ok() {} };
    tokio::time::timeout(HOLD_WAIT_LIMIT, closed)
        .await
        .expect("the renewer lets the client go");
    sandbox.advance(HOUR);
    assert_eq!(sandbox.counters().token_requests, 2);
    assert_eq!(*tokens.borrow(), (2, 2));
}

#[tokio::test]
async fn proactive_renewal_needs_a_runtime() {
    let (sandbox, keys) = sandbox().await;
    let builder = builder(&sandbox, &keys).proactive_renewal(true);
    let result = std::thread::spawn(move || builder.build()).join().unwrap();
    let error = result.unwrap_err();
    assert!(error.to_string().contains("Tokio runtime"), "{error}");
    let _: Option<Client> = None;
}
