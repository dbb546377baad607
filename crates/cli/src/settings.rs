//! Where the settings come from — the flags, then the `BEARER_*` variables, then the profile —
//! and the profile file that `bearer configure` writes.

use crate::cli::{AuthArg, GlobalArgs};
use crate::exit::Failure;
use bearer_transport_ureq::bearer_protocol::{ClientAuth, Config, Plan};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long bearer stays quiet after the credentials were refused, unless the secret changes
/// or `bearer logout` is run: six hours, so that a job run every minute with a revoked secret
/// sends at most 4 token requests a day (the plan accounts for 6), not one a minute.
pub const QUIET_PERIOD: Duration = Duration::from_secs(6 * 3600);

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// One profile of the configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The token endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    /// The client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The client secret (the file is mode 0600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// `body` or `basic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<String>,
    /// The API's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    /// The plan's calls per day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls_per_day: Option<u64>,
    /// The plan's queries per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries_per_second: Option<u32>,
    /// The token cache (`file:`, `file:DIR`, `redis://…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// The configuration file: profiles by name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The user's directories, by the platform's conventions (XDG on Linux).
pub fn project_dirs() -> Result<directories::ProjectDirs, Failure> {
    directories::ProjectDirs::from("", "", "bearer").ok_or_else(|| {
        Failure::usage("no home directory found: set HOME (or XDG_CONFIG_HOME and XDG_CACHE_HOME)")
    })
}

/// The configuration file's path: `$XDG_CONFIG_HOME/bearer/config.toml` on Linux.
pub fn config_path() -> Result<PathBuf, Failure> {
    Ok(project_dirs()?.config_dir().join("config.toml"))
}

impl ConfigFile {
    /// The file at `path`, or an empty one if there is none.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        match fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|error| {
                Failure::usage(format!(
                    "the configuration file {} cannot be read: {}; fix or remove it, or run `bearer configure`",
                    path.display(),
                    error.message()
                ))
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(error) => Err(Failure::other(format!(
                "the configuration file {} cannot be read: {error}",
                path.display()
            ))),
        }
    }

    /// Writes the file at `path` (its directory created mode 0700), mode 0600, replacing it
    /// atomically.
    pub fn save(&self, path: &Path) -> Result<(), Failure> {
        let fail = |error: std::io::Error| {
            Failure::other(format!("cannot write {}: {error}", path.display()))
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(fail)?;
        let text = toml::to_string(self)
            .map_err(|error| Failure::other(format!("cannot write the profile: {error}")))?;
        let temp = dir.join(format!(".config.toml.{}.tmp", std::process::id()));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&temp).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(fail)?;
        }
        file.write_all(text.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        fs::rename(&temp, path).map_err(fail)
    }
}

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// A `BEARER_*` variable.
    Env,
    /// The profile.
    Profile,
}

impl Source {
    /// How `status` names it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Env => "environment",
            Self::Profile => "profile",
        }
    }
}

/// The settings of a run, resolved.
#[derive(Debug)]
pub struct Resolved {
    /// The profile's name.
    pub profile: String,
    /// Whether the profile exists in the configuration file.
    pub profile_found: bool,
    /// The configuration file.
    pub config_path: PathBuf,
    /// The token endpoint.
    pub token_url: Option<(String, Source)>,
    /// The client id.
    pub client_id: Option<(String, Source)>,
    /// The secret (never printed).
    secret: Option<(String, Source)>,
    /// How the client authenticates.
    pub auth: ClientAuth,
    /// The API's base URL.
    pub api_base_url: Option<String>,
    /// The plan.
    pub plan: Plan,
    /// The token cache.
    pub store: Option<String>,
}

/// A process environment, as a function (tests give their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The variable `name`, if set and not empty.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

fn parse_auth(value: &str, origin: &str) -> Result<ClientAuth, Failure> {
    match value {
        "body" => Ok(ClientAuth::Body),
        "basic" => Ok(ClientAuth::Basic),
        other => Err(Failure::usage(format!(
            "{origin} must be `body` or `basic`, not {other:?}"
        ))),
    }
}

impl Resolved {
    /// The settings from `flags`, then `env`, then the profile in `file`.
    pub fn resolve(
        flags: &GlobalArgs,
        env: Env<'_>,
        file: &ConfigFile,
        config_path: PathBuf,
    ) -> Result<Self, Failure> {
        let named = flags.profile.clone().filter(|name| !name.is_empty());
        let profile_name = named.clone().unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
        let found = file.profiles.get(&profile_name);
        if named.is_some() && found.is_none() {
            return Err(Failure::usage(format!(
                "there is no profile {profile_name:?} in {}; create it with `bearer configure --profile {profile_name}`",
                config_path.display()
            )));
        }
        let profile = found.cloned().unwrap_or_default();
        let pick = |flag: &Option<String>, var: &str, stored: &Option<String>| {
            flag.clone()
                .filter(|v| !v.is_empty())
                .map(|v| (v, Source::Flag))
                .or_else(|| env(var).map(|v| (v, Source::Env)))
                .or_else(|| stored.clone().map(|v| (v, Source::Profile)))
        };
        let auth = match flags.auth {
            Some(AuthArg::Body) => ClientAuth::Body,
            Some(AuthArg::Basic) => ClientAuth::Basic,
            None => match (env("BEARER_AUTH"), &profile.client_auth) {
                (Some(value), _) => parse_auth(&value, "BEARER_AUTH")?,
                (None, Some(value)) => parse_auth(value, "the profile's client_auth")?,
                (None, None) => ClientAuth::Body,
            },
        };
        let plan = Plan {
            calls_per_day: flags.calls_per_day.or(profile.calls_per_day),
            queries_per_second: flags.qps.or(profile.queries_per_second),
            ..Plan::default()
        };
        Ok(Self {
            profile: profile_name,
            profile_found: found.is_some(),
            config_path,
            token_url: pick(&flags.token_url, "BEARER_TOKEN_URL", &profile.token_url),
            client_id: pick(&flags.client_id, "BEARER_CLIENT_ID", &profile.client_id),
            secret: pick(&None, "BEARER_CLIENT_SECRET", &profile.client_secret),
            auth,
            api_base_url: flags.api_base_url.clone().or(profile.api_base_url.clone()),
            plan,
            store: pick(&flags.store, "BEARER_STORE", &profile.store).map(|(spec, _)| spec),
        })
    }

    /// The token URL and client id, or what to do when one is missing.
    pub fn credential(&self) -> Result<(&str, &str), Failure> {
        let missing = |what: &str, flag: &str, var: &str| {
            Failure::usage(format!(
                "no {what}: give {flag}, set {var}, or run `bearer configure{}`",
                if self.profile == DEFAULT_PROFILE {
                    String::new()
                } else {
                    format!(" --profile {}", self.profile)
                }
            ))
        };
        let url = self
            .token_url
            .as_ref()
            .ok_or_else(|| missing("token URL", "--token-url", "BEARER_TOKEN_URL"))?;
        let id = self
            .client_id
            .as_ref()
            .ok_or_else(|| missing("client id", "--client-id", "BEARER_CLIENT_ID"))?;
        Ok((&url.0, &id.0))
    }

    /// Where the secret comes from, if it is set.
    pub fn secret_source(&self) -> Option<Source> {
        self.secret.as_ref().map(|(_, source)| *source)
    }

    /// The secret, for the hold's fingerprint (never printed).
    pub fn secret(&self) -> Option<&str> {
        self.secret.as_ref().map(|(secret, _)| secret.as_str())
    }

    /// The protocol configuration, or what is missing or wrong.
    pub fn config(&self) -> Result<Config, Failure> {
        let (url, id) = self.credential()?;
        let secret = self.secret().ok_or_else(|| {
            Failure::usage(
                "no client secret: set BEARER_CLIENT_SECRET, or store it with `bearer configure`",
            )
        })?;
        Config::builder(url, id, secret)
            .client_auth(self.auth)
            .plan(self.plan)
            .quiet_period(QUIET_PERIOD)
            .build()
            .map_err(|error| Failure::usage(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn flags(args: &[&str]) -> GlobalArgs {
        let mut argv = vec!["bearer"];
        argv.extend_from_slice(args);
        argv.push("logout");
        crate::cli::Cli::try_parse_from(argv).unwrap().global
    }

    fn file() -> ConfigFile {
        let mut file = ConfigFile::default();
        let profile = Profile {
            token_url: Some("https://profile.example/oauth2/token".into()),
            client_id: Some("profile-id".into()),
            client_secret: Some("profile-secret".into()),
            client_auth: Some("basic".into()),
            ..Profile::default()
        };
        file.profiles.insert("default".into(), profile.clone());
        file.profiles.insert("other".into(), profile);
        file
    }

    #[test]
    fn flags_then_environment_then_profile() {
        let env = |name: &str| {
            (name == "BEARER_CLIENT_ID" || name == "BEARER_TOKEN_URL")
                .then(|| format!("env-{name}"))
        };
        let resolved = Resolved::resolve(
            &flags(&["--token-url", "https://flag.example/t"]),
            &env,
            &file(),
            "c.toml".into(),
        )
        .unwrap();
        assert_eq!(
            resolved.token_url,
            Some(("https://flag.example/t".into(), Source::Flag))
        );
        assert_eq!(
            resolved.client_id,
            Some(("env-BEARER_CLIENT_ID".into(), Source::Env))
        );
        assert_eq!(resolved.secret_source(), Some(Source::Profile));
        assert_eq!(resolved.auth, ClientAuth::Basic);
    }

    #[test]
    fn a_named_profile_must_exist() {
        let error = Resolved::resolve(
            &flags(&["--profile", "nope"]),
            &|_| None,
            &file(),
            "c.toml".into(),
        )
        .unwrap_err();
        assert_eq!(error.code, crate::exit::USAGE);
        assert!(error.message.contains("bearer configure --profile nope"));
    }

    #[test]
    fn the_profile_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        file().save(&path).unwrap();
        let loaded = ConfigFile::load(&path).unwrap();
        assert_eq!(loaded.profiles, file().profiles);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
