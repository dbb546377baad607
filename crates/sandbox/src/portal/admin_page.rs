//! The platform team's page, `/admin`: sign in with the admin key; review pending
//! applications (approve, reject), disable active ones, and see each application's calls and
//! token requests of the day against the plan.

use super::chart::UsageChart;
use super::developer_pages::{qps_text, sentence};
use super::render;
use super::session::{Visit, Who};
use super::{Nav, trusted_form};
use crate::developer::refusal;
use crate::error::ProviderError;
use crate::platform::{AppStatus, PlanLimits};
use crate::provider::Provider;
use askama::Template;
use http::{Request, Response, StatusCode};
use std::time::SystemTime;

#[derive(Template)]
#[template(path = "portal/admin_signin.html")]
struct AdminSignin {
    nav: Nav,
    error: Option<String>,
}

/// One application as the platform team sees it.
struct AdminApp {
    id: String,
    name: String,
    developer: String,
    web_page: String,
    description: String,
    status: AppStatus,
    client_id: Option<String>,
    chart: Option<UsageChart>,
}

#[derive(Template)]
#[template(path = "portal/admin.html")]
struct Admin {
    nav: Nav,
    error: Option<String>,
    pending: Vec<AdminApp>,
    apps: Vec<AdminApp>,
    plan: PlanLimits,
    auth_requests: u32,
    qps: String,
}

fn apps(provider: &Provider, now: SystemTime) -> Vec<AdminApp> {
    let plan = provider.config.plan;
    provider
        .platform
        .apps
        .iter()
        .map(|app| AdminApp {
            id: app.id.clone(),
            name: app.name.clone(),
            developer: app
                .developer
                .and_then(|d| provider.platform.developers.get(d))
                .map_or_else(|| "platform team".into(), |d| d.username.clone()),
            web_page: app.web_page.clone(),
            description: app.description.clone(),
            status: app.status,
            client_id: app.keys.as_ref().map(|k| k.client_id.clone()),
            chart: app.keys.as_ref().map(|_| {
                UsageChart::new(
                    &app.usage.hours_today(now),
                    app.usage.calls_today(now),
                    &plan,
                )
            }),
        })
        .collect()
}

/// The page: the sign-in form for anyone but the platform team.
pub(crate) fn page(
    provider: &Provider,
    now: SystemTime,
    visit: &Visit,
    error: Option<(StatusCode, String)>,
) -> Response<Vec<u8>> {
    let nav = Nav::of(provider, visit);
    let (status, error) = match error {
        Some((status, error)) => (status, Some(error)),
        None => (StatusCode::OK, None),
    };
    if visit.who != Who::Admin {
        return render::page(status, &AdminSignin { nav, error });
    }
    let (pending, apps): (Vec<_>, Vec<_>) = apps(provider, now)
        .into_iter()
        .partition(|app| app.status == AppStatus::Pending);
    let plan = provider.config.plan;
    render::page(
        status,
        &Admin {
            nav,
            error,
            pending,
            apps,
            plan,
            auth_requests: PlanLimits::AUTH_REQUESTS_PER_DAY,
            qps: qps_text(&plan),
        },
    )
}

/// A form sent from the page: `action=signin` with `admin_key`, or `approve`, `reject`,
/// `disable` with `app`.
pub(crate) fn act(
    provider: &mut Provider,
    now: SystemTime,
    visit: &mut Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let form = match trusted_form(provider, visit, request, "/admin") {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let action = form.get("action").unwrap_or("");
    if action == "signin" {
        let given = form.get("admin_key").unwrap_or("");
        if given.as_bytes() != provider.admin_key().as_bytes() {
            let refusal = (
                StatusCode::UNAUTHORIZED,
                "That is not the admin key.".into(),
            );
            return page(provider, now, visit, Some(refusal));
        }
        provider.portal.sessions.switch(now, visit, Who::Admin);
        return render::see_other("/admin");
    }
    if visit.who != Who::Admin {
        let refusal = (
            StatusCode::UNAUTHORIZED,
            "Sign in with the admin key first.".into(),
        );
        return page(provider, now, visit, Some(refusal));
    }
    let app = form.get("app").unwrap_or("");
    let result = provider.platform.find_or_err(app).and_then(|index| {
        let platform = &mut provider.platform;
        match action {
            "approve" => platform.approve(index, None, &mut provider.keygen),
            "reject" => platform.reject(index),
            "disable" => platform.disable(index),
            _ => Err(ProviderError::Invalid {
                field: "action",
                reason: "it must be approve, reject or disable".into(),
            }),
        }
    });
    match result {
        Ok(()) => render::see_other("/admin"),
        Err(error) => {
            let status = refusal(&error).0;
            page(provider, now, visit, Some((status, sentence(&error))))
        }
    }
}
