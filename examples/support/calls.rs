//! The async examples' configured mode: the calls, one after another. Included with
//! `#[path = "support/calls.rs"] mod calls;` beside [`support`](crate::support).

use crate::support::{Remote, report};
use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// Makes `remote.calls` calls with `call` (each gives the answer's status), `remote.interval`
/// apart, printing each status and then `budget`; a failure exit code if any call failed.
pub async fn call_remote<F, Fut, E>(
    remote: &Remote,
    call: F,
    budget: impl FnOnce() -> String,
) -> std::io::Result<ExitCode>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<http::StatusCode, E>>,
    E: Display,
{
    let mut all_ok = true;
    for n in 1..=remote.calls {
        if n > 1 {
            tokio::time::sleep(remote.interval).await;
        }
        all_ok &= report(n, call().await, &mut std::io::stdout())?;
    }
    println!("budget: {}", budget());
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
