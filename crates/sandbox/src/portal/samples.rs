//! The sample programs the Keys page offers for download ("Generating through Python: download
//! the sample code"), filled in with the sandbox's token URL, the application's client id and
//! the API's URL. The client secret is never written into them: they read it from the
//! `CLIENT_SECRET` environment variable.

use askama::Template;

/// Name of the environment variable the samples read the client secret from.
pub(crate) const SECRET_VARIABLE: &str = "CLIENT_SECRET";

/// `name` with only characters that are safe in a comment or docstring of either language.
pub(crate) fn comment_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_.,:;()&'/+#@!?".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a sample is filled in with.
#[derive(Debug, Clone)]
pub(crate) struct SampleValues {
    /// The application's name (a comment in the sample), through [`comment_safe`].
    pub(crate) app_name: String,
    /// Absolute URL of the token endpoint.
    pub(crate) token_url: String,
    /// Absolute URL of `/v1/searchoauth`.
    pub(crate) api_url: String,
    /// The application's client id.
    pub(crate) client_id: String,
}

/// The Python sample: standard library only.
#[derive(Template)]
#[template(path = "samples/sample.py", escape = "none")]
struct Python<'a> {
    values: &'a SampleValues,
    secret_variable: &'a str,
}

/// The Rust sample, with this project's blocking client.
#[derive(Template)]
#[template(path = "samples/main.rs", escape = "none")]
struct Rust<'a> {
    values: &'a SampleValues,
    secret_variable: &'a str,
}

/// A sample language the Keys page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Language {
    /// `bearer_sample.py`
    Python,
    /// `main.rs` of a Cargo project depending on `bearer-client`.
    Rust,
}

impl Language {
    /// The language whose download is named `file`.
    pub(crate) fn from_file(file: &str) -> Option<Self> {
        match file {
            "bearer_sample.py" => Some(Self::Python),
            "main.rs" => Some(Self::Rust),
            _ => None,
        }
    }

    /// The download's file name.
    pub(crate) fn file(self) -> &'static str {
        match self {
            Self::Python => "bearer_sample.py",
            Self::Rust => "main.rs",
        }
    }

    /// The download's content type.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Python => "text/x-python; charset=utf-8",
            Self::Rust => "text/x-rust; charset=utf-8",
        }
    }

    /// The sample's text.
    pub(crate) fn render(self, values: &SampleValues) -> Result<String, askama::Error> {
        let secret_variable = SECRET_VARIABLE;
        match self {
            Self::Python => Python {
                values,
                secret_variable,
            }
            .render(),
            Self::Rust => Rust {
                values,
                secret_variable,
            }
            .render(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> SampleValues {
        SampleValues {
            app_name: "Compliance dashboard".into(),
            token_url: "http://127.0.0.1:8080/oauth2/token".into(),
            api_url: "http://127.0.0.1:8080/v1/searchoauth".into(),
            client_id: "ysszm2yk7gp5r9ernuaurgcc".into(),
        }
    }

    #[test]
    fn samples_are_filled_in_and_read_the_secret_from_the_environment() {
        for language in [Language::Python, Language::Rust] {
            let text = language.render(&values()).unwrap();
            assert!(
                text.contains("\"http://127.0.0.1:8080/oauth2/token\""),
                "{text}"
            );
            assert!(
                text.contains("\"http://127.0.0.1:8080/v1/searchoauth\""),
                "{text}"
            );
            assert!(text.contains("\"ysszm2yk7gp5r9ernuaurgcc\""), "{text}");
            assert!(text.contains("\"CLIENT_SECRET\""), "{text}");
            assert_eq!(Language::from_file(language.file()), Some(language));
        }
        let python = Language::Python.render(&values()).unwrap();
        assert!(
            python.contains("grant_type\": \"refresh_token\""),
            "{python}"
        );
        assert!(
            python.contains("\"Authorization\": \"Bearer \""),
            "{python}"
        );
        assert_eq!(comment_safe("a\"\"\"b\n<c>"), "a___b__c_");
        let rust = Language::Rust.render(&values()).unwrap();
        assert!(rust.contains("use bearer_client::"), "{rust}");
    }
}
