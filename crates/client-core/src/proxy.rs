//! Which proxy, if any, a request goes through — the same rules on every transport.
//!
//! The default reads the environment as curl does (`https_proxy`/`HTTPS_PROXY` for https
//! targets, `http_proxy` for http ones — not `HTTP_PROXY`, which a CGI request can set — then
//! `all_proxy`/`ALL_PROXY`, and `no_proxy`/`NO_PROXY`), because a program deployed behind a
//! corporate proxy expects it and every other HTTP client it uses does the same. An explicit
//! [`ProxySetting::Url`] or [`ProxySetting::None`] overrides it. Loopback (`localhost`,
//! `127.0.0.0/8`, `[::1]`) is never proxied. Proxies are `http://` (credentials in the URL are
//! sent as `Proxy-Authorization: Basic`), and every request through one is tunnelled with
//! `CONNECT`, https or not.

use crate::error::Error;
use bearer_protocol::config::is_loopback;
use http::{HeaderValue, Uri};
use std::fmt;

/// Where a client's proxy comes from (resolved into [`Proxies`], whose example shows the
/// rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// The proxy environment variables (the default).
    #[default]
    Environment,
    /// No proxy, whatever the environment says.
    None,
    /// This proxy (`http://[user:password@]host:port`) for every target but loopback, and
    /// those `no_proxy` of the environment names.
    Url(String),
}

/// Where a [`Proxy`] was configured, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxySource {
    /// The client builder's `proxy` setting.
    Setting,
    /// This environment variable.
    Variable(&'static str),
}

/// A proxy to go through: its address, and how to authenticate to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    uri: Uri,
    /// As configured, with its scheme (and its credentials, if any).
    url: String,
    authorization: Option<HeaderValue>,
    source: ProxySource,
}

impl Proxy {
    fn parse(value: &str, source: ProxySource) -> Result<Self, Error> {
        let name = match source {
            ProxySource::Setting => "proxy".to_owned(),
            ProxySource::Variable(variable) => variable.to_owned(),
        };
        let problem = |what: &str| Error::settings("proxy", format!("{name} {what}"));
        let value = value.trim();
        // A bare `host:port` means an http proxy, as curl reads it.
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("http://{value}")
        };
        let uri: Uri = with_scheme
            .parse()
            .map_err(|_| problem("is not a proxy URL (http://host:port)"))?;
        if uri.scheme_str() != Some("http") {
            return Err(problem(
                "must be an http:// proxy (https and socks proxies are not supported)",
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| problem("has no host"))?
            .clone();
        let (credentials, host) = match authority.as_str().rsplit_once('@') {
            Some((credentials, host)) => (Some(credentials), host),
            None => (None, authority.as_str()),
        };
        let authorization = credentials
            .map(|credentials| {
                let decoded = percent_decode(credentials);
                let value = format!(
                    "Basic {}",
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, decoded)
                );
                let mut value = HeaderValue::try_from(value)
                    .map_err(|_| problem("has credentials that are not a header value"))?;
                value.set_sensitive(true);
                Ok::<_, Error>(value)
            })
            .transpose()?;
        let port = uri.port_u16().unwrap_or(80);
        let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
        let uri = Uri::builder()
            .scheme("http")
            .authority(format!("{host}:{port}"))
            .path_and_query("/")
            .build()
            .map_err(|_| problem("is not a proxy URL (http://host:port)"))?;
        Ok(Self {
            uri,
            url: with_scheme,
            authorization,
            source,
        })
    }

    /// The proxy's address, `http://host:port/`, without credentials.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The proxy's host.
    pub fn host(&self) -> &str {
        self.uri.host().unwrap_or_default()
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.uri.port_u16().unwrap_or(80)
    }

    /// The proxy's URL as configured, credentials included: for a transport's own proxy
    /// setting, never for a message.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `Proxy-Authorization` to send it, when its URL carried credentials.
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// Where it was configured.
    pub fn source(&self) -> ProxySource {
        self.source
    }
}

impl fmt::Display for Proxy {
    /// `the proxy 10.0.0.1:3128 (from HTTPS_PROXY)`: never its credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the proxy {}:{}", self.host(), self.port())?;
        match self.source {
            ProxySource::Setting => f.write_str(" (the client's proxy setting)"),
            ProxySource::Variable(variable) => write!(f, " (from {variable})"),
        }
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host())
            .field("port", &self.port())
            .field("authorization", &self.authorization.is_some())
            .field("source", &self.source)
            .finish()
    }
}

/// The proxies of a client, resolved once when it is built: which one a target goes through.
///
/// ```
/// use bearer_client_core::{Proxies, ProxySetting};
///
/// let env = |name: &str| match name {
///     "https_proxy" => Some("http://10.0.0.1:3128".to_owned()),
///     "no_proxy" => Some("internal.example.com,.corp".to_owned()),
///     _ => None,
/// };
/// let proxies = Proxies::resolve(&ProxySetting::Environment, env)?;
/// let through = |url: &str| proxies.for_uri(&url.parse().unwrap()).map(|p| p.to_string());
/// assert_eq!(through("https://api.example.com/v1").as_deref(), Some("the proxy 10.0.0.1:3128 (from https_proxy)"));
/// assert_eq!(through("http://api.example.com/v1"), None, "no http proxy is set");
/// assert_eq!(through("https://internal.example.com/v1"), None, "no_proxy");
/// assert_eq!(through("https://build.corp/v1"), None, "no_proxy, a domain");
/// assert_eq!(through("https://127.0.0.1:8080/v1"), None, "loopback, always");
/// # Ok::<(), bearer_client_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    http: Option<Proxy>,
    https: Option<Proxy>,
    /// `no_proxy` patterns, lower case, without a leading dot.
    bypass: Vec<String>,
    /// `no_proxy=*`.
    bypass_all: bool,
}

impl Proxies {
    /// Resolves `setting`, reading variables through `env` (`std::env::var(name).ok()` in a
    /// client). A proxy URL that does not parse is a settings error naming where it came from.
    pub fn resolve(
        setting: &ProxySetting,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let var = |names: &[&'static str]| {
            names.iter().find_map(|name| {
                env(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (*name, value))
            })
        };
        let (bypass, bypass_all) = match var(&["no_proxy", "NO_PROXY"]) {
            Some((_, list)) => {
                let patterns: Vec<String> = list
                    .split(',')
                    .map(|p| p.trim().trim_start_matches('.').to_ascii_lowercase())
                    .filter(|p| !p.is_empty())
                    .collect();
                let all = patterns.iter().any(|p| p == "*");
                (patterns, all)
            }
            None => (Vec::new(), false),
        };
        let from = |names: &[&'static str]| {
            var(names)
                .map(|(name, value)| Proxy::parse(&value, ProxySource::Variable(name)))
                .transpose()
        };
        match setting {
            ProxySetting::None => Ok(Self::default()),
            ProxySetting::Url(url) => {
                let proxy = Proxy::parse(url, ProxySource::Setting)?;
                Ok(Self {
                    http: Some(proxy.clone()),
                    https: Some(proxy),
                    bypass,
                    bypass_all,
                })
            }
            ProxySetting::Environment => {
                let all = from(&["all_proxy", "ALL_PROXY"])?;
                Ok(Self {
                    // Not `HTTP_PROXY`: in a CGI program it comes from the request's `Proxy:`
                    // header.
                    http: from(&["http_proxy"])?.or_else(|| all.clone()),
                    https: from(&["https_proxy", "HTTPS_PROXY"])?.or(all),
                    bypass,
                    bypass_all,
                })
            }
        }
    }

    /// The proxy a request to `uri` goes through, if any: never for loopback or a host
    /// `no_proxy` names (itself or a domain it is in).
    pub fn for_uri(&self, uri: &Uri) -> Option<&Proxy> {
        let proxy = match uri.scheme_str() {
            Some("https") => self.https.as_ref(),
            Some("http") => self.http.as_ref(),
            _ => None,
        }?;
        let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
        if is_loopback(host) || self.bypass_all {
            return None;
        }
        let host = host.to_ascii_lowercase();
        let bypassed = self.bypass.iter().any(|pattern| {
            host == *pattern
                || host
                    .strip_suffix(pattern.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        });
        (!bypassed).then_some(proxy)
    }

    /// The proxies targets may go through (the https one, then the http one; the same one
    /// twice when it serves both).
    pub fn iter(&self) -> impl Iterator<Item = &Proxy> {
        self.https.iter().chain(self.http.iter())
    }

    /// Whether no target goes through a proxy.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }
}

/// `%XX` escapes decoded (credentials in a proxy URL are percent-encoded).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(a), Some(b)) if hex(a).is_some() && hex(b).is_some() => {
                let value = hex(a).unwrap_or_default() * 16 + hex(b).unwrap_or_default();
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn target(proxies: &Proxies, url: &str) -> Option<String> {
        proxies
            .for_uri(&url.parse().unwrap())
            .map(|p| format!("{}:{}", p.host(), p.port()))
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let proxies = Proxies::resolve(
            &ProxySetting::Environment,
            env(&[
                ("HTTPS_PROXY", "proxy.corp:3128"),
                ("HTTP_PROXY", "http://cgi-header-injection:1"),
                ("ALL_PROXY", "http://all.corp:8080"),
                ("NO_PROXY", "Example.ORG, .svc.cluster.local"),
            ]),
        )
        .unwrap();
        assert_eq!(
            target(&proxies, "https://api.example.com/").as_deref(),
            Some("proxy.corp:3128")
        );
        // `HTTP_PROXY` is ignored; `ALL_PROXY` covers http.
        assert_eq!(
            target(&proxies, "http://api.example.com/").as_deref(),
            Some("all.corp:8080")
        );
        assert_eq!(target(&proxies, "https://example.org/"), None);
        assert_eq!(target(&proxies, "https://www.example.org/"), None);
        assert_eq!(
            target(&proxies, "https://notexample.org/").as_deref(),
            Some("proxy.corp:3128")
        );
        assert_eq!(target(&proxies, "https://api.svc.cluster.local/"), None);
        for loopback in [
            "http://localhost:1/",
            "https://127.0.0.1/",
            "https://[::1]:8443/",
        ] {
            assert_eq!(target(&proxies, loopback), None, "{loopback}");
        }
    }

    #[test]
    fn an_explicit_setting_overrides_the_environment() {
        let vars = env(&[("https_proxy", "http://ignored:1"), ("no_proxy", "*")]);
        let none = Proxies::resolve(&ProxySetting::None, &vars).unwrap();
        assert!(none.is_empty());
        let url = ProxySetting::Url("http://user:p%40ss@10.1.2.3:3128".into());
        let explicit = Proxies::resolve(&url, env(&[])).unwrap();
        let proxy = explicit
            .for_uri(&"https://api.example.com/".parse().unwrap())
            .unwrap();
        assert_eq!((proxy.host(), proxy.port()), ("10.1.2.3", 3128));
        // `user:p@ss`, never shown.
        assert_eq!(proxy.authorization().unwrap(), "Basic dXNlcjpwQHNz");
        assert!(!format!("{proxy} {proxy:?}").contains("p@ss"));
        assert!(!format!("{proxy} {proxy:?}").contains("dXNlcjpwQHNz"));
        // `no_proxy=*` of the environment still bypasses an explicit proxy.
        let bypassed = Proxies::resolve(&url, vars).unwrap();
        assert!(
            bypassed
                .for_uri(&"https://api.example.com/".parse().unwrap())
                .is_none()
        );
    }

    #[test]
    fn a_proxy_that_is_not_an_http_url_is_a_settings_error_naming_its_source() {
        let error = Proxies::resolve(
            &ProxySetting::Environment,
            env(&[("HTTPS_PROXY", "socks5://10.0.0.1:1080")]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("HTTPS_PROXY"), "{error}");
        let error =
            Proxies::resolve(&ProxySetting::Url("http://[nope".into()), env(&[])).unwrap_err();
        assert!(error.to_string().contains("proxy"), "{error}");
    }
}
