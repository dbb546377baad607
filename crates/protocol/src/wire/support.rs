//! Private helpers shared by the wire parsers: body decoding, untrusted-text sanitising,
//! secret redaction and Unix-time arithmetic. Nothing here panics on input.

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What replaces a masked secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// Longest server-provided text (a description, a detail header) shown in a message.
pub(crate) const MAX_TEXT_CHARS: usize = 200;

/// Longest body snippet shown in a message.
pub(crate) const MAX_SNIPPET_CHARS: usize = 80;

/// How much of a body is looked at to build a snippet.
const SNIPPET_WINDOW_BYTES: usize = 4096;

/// Shortest run of ASCII letters and digits that is masked when it mixes both.
const MIN_SECRET_RUN: usize = 8;

/// Shortest run of ASCII letters and digits that is masked whatever it holds: no word of
/// English or of the provider's messages is this long, a letters-only secret or token may be.
const MIN_ANY_RUN: usize = 20;

/// The first value of a header as text (lossy), trimmed; `None` when absent or blank.
pub(crate) fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers.get_all(name).iter().find_map(|value| {
        let text = String::from_utf8_lossy(value.as_bytes());
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    })
}

/// The media type of the `Content-Type` header, lower-cased, without parameters.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let raw = header_text(headers, &CONTENT_TYPE)?;
    let essence = raw.split(';').next().unwrap_or_default().trim();
    (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
}

/// `HTTP 502 Bad Gateway`, or `HTTP 596` for a status without a canonical reason.
pub(crate) fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("HTTP {} {reason}", status.as_u16()),
        None => format!("HTTP {}", status.as_u16()),
    }
}

/// Decodes a response body into its top-level fields: a JSON object (whatever the content
/// type: servers mislabel JSON as text/plain or text/html), or a form-encoded body (when labelled
/// so, or when an unlabelled/plain-text body is clearly one: it has an `access_token` or `error`
/// field). `None` when it is neither.
pub(crate) fn decode_fields(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let trimmed = body.trim_ascii();
    if trimmed.starts_with(b"{") {
        return serde_json::from_slice::<Map<String, Value>>(trimmed).ok();
    }
    let media = media_type(headers);
    let labelled_form = media.as_deref() == Some("application/x-www-form-urlencoded");
    let may_sniff = matches!(media.as_deref(), None | Some("text/plain"));
    if !labelled_form && !may_sniff {
        return None;
    }
    if trimmed.is_empty() || std::str::from_utf8(trimmed).is_err() {
        return None;
    }
    if !labelled_form
        && trimmed
            .iter()
            .any(|b| b.is_ascii_whitespace() || matches!(b, b'<' | b'{' | b'"'))
    {
        return None;
    }
    let mut fields = Map::new();
    for (key, value) in form_urlencoded::parse(trimmed) {
        if !key.is_empty() && !fields.contains_key(key.as_ref()) {
            fields.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    let recognisable = fields.contains_key("access_token") || fields.contains_key("error");
    (labelled_form && !fields.is_empty() || recognisable).then_some(fields)
}

/// Whether a character must not reach a terminal or a log line as is: control characters and
/// the invisible formatting characters used to spoof text direction.
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Replaces unsafe characters with spaces, collapses runs of whitespace and trims.
fn normalise_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || is_unsafe_char(c) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Cuts `text` to at most `max` characters, marking a cut with `…`.
/// At most `max` characters, the ellipsis of a cut included: a text already short enough is
/// left as it is, so cutting twice gives what cutting once did.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().nth(max).is_none() {
        return text.to_owned();
    }
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if max > 0 => {
            let kept = text.get(..cut).unwrap_or(text).trim_end();
            format!("{kept}…")
        }
        _ => String::new(),
    }
}

/// Makes untrusted server text (a description, a detail header) safe to show and to keep:
/// control characters removed, whitespace collapsed, the values of secret-named fields masked
/// ([`redact_secret_values`]), token-like runs masked ([`redact_runs`]), at most `max` chars.
/// Applying it again changes nothing more.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    let once = |text: &str| {
        let masked = redact_runs(&redact_secret_values(&normalise_spaces(text)));
        truncate_chars(&masked, max)
    };
    // A cut can make a new masked value appear (`token=abc…`): clean until nothing changes,
    // so that cleaning what was already cleaned changes nothing. Each round only masks or
    // shortens; two or three rounds settle it.
    let mut current = once(text);
    for _ in 0..3 {
        let next = once(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

/// [`sanitize`] with the default length for server text.
pub(crate) fn sanitize_text(text: &str) -> String {
    sanitize(text, MAX_TEXT_CHARS)
}

/// Masks the runs of ASCII letters and digits that may be a token, a secret or a key: every run
/// of at least 8 that holds both a letter and a digit, and every run of at least 20 whatever it
/// holds. (A shorter letters-only secret is not recognisable as one here.)
pub(crate) fn redact_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let mixed =
            run.chars().any(|c| c.is_ascii_alphabetic()) && run.chars().any(|c| c.is_ascii_digit());
        if (mixed && run.len() >= MIN_SECRET_RUN) || run.len() >= MIN_ANY_RUN {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Whether a field name says its value is a secret (`access_token`, `client_secret`, …).
pub(crate) fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    (key.contains("token") || key.contains("secret") || key.contains("password"))
        && key != "token_type"
}

/// Scans a JSON string starting at the opening quote `chars[start]`; returns its (unescaped as
/// far as it matters here) content and the index just after the closing quote, or the end of
/// the text when it is unterminated (then `closed` is false).
fn scan_json_string(chars: &[char], start: usize) -> (String, usize, bool) {
    let mut content = String::new();
    let mut i = start + 1;
    while let Some(&c) = chars.get(i) {
        match c {
            '"' => return (content, i + 1, true),
            '\\' => {
                if let Some(&escaped) = chars.get(i + 1) {
                    content.push(escaped);
                }
                i += 2;
            }
            _ => {
                content.push(c);
                i += 1;
            }
        }
    }
    (content, chars.len(), false)
}

fn skip_spaces(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn push_slice(out: &mut String, chars: &[char], from: usize, to: usize) {
    if let Some(slice) = chars.get(from..to) {
        out.extend(slice);
    }
}

fn is_form_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Masks the values of secret-named fields ([`is_secret_key`]), in JSON (`"access_token": "…"`,
/// also in a truncated body) and as `name=value` pairs (`refresh_token=…`, in a form body or
/// inside a sentence or a JSON string).
pub(crate) fn redact_secret_values(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '"' {
            let (key, after_key, _) = scan_json_string(&chars, i);
            let colon = skip_spaces(&chars, after_key);
            if chars.get(colon) != Some(&':') {
                // Not a key: read its content like any text, `name=value` pairs and all.
                out.push(c);
                i += 1;
                continue;
            }
            push_slice(&mut out, &chars, i, after_key);
            i = after_key;
            if !is_secret_key(&key) {
                continue;
            }
            let value = skip_spaces(&chars, colon + 1);
            if chars.get(value) != Some(&'"') {
                continue;
            }
            push_slice(&mut out, &chars, i, value);
            let (_, after_value, closed) = scan_json_string(&chars, value);
            out.push('"');
            out.push_str(REDACTED);
            if closed {
                out.push('"');
            }
            i = after_value;
            continue;
        }
        let at_boundary = i == 0
            || chars
                .get(i.wrapping_sub(1))
                .is_some_and(|&p| !is_form_key_char(p));
        if at_boundary && is_form_key_char(c) {
            let mut end = i;
            while chars.get(end).is_some_and(|&k| is_form_key_char(k)) {
                end += 1;
            }
            if chars.get(end) == Some(&'=') {
                let key: String = chars.get(i..end).unwrap_or_default().iter().collect();
                push_slice(&mut out, &chars, i, end + 1);
                i = end + 1;
                if is_secret_key(&key) {
                    let mut value_end = i;
                    while chars
                        .get(value_end)
                        .is_some_and(|&v| !(v == '&' || v == '"' || v == '<' || v.is_whitespace()))
                    {
                        value_end += 1;
                    }
                    if value_end > i {
                        out.push_str(REDACTED);
                    }
                    i = value_end;
                }
                continue;
            }
            push_slice(&mut out, &chars, i, end);
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The start of a body, safe to show: lossy UTF-8, secrets masked, control characters replaced
/// by spaces, at most [`MAX_SNIPPET_CHARS`] characters.
pub(crate) fn snippet(body: &[u8]) -> String {
    let window = body.get(..SNIPPET_WINDOW_BYTES).unwrap_or(body);
    let mut text = String::from_utf8_lossy(window).into_owned();
    if window.len() < body.len() {
        // The window may end inside a secret: drop the run it cuts.
        let keep = text
            .trim_end_matches(|c: char| c.is_ascii_alphanumeric())
            .len();
        text.truncate(keep);
    }
    let text = redact_runs(&redact_secret_values(&text));
    truncate_chars(&normalise_spaces(&text), MAX_SNIPPET_CHARS)
}

/// Seconds since the Unix epoch, rounded down (negative before the epoch).
pub(crate) fn unix_seconds(at: SystemTime) -> i128 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::from(after.as_secs()),
        Err(before) => {
            let before = before.duration();
            let whole = i128::from(before.as_secs());
            if before.subsec_nanos() > 0 {
                -whole - 1
            } else {
                -whole
            }
        }
    }
}

/// The instant `seconds` after (or, negative, before) the Unix epoch, if `SystemTime` holds it.
pub(crate) fn from_unix_seconds(seconds: i128) -> Option<SystemTime> {
    let magnitude = u64::try_from(seconds.unsigned_abs()).ok()?;
    let offset = Duration::from_secs(magnitude);
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

/// Latest instant an HTTP-date can show, 9999-12-31 23:59:59 UTC (`httpdate` panics past it).
const MAX_HTTP_DATE_SECS: u64 = 253_402_300_799;

/// `at` as an HTTP-date (`Tue, 06 Jun 2017 00:00:00 GMT`), clamped to the years 1970..=9999
/// that the format (and `httpdate::fmt_http_date`, which panics outside them) can show: the
/// times shown in messages come from the caller's clock, which may be anywhere.
pub(crate) fn http_date(at: SystemTime) -> String {
    let latest = UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE_SECS);
    httpdate::fmt_http_date(at.clamp(UNIX_EPOCH, latest))
}

#[cfg(test)]
mod tests {

    /// Found by fuzz/gateway_denial: a cut made `token-=…` a masked value only on a second
    /// pass, so a code cleaned when parsed did not read back as itself.
    #[test]
    fn cleaning_what_was_cleaned_changes_nothing() {
        let raw = "E1\"l t-:02c\u{fffd}neetpail\":\"Account Ove----=-----------=------------token-=2c\u{fffd}neetpail\":\"Account Ove----=------------token-=abcdef";
        let once = sanitize(raw, 80);
        assert_eq!(sanitize(&once, 80), once);
        assert!(once.chars().count() <= 80, "{once}");
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("abc…", 4), "abc…");
    }
    use super::*;

    #[test]
    fn http_date_clamps_instead_of_panicking() {
        // Found by fuzz/token_machine: a clock before 1970 made an error's Display panic.
        let day = Duration::from_secs(86_400);
        assert_eq!(http_date(UNIX_EPOCH - day), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(MAX_HTTP_DATE_SECS) + day),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        assert_eq!(http_date(UNIX_EPOCH + day), "Fri, 02 Jan 1970 00:00:00 GMT");
        let before = crate::wire::gateway::RetryAfter::At(UNIX_EPOCH - day);
        assert_eq!(before.to_string(), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn runs_mixing_letters_and_digits_are_masked() {
        assert_eq!(
            redact_runs("token 6mh3cgqvc6d992fd45zc88ue and w9t7t48g7H, not Developer or 12345678"),
            "token [redacted] and [redacted], not Developer or 12345678"
        );
    }

    #[test]
    fn secret_values_are_masked_in_json_and_forms() {
        assert_eq!(
            redact_secret_values(r#"{"access_token": "abc", "token_type":"bearer", "x":"y"}"#),
            r#"{"access_token": "[redacted]", "token_type":"bearer", "x":"y"}"#
        );
        assert_eq!(
            redact_secret_values(r#"{"refresh_token":"abc\"de"#),
            r#"{"refresh_token":"[redacted]"#
        );
        assert_eq!(
            redact_secret_values("client_secret=abc&grant_type=x&refresh_token=zz"),
            "client_secret=[redacted]&grant_type=x&refresh_token=[redacted]"
        );
    }

    #[test]
    fn snippets_are_short_single_line_and_redacted() {
        assert_eq!(
            snippet(b"<h1>Developer Over Rate</h1>"),
            "<h1>Developer Over Rate</h1>"
        );
        assert_eq!(snippet(b"a\r\n\tb\x00c"), "a b c");
        let long = "x ".repeat(100);
        assert_eq!(snippet(long.as_bytes()).chars().count(), 80);
        let mut big = vec![b' '; SNIPPET_WINDOW_BYTES - 3];
        big.extend_from_slice(b"abc123xyz");
        assert_eq!(snippet(&big), "");
    }

    #[test]
    fn unix_seconds_round_down() {
        let before = UNIX_EPOCH - Duration::from_millis(1500);
        assert_eq!(unix_seconds(before), -2);
        assert_eq!(unix_seconds(UNIX_EPOCH + Duration::from_millis(1500)), 1);
        assert_eq!(
            from_unix_seconds(-2),
            Some(UNIX_EPOCH - Duration::from_secs(2))
        );
        assert_eq!(from_unix_seconds(i128::MAX), None);
    }
}
