//! Single flight across tasks, cancellation of the task driving the token request, and the
//! background renewer, against the sandbox on 127.0.0.1.

mod common;

use bearer_sandbox::{Fault, FaultTarget};
use bearer_transport_hyper::Client;
use common::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Barrier;

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
async fn sixty_four_calls_at_expiry_cause_one_token_request() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    search_once(&client, &sandbox).await.unwrap();
    sandbox.advance(HOUR);
    let barrier = Arc::new(Barrier::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (client, barrier, url) = (client.clone(), Arc::clone(&barrier), search(&sandbox));
        tasks.spawn(async move {
            barrier.wait().await;
            client.get(&url, [("query", "a")]).await.map(|r| r.status())
        });
    }
    while let Some(result) = tasks.join_next().await {
        assert_eq!(result.unwrap().unwrap(), 200);
    }
    let counters = sandbox.counters();
    assert_eq!(token_requests(&counters), (1, 1));
    assert_eq!(counters.api_calls, 65);
}

/// Waits (bounded) until the sandbox has received `n` token requests.
async fn until_token_requests(sandbox: &bearer_sandbox::Sandbox, n: u64) {
    for _ in 0..500 {
        if sandbox.counters().token_requests >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the sandbox never saw {n} token request(s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_task_driving_the_token_request_lets_a_waiter_take_over() {
    let (sandbox, keys) = sandbox().await;
    let client = client(&sandbox, &keys);
    // The first token request hangs long enough to be cancelled mid-flight.
    sandbox.inject(FaultTarget::Token, Fault::Delay(Duration::from_secs(20)), 1);
    let driver = tokio::spawn({
        let client = client.clone();
        async move { client.bearer().await }
    });
    until_token_requests(&sandbox, 1).await;
    let mut waiters = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        waiters.spawn(async move { client.bearer().await });
    }
    // Let the waiters reach their wait, then cancel the driver mid-request.
    tokio::time::sleep(Duration::from_millis(20)).await;
    driver.abort();
    assert!(driver.await.unwrap_err().is_cancelled());
    let started = tokio::time::Instant::now();
    while let Some(result) = waiters.join_next().await {
        result.unwrap().expect("a waiter gets a token");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "no waiter hung");
    let counters = sandbox.counters();
    assert!(
        counters.token_requests <= 2,
        "one extra request at most: {counters:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proactive_renewal_renews_before_expiry_and_stops_with_the_last_handle() {
    let (sandbox, keys) = sandbox().await;
    let client = builder(&sandbox, &keys)
        .proactive_renewal(true)
        .renewal_check_interval(Duration::from_millis(10))
        .build()
        .unwrap();
    let first = client.bearer().await.unwrap();
    // 50 minutes in, nothing is due; 59.5 minutes in, the renewal (60 s leeway) is.
    sandbox.advance(Duration::from_secs(3000));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sandbox.counters().token_requests, 1);
    sandbox.advance(Duration::from_secs(570));
    until_token_requests(&sandbox, 2).await;
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

    // With the last handle gone, the renewer stops: an hour later nothing is renewed.
    let clone = client.clone();
    drop(client);
    drop(clone);
    sandbox.advance(HOUR);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sandbox.counters().token_requests, 2);
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
