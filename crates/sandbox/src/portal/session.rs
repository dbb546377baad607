//! Portal sessions: who a browser is (a visitor, a developer, the platform team), the session
//! cookie (`HttpOnly; SameSite=Strict`) and the CSRF token every form carries.
//!
//! Every page view has a session: a browser without a valid cookie gets a new visitor session,
//! so that even the sign-up and sign-in forms carry a token tied to the browser. Signing in or
//! out replaces the session (a new id), so an id seen before signing in is worth nothing after.

use crate::form::Form;
use crate::keys::KeyGen;
use crate::provider::later;
use http::header::{COOKIE, SET_COOKIE};
use http::{Request, Response};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "bearer_portal";
/// Name of the form field carrying the CSRF token.
pub(crate) const CSRF_FIELD: &str = "csrf";
/// A session unused for this long (sandbox time) ends.
const IDLE: Duration = Duration::from_secs(24 * 3600);
/// Most sessions kept at once; beyond, expired and then visitor sessions are dropped.
const MAX_SESSIONS: usize = 10_000;

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    /// Not signed in.
    Visitor,
    /// A signed-in developer (an index into the platform's developers).
    Developer(usize),
    /// The platform team, signed in with the admin key.
    Admin,
}

#[derive(Clone)]
struct Session {
    who: Who,
    csrf: String,
    expires_at: SystemTime,
}

/// The live sessions, keyed by their cookie value.
#[derive(Clone)]
pub(crate) struct Sessions {
    keygen: KeyGen,
    live: HashMap<String, Session>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Session ids and CSRF tokens are credentials: only their number is shown.
        f.debug_struct("Sessions")
            .field("live", &self.live.len())
            .finish_non_exhaustive()
    }
}

/// The session of one request, as the pages see it.
pub(crate) struct Visit {
    id: String,
    /// Who is visiting.
    pub(crate) who: Who,
    /// The CSRF token forms of this session carry.
    pub(crate) csrf: String,
    /// The session was made while answering this request: its cookie must be set.
    fresh: bool,
}

impl fmt::Debug for Visit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Visit")
            .field("who", &self.who)
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

impl Visit {
    /// Whether `form` carries this session's CSRF token and the request came with the session's
    /// cookie (a session made for this very request has never shown a form).
    pub(crate) fn trusts(&self, form: &Form) -> bool {
        !self.fresh && form.get(CSRF_FIELD) == Some(self.csrf.as_str())
    }

    /// Adds the session cookie to `response` when the browser does not have it yet.
    pub(crate) fn set_cookie(&self, response: &mut Response<Vec<u8>>) {
        if self.fresh {
            let cookie = format!(
                "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Strict",
                self.id
            );
            if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(request: &'a Request<Vec<u8>>, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

impl Sessions {
    /// No sessions; ids and tokens drawn from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            keygen: KeyGen::new(seed),
            live: HashMap::new(),
        }
    }

    /// A random string for ids, tokens and salts.
    pub(crate) fn random(&mut self) -> String {
        self.keygen.private_key()
    }

    /// The request's session, kept alive for another idle period, or a new visitor session.
    pub(crate) fn visit(&mut self, now: SystemTime, request: &Request<Vec<u8>>) -> Visit {
        if let Some(id) = cookie(request, COOKIE_NAME) {
            if let Some(session) = self.live.get_mut(id).filter(|s| now < s.expires_at) {
                session.expires_at = later(now, IDLE);
                return Visit {
                    id: id.to_owned(),
                    who: session.who,
                    csrf: session.csrf.clone(),
                    fresh: false,
                };
            }
        }
        self.start(now, Who::Visitor)
    }

    /// Ends `visit`'s session and starts a new one for `who` in its place.
    pub(crate) fn switch(&mut self, now: SystemTime, visit: &mut Visit, who: Who) {
        self.live.remove(&visit.id);
        *visit = self.start(now, who);
    }

    fn start(&mut self, now: SystemTime, who: Who) -> Visit {
        if self.live.len() >= MAX_SESSIONS {
            self.live.retain(|_, s| now < s.expires_at);
        }
        if self.live.len() >= MAX_SESSIONS {
            self.live.retain(|_, s| s.who != Who::Visitor);
        }
        let id = loop {
            let id = self.random();
            if !self.live.contains_key(&id) {
                break id;
            }
        };
        let csrf = self.random();
        self.live.insert(
            id.clone(),
            Session {
                who,
                csrf: csrf.clone(),
                expires_at: later(now, IDLE),
            },
        );
        Visit {
            id,
            who,
            csrf,
            fresh: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn with_cookie(value: &str) -> Request<Vec<u8>> {
        Request::builder()
            .header(COOKIE, value)
            .body(Vec::new())
            .unwrap()
    }

    #[test]
    fn a_session_is_found_by_its_cookie_until_it_idles_out() {
        let now = UNIX_EPOCH + Duration::from_secs(1_717_668_000);
        let mut sessions = Sessions::new(1);
        let first = sessions.visit(now, &Request::new(Vec::new()));
        assert!(first.fresh);
        let cookie = format!("other=1; {COOKIE_NAME}={}", first.id);
        let again = sessions.visit(now, &with_cookie(&cookie));
        assert!(!again.fresh);
        assert_eq!(
            (again.id.as_str(), again.csrf.as_str()),
            (first.id.as_str(), first.csrf.as_str())
        );
        let expired = sessions.visit(now + IDLE + IDLE, &with_cookie(&cookie));
        assert!(expired.fresh);
        assert_ne!(expired.id, first.id);
    }

    #[test]
    fn switching_replaces_the_id_and_the_token() {
        let now = UNIX_EPOCH;
        let mut sessions = Sessions::new(2);
        let mut visit = sessions.visit(now, &Request::new(Vec::new()));
        let (old_id, old_csrf) = (visit.id.clone(), visit.csrf.clone());
        sessions.switch(now, &mut visit, Who::Admin);
        assert_eq!(visit.who, Who::Admin);
        assert_ne!(visit.id, old_id);
        assert_ne!(visit.csrf, old_csrf);
        let stale = sessions.visit(now, &with_cookie(&format!("{COOKIE_NAME}={old_id}")));
        assert_eq!(stale.who, Who::Visitor);
        assert!(stale.fresh);
    }

    #[test]
    fn forms_are_trusted_only_with_the_session_token() {
        let mut sessions = Sessions::new(3);
        let fresh = sessions.visit(UNIX_EPOCH, &Request::new(Vec::new()));
        let form = |body: String| Form::parse(body.as_bytes()).unwrap();
        // A session made for this request has never shown a form.
        assert!(!fresh.trusts(&form(format!("csrf={}", fresh.csrf))));
        let cookie = format!("{COOKIE_NAME}={}", fresh.id);
        let back = sessions.visit(UNIX_EPOCH, &with_cookie(&cookie));
        assert!(back.trusts(&form(format!("csrf={}", back.csrf))));
        assert!(!back.trusts(&form("csrf=nope".into())));
        assert!(!back.trusts(&form(String::new())));
        assert!(!format!("{back:?}{sessions:?}").contains(&back.csrf));
    }

    #[test]
    fn the_number_of_sessions_is_bounded() {
        let mut sessions = Sessions::new(4);
        for _ in 0..MAX_SESSIONS + 10 {
            sessions.visit(UNIX_EPOCH, &Request::new(Vec::new()));
        }
        assert!(sessions.live.len() <= MAX_SESSIONS);
    }
}
