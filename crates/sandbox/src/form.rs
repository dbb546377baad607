//! Strict `application/x-www-form-urlencoded` and query-string parsing.
//!
//! Stricter than browsers: a `%` not followed by two hex digits is an error (not kept as is), and
//! the raw body and every decoded name and value must be UTF-8.

use std::fmt;

/// Why a form body or query string could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormError {
    /// The bytes, raw or percent-decoded, are not UTF-8.
    NotUtf8,
    /// A `%` escape is not two hex digits.
    BadEscape,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("The request body is not valid UTF-8"),
            Self::BadEscape => f.write_str("The request body is not valid form encoding"),
        }
    }
}

/// The name-value pairs of a form body or query string, in order, duplicates kept.
///
/// Empty segments (`a=1&&b=2`) are skipped; a segment without `=` is a name with an empty value.
pub(crate) fn parse(input: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let text = std::str::from_utf8(input).map_err(|_| FormError::NotUtf8)?;
    let mut pairs = Vec::new();
    for segment in text.split('&').filter(|s| !s.is_empty()) {
        let (name, value) = segment.split_once('=').unwrap_or((segment, ""));
        pairs.push((decode(name)?, decode(value)?));
    }
    Ok(pairs)
}

/// Percent-decodes one component, `+` meaning a space.
pub(crate) fn decode(component: &str) -> Result<String, FormError> {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.get(i + 1).and_then(|b| hex(*b));
                let lo = bytes.get(i + 2).and_then(|b| hex(*b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(FormError::BadEscape),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A parsed form with lookups that follow RFC 6749 3.1: a parameter sent without a value is
/// treated as omitted.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub(crate) fn parse(input: &[u8]) -> Result<Self, FormError> {
        parse(input).map(|pairs| Self { pairs })
    }

    /// The first non-empty value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The first of `names` that appears more than once.
    pub(crate) fn duplicated<'a>(&self, names: &[&'a str]) -> Option<&'a str> {
        names
            .iter()
            .copied()
            .find(|name| self.pairs.iter().filter(|(n, _)| n == name).count() > 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_guide_body() {
        let form = Form::parse(
            b"client_id=ysszm2yk7gp5r9ernuaurgcc&client_secret=w9t7t48g7H&grant_type=refresh_token\
              &refresh_token=6mh3cgqvc6d992fd45zc88ue&undefined=undefined",
        )
        .unwrap();
        assert_eq!(form.get("client_id"), Some("ysszm2yk7gp5r9ernuaurgcc"));
        assert_eq!(form.get("undefined"), Some("undefined"));
        assert_eq!(form.get("scope"), None);
    }

    #[test]
    fn strictness() {
        assert_eq!(decode("a+b%20c%2B").unwrap(), "a b c+");
        assert_eq!(decode("%zz"), Err(FormError::BadEscape));
        assert_eq!(decode("%4"), Err(FormError::BadEscape));
        assert_eq!(decode("%ff"), Err(FormError::NotUtf8));
        assert_eq!(parse(b"a=\xff"), Err(FormError::NotUtf8));
        assert_eq!(
            parse(b"&a&&b=1=2&").unwrap(),
            vec![("a".into(), "".into()), ("b".into(), "1=2".into())]
        );
    }

    #[test]
    fn empty_values_count_as_omitted_but_still_duplicate() {
        let form = Form::parse(b"client_id=&grant_type=a&grant_type=").unwrap();
        assert_eq!(form.get("client_id"), None);
        assert_eq!(
            form.duplicated(&["client_id", "grant_type"]),
            Some("grant_type")
        );
    }
}
