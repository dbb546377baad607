//! The developer platform: developers, their applications, approval, keys and the plan.
//!
//! An application is created `pending`; the platform team approves it (`active`, keys issued),
//! rejects it (`rejected`) or later disables it (`disabled`, keys kept but refused). Approving a
//! disabled application makes it active again with the same keys.

use crate::error::ProviderError;
use crate::keys::{self, KeyGen};
use crate::quota::Usage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

/// The limits of the API plan every application is subscribed to, as the platform enforces
/// them: calls per day and per second. (What a client knows of its plan, with its options, is
/// `bearer_protocol::Plan`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLimits {
    /// Calls allowed per quota day (00:00 to 00:00 UTC), token requests included.
    pub calls_per_day: u64,
    /// Calls allowed per second; 0 means no limit.
    pub queries_per_second: u32,
}

impl PlanLimits {
    /// Token requests the plan accounts for per day, per the guide (they are part of
    /// `calls_per_day`, not on top of it).
    pub const AUTH_REQUESTS_PER_DAY: u32 = 6;
}

impl Default for PlanLimits {
    /// 5000 calls per day, 10 per second.
    fn default() -> Self {
        Self {
            calls_per_day: 5_000,
            queries_per_second: 10,
        }
    }
}

/// Where an application is in its review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AppStatus {
    /// Created, waiting for the platform team.
    Pending,
    /// Approved: it has keys and may call.
    Active,
    /// Refused by the platform team; it never gets keys.
    Rejected,
    /// Was active; its keys are refused until it is approved again.
    Disabled,
}

impl fmt::Display for AppStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Disabled => "disabled",
        })
    }
}

/// An application's credentials.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppKeys {
    /// The client id (API key).
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
}

impl AppKeys {
    /// Keys from an id and a secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl fmt::Debug for AppKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppKeys")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// A public view of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationInfo {
    /// The platform's id of the application (`app-N`).
    pub id: String,
    /// The developer who created it; none for applications created by the platform team.
    pub developer_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Its web page.
    pub web_page: String,
    /// Its description.
    pub description: String,
    /// Its status.
    pub status: AppStatus,
    /// Its keys, when it has some and the viewer may see them.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub keys: Option<AppKeys>,
}

/// Per-application counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppCounters {
    /// Token requests that authenticated as this application (whatever the answer).
    pub token_requests: u64,
    /// API calls with an access token of this application (whatever the answer).
    pub api_calls: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Calls counted against today's quota (token requests and API calls).
    pub quota_current: u64,
    /// Calls refused with `ERR_403_DEVELOPER_OVER_RATE`.
    pub denied_over_rate: u64,
    /// Calls refused with `ERR_403_DEVELOPER_OVER_QPS`.
    pub denied_over_qps: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Developer {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) key: String,
}

/// The one refresh token of an application that is still good.
#[derive(Debug, Clone)]
pub(crate) struct LiveRefresh {
    pub(crate) token: String,
    pub(crate) expires_at: SystemTime,
}

#[derive(Debug, Clone)]
pub(crate) struct Application {
    pub(crate) id: String,
    pub(crate) developer: Option<usize>,
    pub(crate) name: String,
    pub(crate) web_page: String,
    pub(crate) description: String,
    pub(crate) status: AppStatus,
    pub(crate) keys: Option<AppKeys>,
    /// Only the latest refresh token is valid (rotation).
    pub(crate) refresh: Option<LiveRefresh>,
    /// The latest access token issued (the one "revoke the current access token" revokes).
    pub(crate) current_access: Option<String>,
    pub(crate) usage: Usage,
    pub(crate) counters: AppCounters,
}

/// The fields of a new application.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewApplication {
    /// Application name.
    #[serde(default)]
    pub name: String,
    /// Web page about the application (`http://` or `https://`).
    #[serde(default)]
    pub web_page: String,
    /// Description.
    #[serde(default)]
    pub description: String,
}

const MAX_FIELD: usize = 1_000;

fn required(field: &'static str, value: &str) -> Result<(), ProviderError> {
    if value.trim().is_empty() {
        return Err(ProviderError::Invalid {
            field,
            reason: "it is required and must not be empty".into(),
        });
    }
    if value.len() > MAX_FIELD {
        return Err(ProviderError::Invalid {
            field,
            reason: format!("it must be at most {MAX_FIELD} bytes"),
        });
    }
    Ok(())
}

/// All developers and applications.
#[derive(Debug, Clone, Default)]
pub(crate) struct Platform {
    pub(crate) developers: Vec<Developer>,
    pub(crate) apps: Vec<Application>,
    by_client_id: HashMap<String, usize>,
    by_developer_key: HashMap<String, usize>,
}

impl Platform {
    pub(crate) fn register_developer(
        &mut self,
        username: &str,
        email: &str,
        keygen: &mut KeyGen,
    ) -> Result<usize, ProviderError> {
        required("username", username)?;
        required("email", email)?;
        if !email.contains('@') {
            return Err(ProviderError::Invalid {
                field: "email",
                reason: "it must be an e-mail address".into(),
            });
        }
        if self.developers.iter().any(|d| d.username == username) {
            return Err(ProviderError::UsernameTaken(username.into()));
        }
        let key = loop {
            let key = keygen.private_key();
            if !self.by_developer_key.contains_key(&key) {
                break key;
            }
        };
        let index = self.developers.len();
        self.developers.push(Developer {
            id: format!("dev-{}", index + 1),
            username: username.into(),
            email: email.into(),
            key: key.clone(),
        });
        self.by_developer_key.insert(key, index);
        Ok(index)
    }

    pub(crate) fn developer_by_key(&self, key: &str) -> Option<usize> {
        self.by_developer_key.get(key).copied()
    }

    pub(crate) fn create_application(
        &mut self,
        developer: Option<usize>,
        new: &NewApplication,
    ) -> Result<usize, ProviderError> {
        required("name", &new.name)?;
        required("web_page", &new.web_page)?;
        required("description", &new.description)?;
        if !(new.web_page.starts_with("http://") || new.web_page.starts_with("https://")) {
            return Err(ProviderError::Invalid {
                field: "web_page",
                reason: "it must be an http:// or https:// address".into(),
            });
        }
        let index = self.apps.len();
        self.apps.push(Application {
            id: format!("app-{}", index + 1),
            developer,
            name: new.name.clone(),
            web_page: new.web_page.clone(),
            description: new.description.clone(),
            status: AppStatus::Pending,
            keys: None,
            refresh: None,
            current_access: None,
            usage: Usage::default(),
            counters: AppCounters::default(),
        });
        Ok(index)
    }

    /// An application by its id (`app-N`) or its client id.
    pub(crate) fn find(&self, reference: &str) -> Option<usize> {
        self.apps
            .iter()
            .position(|a| a.id == reference)
            .or_else(|| self.by_client_id.get(reference).copied())
    }

    pub(crate) fn find_or_err(&self, reference: &str) -> Result<usize, ProviderError> {
        self.find(reference)
            .ok_or_else(|| ProviderError::UnknownApplication(reference.into()))
    }

    pub(crate) fn by_client_id(&self, client_id: &str) -> Option<usize> {
        self.by_client_id.get(client_id).copied()
    }

    fn check_keys(&self, keys: &AppKeys) -> Result<(), ProviderError> {
        for (field, value) in [
            ("client_id", &keys.client_id),
            ("client_secret", &keys.client_secret),
        ] {
            if !keys::is_valid_key(value) {
                return Err(ProviderError::Invalid {
                    field,
                    reason: "it must be 1 to 128 characters among A-Z a-z 0-9 - . _ ~".into(),
                });
            }
        }
        if self.by_client_id.contains_key(&keys.client_id) {
            return Err(ProviderError::DuplicateClientId(keys.client_id.clone()));
        }
        Ok(())
    }

    fn fresh_keys(&self, keygen: &mut KeyGen) -> AppKeys {
        loop {
            let client_id = keygen.client_id();
            if !self.by_client_id.contains_key(&client_id) {
                return AppKeys {
                    client_id,
                    client_secret: keygen.client_secret(),
                };
            }
        }
    }

    /// Approves a pending or disabled application; keys are issued on the first approval, or
    /// taken from `keys` when given.
    pub(crate) fn approve(
        &mut self,
        index: usize,
        keys: Option<AppKeys>,
        keygen: &mut KeyGen,
    ) -> Result<(), ProviderError> {
        let app = &self.apps[index];
        if !matches!(app.status, AppStatus::Pending | AppStatus::Disabled) {
            return Err(ProviderError::InvalidTransition {
                id: app.id.clone(),
                status: app.status,
                action: "approved",
            });
        }
        if app.keys.is_none() {
            let keys = match keys {
                Some(keys) => {
                    self.check_keys(&keys)?;
                    keys
                }
                None => self.fresh_keys(keygen),
            };
            self.by_client_id.insert(keys.client_id.clone(), index);
            self.apps[index].keys = Some(keys);
        }
        self.apps[index].status = AppStatus::Active;
        Ok(())
    }

    pub(crate) fn reject(&mut self, index: usize) -> Result<(), ProviderError> {
        self.transition(index, AppStatus::Pending, AppStatus::Rejected, "rejected")
    }

    pub(crate) fn disable(&mut self, index: usize) -> Result<(), ProviderError> {
        self.transition(index, AppStatus::Active, AppStatus::Disabled, "disabled")
    }

    fn transition(
        &mut self,
        index: usize,
        from: AppStatus,
        to: AppStatus,
        action: &'static str,
    ) -> Result<(), ProviderError> {
        let app = &mut self.apps[index];
        if app.status != from {
            return Err(ProviderError::InvalidTransition {
                id: app.id.clone(),
                status: app.status,
                action,
            });
        }
        app.status = to;
        Ok(())
    }

    /// Creates an application and approves it at once (what the platform team does for a
    /// partner, and what `--app` does).
    pub(crate) fn create_active(
        &mut self,
        name: &str,
        keys: Option<AppKeys>,
        keygen: &mut KeyGen,
    ) -> Result<usize, ProviderError> {
        if let Some(keys) = &keys {
            self.check_keys(keys)?;
        }
        let index = self.create_application(
            None,
            &NewApplication {
                name: name.into(),
                web_page: "https://example.invalid/".into(),
                description: "Created by the platform team".into(),
            },
        )?;
        self.approve(index, keys, keygen)?;
        Ok(index)
    }

    pub(crate) fn info(&self, index: usize, with_keys: bool) -> ApplicationInfo {
        let app = &self.apps[index];
        ApplicationInfo {
            id: app.id.clone(),
            developer_id: app.developer.map(|d| self.developers[d].id.clone()),
            name: app.name.clone(),
            web_page: app.web_page.clone(),
            description: app.description.clone(),
            status: app.status,
            keys: if with_keys { app.keys.clone() } else { None },
        }
    }
}
