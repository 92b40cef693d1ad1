//! The bearer token, wrapped so that it cannot leak through `Debug`, `Display` or a report.

use std::fmt;

/// What every redacted value prints as.
pub const REDACTED: &str = "<redacted>";

/// A bearer token. `Debug` and `Display` print `<redacted>`; only [`Token::expose`] gives
/// the value, and the client calls it once per request to build the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Token {
        Token(value.into())
    }

    /// The secret value. Call it only to build a request header, never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the token in `text` with `<redacted>`.
    ///
    /// Used on everything the client records, so a server that echoes the token back in a
    /// body or a header cannot make a report carry it.
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            return text.to_owned();
        }
        text.replace(&self.0, REDACTED)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({REDACTED})")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let token = Token::new("hunter2-very-secret");
        assert_eq!(format!("{token}"), "<redacted>");
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
        assert!(!format!("{:?}", Some(&token)).contains("hunter2"));
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let token = Token::new("abc123");
        assert_eq!(
            token.redact("x abc123 y abc123"),
            "x <redacted> y <redacted>"
        );
        assert_eq!(Token::new("").redact("keep"), "keep");
    }
}
