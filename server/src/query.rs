//! Query strings: form decoding done exactly once (bug-14), and the list parameters of
//! RFC 7644 section 3.4.2.

use crate::error::{echo, ScimError};
use crate::fault::{Fault, Faults};

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space and `%XX` a byte.
/// Returns `None` when the bytes are not UTF-8; a `%` not followed by two hex digits is
/// kept as it is.
pub(crate) fn form_decode(text: &str) -> Option<String> {
    decode_percent(text)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_percent(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        if b == b'%' {
            let pair = bytes
                .get(i + 1)
                .copied()
                .and_then(hex)
                .zip(bytes.get(i + 2).copied().and_then(hex));
            if let Some((hi, lo)) = pair {
                out.push(hi * 16 + lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The decoded `name=value` pairs of a query string, empty components skipped (RFC 3986
/// section 3.4 gives them no meaning; OneLogin sends a trailing `&`, bug-67).
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (without the `?`).
    pub(crate) fn parse(raw: &str, faults: &Faults) -> Result<Query, ScimError> {
        let mut pairs = Vec::new();
        for (i, component) in raw.split('&').enumerate() {
            if component.is_empty() {
                // FAULT(empty-query-rejected): an empty component is an error.
                if faults.on(Fault::EmptyQueryRejected) && !raw.is_empty() {
                    return Err(ScimError::invalid_syntax(format!(
                        "empty query component at position {i}"
                    )));
                }
                continue;
            }
            let (name, value) = component.split_once('=').unwrap_or((component, ""));
            let decode = |text: &str, what: &str| {
                form_decode(text).ok_or_else(|| {
                    ScimError::invalid_syntax(format!(
                        "query {what} `{}` is not UTF-8 once decoded",
                        echo(text)
                    ))
                })
            };
            pairs.push((decode(name, "name")?, decode(value, "value")?));
        }
        Ok(Query { pairs })
    }

    /// The first value of the parameter `name`, compared ignoring ASCII case.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parameter `name` as an integer, if present.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ScimError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<i64>().map(Some).map_err(|_| {
                ScimError::invalid_value(format!(
                    "query parameter `{}` must be an integer, found `{}`",
                    echo(name),
                    echo(text)
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once() {
        assert_eq!(
            form_decode("user1%2Btag%40example.com").as_deref(),
            Some("user1+tag@example.com")
        );
        assert_eq!(
            form_decode("displayName+eq+%22Team+A%22").as_deref(),
            Some("displayName eq \"Team A\"")
        );
        assert_eq!(form_decode("100%").as_deref(), Some("100%"));
        assert_eq!(form_decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(form_decode("%ff"), None);
    }

    #[test]
    fn skips_empty_components_and_matches_names_ignoring_case() {
        let q = Query::parse("filter=a&&STARTINDEX=2&", &Faults::default()).unwrap();
        assert_eq!(q.get("filter"), Some("a"));
        assert_eq!(q.int("startIndex").unwrap(), Some(2));
        assert!(q.int("filter").is_err());
    }
}
