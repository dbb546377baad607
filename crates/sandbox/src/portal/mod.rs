//! The developer platform as people see it: server-rendered pages over the same state as the
//! JSON routes, from the pure provider (a page is a function of the state, the time and the
//! request).
//!
//! - `/` the portal's home; `/signup`, `/signin`, `/signout` for developers;
//! - `/account` ("My Account"): applications, their status, a form to create one; and
//!   `/account/applications/{id}` with the Keys, the plan, today's usage and the sample code;
//! - `/admin`: the platform team, signed in with the admin key: review, disable, usage charts;
//! - `/io-docs`: the API's methods from an I/O Docs definition, with "Get token", "Refresh"
//!   and "Try it!" (the only parts that need JavaScript).
//!
//! Every form carries the session's CSRF token; a form without it is refused with 403. Every
//! value a user typed is HTML-escaped by the templates.

mod accounts;
mod admin_page;
mod chart;
mod developer_pages;
mod iodocs;
mod origin;
mod render;
mod samples;
mod session;

use crate::form::Form;
use crate::provider::Provider;
use crate::provider::body_over_limit;
use askama::Template;
use http::header::ALLOW;
use http::{Method, Request, Response, StatusCode};
use session::{Sessions, Visit, Who};
use std::fmt;
use std::time::SystemTime;

pub(crate) use accounts::Accounts;

/// The portal's own state: sessions and the passwords of accounts made on the sign-up page.
#[derive(Clone)]
pub(crate) struct Portal {
    sessions: Sessions,
    accounts: Accounts,
}

impl fmt::Debug for Portal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portal")
            .field("sessions", &self.sessions)
            .field("accounts", &self.accounts)
            .finish()
    }
}

impl Portal {
    /// No sessions and no accounts. Session ids are drawn from their own generator, so using
    /// the pages does not change the keys and tokens a seed gives.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            sessions: Sessions::new(seed ^ 0x706f_7274_616c_0001),
            accounts: Accounts::default(),
        }
    }
}

/// Whether `path` is one of the portal's pages or assets.
pub(crate) fn owns(path: &str) -> bool {
    matches!(path, "/" | "/signup" | "/signin" | "/signout" | "/admin")
        || under(path, "/account")
        || under(path, "/io-docs")
        || under(path, "/assets")
}

fn under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// What every page's header shows: who is signed in, and the token its forms carry.
pub(crate) struct Nav {
    /// The signed-in developer's username.
    pub(crate) user: Option<String>,
    /// Whether the platform team is signed in.
    pub(crate) admin: bool,
    /// The session's CSRF token.
    pub(crate) csrf: String,
}

impl Nav {
    fn of(provider: &Provider, visit: &Visit) -> Self {
        Self {
            user: match visit.who {
                Who::Developer(index) => provider
                    .platform
                    .developers
                    .get(index)
                    .map(|d| d.username.clone()),
                _ => None,
            },
            admin: visit.who == Who::Admin,
            csrf: visit.csrf.clone(),
        }
    }

    /// Whether anyone is signed in (the header then offers to sign out).
    pub(crate) fn signed_in(&self) -> bool {
        self.user.is_some() || self.admin
    }
}

/// A page explaining why a request was refused.
#[derive(Template)]
#[template(path = "portal/refused.html")]
struct Refused<'a> {
    nav: Nav,
    title: &'a str,
    message: &'a str,
    back: &'a str,
}

/// The refusal page with `status`.
pub(crate) fn refused(
    status: StatusCode,
    nav: Nav,
    title: &str,
    message: &str,
    back: &str,
) -> Response<Vec<u8>> {
    render::page(
        status,
        &Refused {
            nav,
            title,
            message,
            back,
        },
    )
}

/// Answers a request for one of the portal's paths (see [`owns`]).
pub(crate) fn handle(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let path = request.uri().path();
    if let Some(asset) = path.strip_prefix("/assets/") {
        return assets(asset, request.method());
    }
    if path == iodocs::DEFINITION_PATH {
        return iodocs::definition_file(request.method());
    }
    let mut visit = provider.portal.sessions.visit(now, request);
    let mut response = route(provider, now, request, &mut visit);
    visit.set_cookie(&mut response);
    response
}

fn route(
    provider: &mut Provider,
    now: SystemTime,
    request: &Request<Vec<u8>>,
    visit: &mut Visit,
) -> Response<Vec<u8>> {
    let path = request.uri().path();
    let method = request.method();
    let get = method == Method::GET;
    let post = method == Method::POST;
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [] if get => developer_pages::home(provider, visit, request),
        ["signup"] if get => developer_pages::signup_page(provider, visit),
        ["signup"] if post => developer_pages::signup(provider, now, visit, request),
        ["signin"] if get => developer_pages::signin_page(provider, visit),
        ["signin"] if post => developer_pages::signin(provider, now, visit, request),
        ["signout"] if post => developer_pages::signout(provider, now, visit, request),
        ["account"] if get => developer_pages::account(provider, visit),
        ["account", "applications"] if post => {
            developer_pages::create_application(provider, visit, request)
        }
        ["account", "applications"] if get => render::see_other("/account"),
        ["account", "applications", id] if get => {
            developer_pages::application(provider, now, visit, id)
        }
        ["account", "applications", id, file] if get => {
            developer_pages::sample(provider, visit, request, id, file)
        }
        ["admin"] if get => admin_page::page(provider, now, visit, None),
        ["admin"] if post => admin_page::act(provider, now, visit, request),
        ["io-docs"] if get => iodocs::page(provider, visit, request),
        [] | ["account"] | ["account", "applications", ..] | ["io-docs"] => {
            not_allowed(provider, visit, "GET")
        }
        ["signup"] | ["signin"] | ["admin"] => not_allowed(provider, visit, "GET, POST"),
        ["signout"] => not_allowed(provider, visit, "POST"),
        _ => refused(
            StatusCode::NOT_FOUND,
            Nav::of(provider, visit),
            "Page not found",
            "There is no such page on the developer platform.",
            "/",
        ),
    }
}

fn not_allowed(provider: &Provider, visit: &Visit, allow: &str) -> Response<Vec<u8>> {
    let mut response = refused(
        StatusCode::METHOD_NOT_ALLOWED,
        Nav::of(provider, visit),
        "Method not allowed",
        &format!("This page accepts {allow}."),
        "/",
    );
    crate::respond::set(&mut response, ALLOW, allow);
    response
}

/// The form of a POST, if it carries the session's CSRF token; otherwise the refusal page.
pub(crate) fn trusted_form(
    provider: &Provider,
    visit: &Visit,
    request: &Request<Vec<u8>>,
    back: &str,
) -> Result<Form, Box<Response<Vec<u8>>>> {
    let refuse = |status, title: &str, message: &str| {
        Box::new(refused(
            status,
            Nav::of(provider, visit),
            title,
            message,
            back,
        ))
    };
    if body_over_limit(request, provider.config.max_body_bytes) {
        return Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Form too large",
            "The form is larger than the platform accepts.",
        ));
    }
    let form = Form::parse(request.body()).map_err(|error| {
        refuse(
            StatusCode::BAD_REQUEST,
            "Unreadable form",
            &error.to_string(),
        )
    })?;
    if !visit.trusts(&form) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "Form refused",
            "The form did not carry this session's security token: it is out of date or did \
             not come from this site. Go back, reload the page and send it again.",
        ));
    }
    Ok(form)
}

fn assets(name: &str, method: &Method) -> Response<Vec<u8>> {
    let found = match name {
        "portal.css" => Some((
            "text/css; charset=utf-8",
            include_str!("../../assets/portal.css"),
        )),
        "iodocs.js" => Some((
            "text/javascript; charset=utf-8",
            include_str!("../../assets/iodocs.js"),
        )),
        _ => None,
    };
    match found {
        Some(_) if method != Method::GET => {
            let mut response = crate::respond::with_body(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                b"GET only".to_vec(),
            );
            crate::respond::set(&mut response, ALLOW, "GET");
            response
        }
        Some((content_type, body)) => render::asset(content_type, body),
        None => crate::respond::with_body(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            b"no such asset".to_vec(),
        ),
    }
}

#[cfg(test)]
mod tests;
