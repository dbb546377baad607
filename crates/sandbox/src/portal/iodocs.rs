//! I/O Docs: the API described in Mashery's I/O Docs definition format (kept in the crate,
//! `iodocs/searchoauth.json`), rendered as a page with the credentials form and, for each
//! method, a parameter form with "Try it!" (see `assets/iodocs.js`).

use super::Nav;
use super::render;
use super::session::{Visit, Who};
use crate::platform::AppStatus;
use crate::provider::Provider;
use askama::Template;
use http::header::ALLOW;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Where the definition itself is served.
pub(crate) const DEFINITION_PATH: &str = "/io-docs/definition.json";

/// The definition, in the I/O Docs JSON format.
pub(crate) const DEFINITION: &str = include_str!("../../iodocs/searchoauth.json");

/// The parts of an I/O Docs definition the page uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Definition {
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: String,
    auth: Auth,
    resources: BTreeMap<String, Resource>,
}

#[derive(Debug, Deserialize)]
struct Auth {
    oauth: OAuth,
}

#[derive(Debug, Deserialize)]
struct OAuth {
    #[serde(rename = "type")]
    grant: String,
    access_token_uri: String,
}

#[derive(Debug, Deserialize)]
struct Resource {
    methods: BTreeMap<String, MethodDefinition>,
}

#[derive(Debug, Deserialize)]
struct MethodDefinition {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(rename = "httpMethod")]
    http_method: String,
    path: String,
    #[serde(default)]
    parameters: BTreeMap<String, Parameter>,
}

#[derive(Debug, Deserialize)]
struct Parameter {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    default: String,
    #[serde(rename = "enum", default)]
    choices: Vec<String>,
    #[serde(default = "query")]
    location: String,
    #[serde(default)]
    description: String,
}

fn query() -> String {
    "query".into()
}

/// The definition kept in the crate.
pub(crate) fn definition() -> Result<Definition, serde_json::Error> {
    serde_json::from_str(DEFINITION)
}

/// One resource of the page.
pub(crate) struct ResourceView {
    pub(crate) name: String,
    pub(crate) methods: Vec<MethodView>,
}

/// One method of the page.
pub(crate) struct MethodView {
    /// The definition's key of the method (ids of its form and answer).
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) http_method: String,
    pub(crate) path: String,
    /// Whether calls carry `Authorization: Bearer <access token>` (all but the token
    /// endpoint).
    pub(crate) bearer: bool,
    pub(crate) parameters: Vec<ParameterView>,
}

/// One parameter of a method's form.
pub(crate) struct ParameterView {
    pub(crate) name: String,
    pub(crate) kind: String,
    pub(crate) required: bool,
    pub(crate) default: String,
    pub(crate) choices: Vec<String>,
    pub(crate) location: String,
    pub(crate) description: String,
    /// Typed into a password field.
    pub(crate) secret: bool,
}

/// The definition as the page shows it.
pub(crate) struct DefinitionView {
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) resources: Vec<ResourceView>,
}

impl Definition {
    fn view(self) -> (DefinitionView, String) {
        let token_path = self.auth.oauth.access_token_uri;
        let resources = self
            .resources
            .into_iter()
            .map(|(name, resource)| ResourceView {
                name,
                methods: resource
                    .methods
                    .into_iter()
                    .map(|(key, method)| MethodView {
                        bearer: method.path != token_path,
                        key,
                        name: method.name,
                        description: method.description,
                        http_method: method.http_method.to_ascii_uppercase(),
                        path: method.path,
                        parameters: method
                            .parameters
                            .into_iter()
                            .map(|(name, p)| ParameterView {
                                secret: name == "client_secret",
                                name,
                                kind: p.kind,
                                required: p.required,
                                default: p.default,
                                choices: p.choices,
                                location: p.location,
                                description: p.description,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let title = self.title.unwrap_or(self.name);
        let description = if self.auth.oauth.grant == "client_credentials" {
            self.description
        } else {
            format!("{} (OAuth 2.0 {})", self.description, self.auth.oauth.grant)
        };
        (
            DefinitionView {
                title,
                description,
                resources,
            },
            token_path,
        )
    }
}

/// An application the signed-in developer can pick for the credentials form.
pub(crate) struct PickApp {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) selected: bool,
}

#[derive(Template)]
#[template(path = "portal/iodocs.html")]
struct IoDocs {
    nav: Nav,
    definition: DefinitionView,
    token_path: String,
    apps: Vec<PickApp>,
    selected_client_id: String,
    selected_client_secret: String,
}

/// The `app` query parameter (`/io-docs?app=app-1` preselects that application).
fn wanted_app(request: &Request<Vec<u8>>) -> Option<String> {
    let query = request.uri().query()?;
    crate::form::parse(query.as_bytes())
        .ok()?
        .into_iter()
        .find(|(name, _)| name == "app")
        .map(|(_, value)| value)
}

pub(crate) fn page(
    provider: &Provider,
    visit: &Visit,
    request: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let definition = match definition() {
        Ok(definition) => definition,
        Err(error) => {
            return super::refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                Nav::of(provider, visit),
                "I/O Docs unavailable",
                &format!("The API definition could not be read: {error}"),
                "/",
            );
        }
    };
    let wanted = wanted_app(request);
    let apps: Vec<PickApp> = match visit.who {
        Who::Developer(me) => provider
            .platform
            .apps
            .iter()
            .filter(|a| a.developer == Some(me) && a.status == AppStatus::Active)
            .filter_map(|a| {
                let keys = a.keys.as_ref()?;
                Some(PickApp {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    client_id: keys.client_id.clone(),
                    client_secret: keys.client_secret.clone(),
                    selected: wanted.as_deref() == Some(a.id.as_str()),
                })
            })
            .collect(),
        _ => Vec::new(),
    };
    let (selected_client_id, selected_client_secret) = apps
        .iter()
        .find(|a| a.selected)
        .map(|a| (a.client_id.clone(), a.client_secret.clone()))
        .unwrap_or_default();
    let (definition, token_path) = definition.view();
    render::page(
        StatusCode::OK,
        &IoDocs {
            nav: Nav::of(provider, visit),
            definition,
            token_path,
            apps,
            selected_client_id,
            selected_client_secret,
        },
    )
}

/// The definition file itself.
pub(crate) fn definition_file(method: &Method) -> Response<Vec<u8>> {
    if method != Method::GET {
        let mut response = crate::respond::platform_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "This route accepts GET",
        );
        crate::respond::set(&mut response, ALLOW, "GET");
        return response;
    }
    render::asset("application/json", DEFINITION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_lists_the_token_endpoint_and_the_search() {
        let (view, token_path) = definition().unwrap().view();
        assert_eq!(token_path, "/oauth2/token");
        let methods: Vec<(&str, &str, bool)> = view
            .resources
            .iter()
            .flat_map(|r| &r.methods)
            .map(|m| (m.http_method.as_str(), m.path.as_str(), m.bearer))
            .collect();
        assert_eq!(
            methods,
            [
                ("POST", "/oauth2/token", false),
                ("GET", "/v1/searchoauth", true)
            ]
        );
        let search = &view.resources[1].methods[0];
        assert_eq!(search.parameters[0].name, "query");
        assert!(search.parameters[0].required);
        assert_eq!(search.parameters[0].location, "query");
    }
}
