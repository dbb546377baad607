//! The developer's pages: home, sign-up, sign-in and -out, My Account (applications and the
//! form to create one), an application's page with its Keys and usage, and the sample code.

use super::accounts::Accounts;
use super::origin::Origin;
use super::render;
use super::samples::{Language, SampleValues, comment_safe};
use super::session::{Visit, Who};
use super::{Nav, refused, trusted_form};
use crate::error::ProviderError;
use crate::platform::{AppKeys, AppStatus, NewApplication, PlanLimits};
use crate::provider::{Provider, SEARCH_PATH, TOKEN_PATH};
use askama::Template;
use bearer_protocol::wire::quota::next_quota_reset;
use http::{Request, Response, StatusCode};
use std::time::SystemTime;

/// An error of the platform as a sentence for a page.
pub(crate) fn sentence(error: &ProviderError) -> String {
    let text = error.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// "10 queries per second", or that there is no limit.
pub(crate) fn qps_text(plan: &PlanLimits) -> String {
    match plan.queries_per_second {
        0 => "no limit on queries per second".into(),
        1 => "1 query per second".into(),
        n => format!("{n} queries per second"),
    }
}

/// The signed-in developer, or the answer for a visitor: GET pages send them to sign in,
/// anything else is refused.
fn developer(
    provider: &Provider,
    visit: &Visit,
    get: bool,
) -> Result<usize, Box<Response<Vec<u8>>>> {
    match visit.who {
        Who::Developer(index) if index < provider.platform.developers.len() => Ok(index),
        _ if get => Err(Box::new(render::see_other("/signin"))),
        _ => Err(Box::new(refused(
            StatusCode::UNAUTHORIZED,
            Nav::of(provider, visit),
            "Sign in first",
            "This needs a developer account: sign in, then send the form again.",
            "/signin",
        ))),
    }
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct Home {
    nav: Nav,
    token_url: String,
    api_url: String,
}

pub(crate) fn home(
    provider: &Provider,
    visit: &Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let origin = Origin::of(request);
    let url = |path: &str| origin.as_ref().map_or(path.to_owned(), |o| o.url(path));
    render::page(
        StatusCode::OK,
        &Home {
            nav: Nav::of(provider, visit),
            token_url: url(TOKEN_PATH),
            api_url: url(SEARCH_PATH),
        },
    )
}

#[derive(Template)]
#[template(path = "portal/signup.html")]
struct Signup {
    nav: Nav,
    error: Option<String>,
    username: String,
    email: String,
    min_password: usize,
}

fn signup_form(
    provider: &Provider,
    visit: &Visit,
    status: StatusCode,
    error: Option<String>,
    username: &str,
    email: &str,
) -> Response<Vec<u8>> {
    render::page(
        status,
        &Signup {
            nav: Nav::of(provider, visit),
            error,
            username: username.into(),
            email: email.into(),
            min_password: super::accounts::MIN_PASSWORD,
        },
    )
}

pub(crate) fn signup_page(provider: &Provider, visit: &Visit) -> Response<Vec<u8>> {
    signup_form(provider, visit, StatusCode::OK, None, "", "")
}

pub(crate) fn signup(
    provider: &mut Provider,
    now: SystemTime,
    visit: &mut Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let form = match trusted_form(provider, visit, request, "/signup") {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let username = form.get("username").unwrap_or("").trim();
    let email = form.get("email").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    if let Some(problem) = Accounts::check_password(password) {
        return signup_form(
            provider,
            visit,
            StatusCode::BAD_REQUEST,
            Some(problem),
            username,
            email,
        );
    }
    let registered = provider
        .platform
        .register_developer(username, email, &mut provider.keygen);
    match registered {
        Ok(index) => {
            let salt = provider.portal.sessions.random();
            provider.portal.accounts.set(index, salt, password);
            provider
                .portal
                .sessions
                .switch(now, visit, Who::Developer(index));
            render::see_other("/account")
        }
        Err(error) => {
            let status = crate::developer::refusal(&error).0;
            signup_form(
                provider,
                visit,
                status,
                Some(sentence(&error)),
                username,
                email,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "portal/signin.html")]
struct Signin {
    nav: Nav,
    error: Option<String>,
    username: String,
}

pub(crate) fn signin_page(provider: &Provider, visit: &Visit) -> Response<Vec<u8>> {
    render::page(
        StatusCode::OK,
        &Signin {
            nav: Nav::of(provider, visit),
            error: None,
            username: String::new(),
        },
    )
}

pub(crate) fn signin(
    provider: &mut Provider,
    now: SystemTime,
    visit: &mut Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let form = match trusted_form(provider, visit, request, "/signin") {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    let index = provider
        .platform
        .developers
        .iter()
        .position(|d| d.username == username)
        .filter(|&index| provider.portal.accounts.verify(index, password));
    match index {
        Some(index) => {
            provider
                .portal
                .sessions
                .switch(now, visit, Who::Developer(index));
            render::see_other("/account")
        }
        None => render::page(
            StatusCode::UNAUTHORIZED,
            &Signin {
                nav: Nav::of(provider, visit),
                error: Some("Unknown username, or wrong password.".into()),
                username: username.into(),
            },
        ),
    }
}

pub(crate) fn signout(
    provider: &mut Provider,
    now: SystemTime,
    visit: &mut Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    if let Err(response) = trusted_form(provider, visit, request, "/") {
        return *response;
    }
    provider.portal.sessions.switch(now, visit, Who::Visitor);
    render::see_other("/")
}

/// One application as the developer's pages list it.
pub(crate) struct AppRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) status: AppStatus,
    pub(crate) web_page: String,
    pub(crate) description: String,
}

impl AppRow {
    fn of(provider: &Provider, index: usize) -> Self {
        let app = &provider.platform.apps[index];
        Self {
            id: app.id.clone(),
            name: app.name.clone(),
            status: app.status,
            web_page: app.web_page.clone(),
            description: app.description.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "portal/account.html")]
struct Account {
    nav: Nav,
    username: String,
    email: String,
    developer_key: String,
    apps: Vec<AppRow>,
    new: NewApplication,
    error: Option<String>,
}

fn account_page(
    provider: &Provider,
    visit: &Visit,
    developer: usize,
    status: StatusCode,
    new: NewApplication,
    error: Option<String>,
) -> Response<Vec<u8>> {
    let me = &provider.platform.developers[developer];
    let apps = (0..provider.platform.apps.len())
        .filter(|&i| provider.platform.apps[i].developer == Some(developer))
        .map(|i| AppRow::of(provider, i))
        .collect();
    render::page(
        status,
        &Account {
            nav: Nav::of(provider, visit),
            username: me.username.clone(),
            email: me.email.clone(),
            developer_key: me.key.clone(),
            apps,
            new,
            error,
        },
    )
}

pub(crate) fn account(provider: &Provider, visit: &Visit) -> Response<Vec<u8>> {
    match developer(provider, visit, true) {
        Ok(me) => account_page(
            provider,
            visit,
            me,
            StatusCode::OK,
            NewApplication::default(),
            None,
        ),
        Err(response) => *response,
    }
}

pub(crate) fn create_application(
    provider: &mut Provider,
    visit: &Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let form = match trusted_form(provider, visit, request, "/account") {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let me = match developer(provider, visit, false) {
        Ok(me) => me,
        Err(response) => return *response,
    };
    let field = |name| form.get(name).unwrap_or("").trim().to_owned();
    let new = NewApplication {
        name: field("name"),
        web_page: field("web_page"),
        description: field("description"),
    };
    match provider.platform.create_application(Some(me), &new) {
        Ok(index) => render::see_other(&format!(
            "/account/applications/{}",
            provider.platform.apps[index].id
        )),
        Err(error) => account_page(
            provider,
            visit,
            me,
            StatusCode::BAD_REQUEST,
            new,
            Some(sentence(&error)),
        ),
    }
}

/// Today's use of one application.
pub(crate) struct UsageView {
    pub(crate) calls_today: u64,
    pub(crate) token_requests: u64,
    pub(crate) api_calls: u64,
}

#[derive(Template)]
#[template(path = "portal/application.html")]
struct Application {
    nav: Nav,
    app: AppRow,
    keys: Option<AppKeys>,
    plan: PlanLimits,
    auth_requests: u32,
    qps: String,
    usage: UsageView,
    resets: String,
}

/// The developer's own application `id`, or the 404 page.
fn own_app(
    provider: &Provider,
    visit: &Visit,
    developer: usize,
    id: &str,
) -> Result<usize, Box<Response<Vec<u8>>>> {
    provider
        .platform
        .apps
        .iter()
        .position(|a| a.id == id && a.developer == Some(developer))
        .ok_or_else(|| {
            Box::new(refused(
                StatusCode::NOT_FOUND,
                Nav::of(provider, visit),
                "No such application",
                "None of your applications has this id.",
                "/account",
            ))
        })
}

pub(crate) fn application(
    provider: &Provider,
    now: SystemTime,
    visit: &Visit,
    id: &str,
) -> Response<Vec<u8>> {
    let index =
        match developer(provider, visit, true).and_then(|me| own_app(provider, visit, me, id)) {
            Ok(index) => index,
            Err(response) => return *response,
        };
    let app = &provider.platform.apps[index];
    let hours = app.usage.hours_today(now);
    let plan = provider.config.plan;
    render::page(
        StatusCode::OK,
        &Application {
            nav: Nav::of(provider, visit),
            app: AppRow::of(provider, index),
            keys: app.keys.clone().filter(|_| app.status == AppStatus::Active),
            plan,
            auth_requests: PlanLimits::AUTH_REQUESTS_PER_DAY,
            qps: qps_text(&plan),
            usage: UsageView {
                calls_today: app.usage.calls_today(now),
                token_requests: hours.total_token_requests(),
                api_calls: hours.total_api_calls(),
            },
            resets: crate::admin::http_date(next_quota_reset(now))
                .unwrap_or_else(|| "at 00:00 UTC".into()),
        },
    )
}

pub(crate) fn sample(
    provider: &Provider,
    visit: &Visit,
    request: &Request<Vec<u8>>,
    id: &str,
    file: &str,
) -> Response<Vec<u8>> {
    let index =
        match developer(provider, visit, true).and_then(|me| own_app(provider, visit, me, id)) {
            Ok(index) => index,
            Err(response) => return *response,
        };
    let nav = || Nav::of(provider, visit);
    let back = format!("/account/applications/{id}");
    let Some(language) = Language::from_file(file) else {
        return refused(
            StatusCode::NOT_FOUND,
            nav(),
            "No such file",
            "The samples are bearer_sample.py and main.rs.",
            &back,
        );
    };
    let app = &provider.platform.apps[index];
    let Some(keys) = app
        .keys
        .as_ref()
        .filter(|_| app.status == AppStatus::Active)
    else {
        return refused(
            StatusCode::CONFLICT,
            nav(),
            "Not active",
            "The sample code is offered once the application is active.",
            &back,
        );
    };
    let Some(origin) = Origin::of(request) else {
        return refused(
            StatusCode::BAD_REQUEST,
            nav(),
            "No host",
            "The request has no usable Host header, so the sample's URLs cannot be filled in.",
            &back,
        );
    };
    let values = SampleValues {
        app_name: comment_safe(&app.name),
        token_url: origin.url(TOKEN_PATH),
        api_url: origin.url(SEARCH_PATH),
        client_id: keys.client_id.clone(),
    };
    match language.render(&values) {
        Ok(text) => render::download(language.file(), language.content_type(), text),
        Err(error) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            nav(),
            "Sample unavailable",
            &error.to_string(),
            &back,
        ),
    }
}
