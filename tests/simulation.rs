//! Simulated weeks: the pure client state machine against the pure provider on a virtual
//! clock, with seeded faults (`bearer_sim`). `examples/week.rs` prints the same
//! runs day by day.

use bearer_sim::{DayReport, Report, Scenario, run};

/// Token requests that were not answered by an injected fault.
fn clean(day: &DayReport) -> u32 {
    day.token_requests - day.token_faults
}

/// Every call was served and nothing was refused, by the client or the provider.
fn all_served(report: &Report) {
    let name = &report.scenario;
    assert_eq!(report.delivered(), report.calls(), "{name}: {report:#?}");
    assert_eq!(report.refused_by_budget(), 0, "{name}: {report:#?}");
    assert_eq!(report.failed(), 0, "{name}: {report:#?}");
    assert_eq!(report.gateway_denials(), 0, "{name}: {report:#?}");
}

#[test]
fn a_week_of_steady_traffic_costs_the_minimum_of_token_requests() {
    let report = run(&Scenario::steady(7));
    all_served(&report);
    assert_eq!(report.calls(), 7 * 2880);
    for (i, day) in report.days.iter().enumerate() {
        // Tokens last 3600 s: 24 a day at the least. Renewing 60 s early costs one more on some
        // days; each injected fault costs exactly one retry on top.
        assert_eq!(day.minimum_token_requests, 24);
        assert!(
            (24..=25).contains(&clean(day)),
            "day {i}: {} clean token requests: {report:#?}",
            clean(day)
        );
    }
    assert!(report.token_faults() > 0, "the seed injects some faults");
    // No refresh token went stale: the provider refused none, and the client never fell back.
    assert_eq!(report.refresh_tokens_refused(), 0);
    assert_eq!(report.client_credentials_grants, 1);
    assert_eq!(
        report.refresh_token_grants + report.client_credentials_grants,
        u64::from(report.token_requests())
    );
}

#[test]
fn bursts_are_paced_under_the_qps_limit_and_cost_no_more_tokens() {
    let report = run(&Scenario::bursty(7));
    // No gateway denial: bursts of 40 were paced under 10 per second, never over QPS.
    all_served(&report);
    for (i, day) in report.days.iter().enumerate() {
        assert!((24..=25).contains(&clean(day)), "day {i}: {report:#?}");
    }
    assert_eq!(report.refresh_tokens_refused(), 0);
    assert_eq!(report.client_credentials_grants, 1);
}

#[test]
fn after_long_idle_gaps_the_refresh_token_still_serves() {
    let report = run(&Scenario::idle_gaps(7));
    all_served(&report);
    for (i, day) in report.days.iter().enumerate() {
        // A token is taken at the first call after a gap, never during one: exactly the
        // minimum, faults aside; nothing at all on the idle weekend.
        assert_eq!(
            clean(day),
            day.minimum_token_requests,
            "day {i}: {report:#?}"
        );
    }
    assert_eq!(
        report.days[5].token_requests + report.days[6].token_requests,
        0
    );
    // Ten idle hours each day and a two-day weekend: the refresh token survived them all.
    assert_eq!(report.refresh_tokens_refused(), 0);
    assert_eq!(report.client_credentials_grants, 1);
}

#[test]
fn over_the_quota_the_budget_spends_it_all_on_calls_and_renews_only_for_calls() {
    let scenario = Scenario::over_quota(3);
    let allowed = scenario.plan.calls_per_day;
    let report = run(&scenario);
    // The gateway never had to refuse anything: the client's budget did it first.
    assert_eq!(report.gateway_denials(), 0);
    assert_eq!(report.failed(), 0);
    for (i, day) in report.days.iter().enumerate() {
        // The whole quota is used, and no more: calls plus token requests.
        assert_eq!(
            u64::from(day.delivered + day.token_requests),
            allowed,
            "day {i}: {report:#?}"
        );
        assert_eq!(day.refused_by_budget, day.calls - day.delivered);
        // Calls come every 10 s from midnight until the quota is spent: every renewal served
        // calls after it, none was sent that no call could follow.
        let hours_with_calls = (u64::from(day.delivered) * 10).div_ceil(3600);
        assert!(
            u64::from(day.token_requests) <= hours_with_calls + 1,
            "day {i}: {report:#?}"
        );
        assert!(day.token_requests >= 1, "day {i}: {report:#?}");
    }
}

#[test]
fn a_lost_token_answer_costs_one_fallback_to_client_credentials() {
    let report = run(&Scenario::lost_answers(7));
    all_served(&report);
    assert!(report.token_faults() > 0, "the seed loses some answers");
    // The provider issued tokens the client never saw: its refresh token was void, refused
    // once, and client credentials got a new one.
    assert_eq!(report.refresh_tokens_refused(), report.token_faults());
    assert_eq!(
        report.client_credentials_grants,
        1 + u64::from(report.token_faults())
    );
}
