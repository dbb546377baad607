//! The exit codes of `bearer`, and [`Failure`]: what a command that did not succeed reports.

use bearer_transport_ureq::Error;
use bearer_transport_ureq::bearer_protocol::Error as TokenError;
use std::fmt;
use std::time::SystemTime;

/// The command did what was asked.
pub const SUCCESS: u8 = 0;
/// Something else failed (a file could not be written, the provider gave an answer that
/// will not change if repeated, …); the message says what.
pub const OTHER: u8 = 1;
/// The command line or the configuration is wrong (a missing or invalid setting, an unknown
/// profile); clap's own usage errors use it too.
pub const USAGE: u8 = 2;
/// The API answered with a 4xx or 5xx status (the status is on stderr, the body on stdout).
pub const API_ERROR: u8 = 3;
/// The token endpoint refused the client credentials; no token request is sent again before
/// the quiet period ends or the secret changes.
pub const CREDENTIALS_REFUSED: u8 = 4;
/// The day's call quota is spent; nothing is sent before the reset (its time is on stderr).
pub const QUOTA_EXHAUSTED: u8 = 5;
/// The provider could not be reached (connection, time-out, 5xx from the token endpoint
/// through every retry, an untrusted certificate).
pub const UNREACHABLE: u8 = 6;

/// The exit codes as `--help` and the README show them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  another failure (the message says what)
  2  usage or configuration error
  3  the API answered 4xx or 5xx (the status on stderr, the body on stdout)
  4  the client credentials were refused (no token request for 6 hours, unless the secret
     changes or `bearer logout` is run)
  5  the day's call quota is spent (the reset time on stderr; nothing is sent before it)
  6  the provider could not be reached";

/// A command's failure: the exit code and a message for stderr that says what to do. It never
/// holds a secret or a token.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What happened and what to do.
    pub message: String,
    /// When nothing more should be sent, for a refusal or a spent quota to remember.
    pub hold: Option<HoldCause>,
}

/// Why a failure should be remembered between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldCause {
    /// The credentials were refused: quiet for the configuration's quiet period.
    CredentialsRefused,
    /// The quota is spent until this instant.
    QuotaExhausted(SystemTime),
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hold: None,
        }
    }

    /// A usage or configuration error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// Another failure.
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(OTHER, message)
    }

    /// The failure for a client error, with its exit code.
    pub fn from_client(error: &Error) -> Self {
        let message = error.to_string();
        match error {
            Error::Token(TokenError::CredentialsRejected(_)) => Self {
                code: CREDENTIALS_REFUSED,
                message: format!(
                    "{message}\nFix the secret with `bearer configure` (or BEARER_CLIENT_SECRET); `bearer logout` lets bearer ask again at once."
                ),
                hold: Some(HoldCause::CredentialsRefused),
            },
            Error::Token(TokenError::QuotaExhausted { resets_at, .. }) => Self {
                code: QUOTA_EXHAUSTED,
                message: format!(
                    "{message}\nThe quota resets at {} (UTC); bearer sends nothing before then.",
                    utc(*resets_at)
                ),
                hold: Some(HoldCause::QuotaExhausted(*resets_at)),
            },
            Error::Token(
                TokenError::Unavailable { .. }
                | TokenError::Untrusted(_)
                | TokenError::TokenRequestsThrottled { .. },
            )
            | Error::Transport { .. }
            | Error::WaitTimedOut { .. } => Self::new(UNREACHABLE, message),
            Error::Config(_) | Error::Settings { .. } | Error::PlainHttp { .. } => {
                Self::usage(message)
            }
            Error::InvalidRequest(_) => Self::usage(message),
            Error::TokenRefusedAfterRenewal { .. } => Self::new(
                API_ERROR,
                format!("the API answered 401 Unauthorized: {message}"),
            ),
            _ => Self::other(message),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// An instant as `2026-12-02 00:00:00 UTC` (seconds since the epoch when out of range).
pub fn utc(at: SystemTime) -> String {
    let Ok(since) = at.duration_since(SystemTime::UNIX_EPOCH) else {
        return format!("{at:?}");
    };
    let secs = since.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(utc(at), "2023-11-14 22:13:20 UTC");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc(leap), "2000-02-29 00:00:00 UTC");
    }
}
