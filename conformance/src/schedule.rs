//! Which cases must run alone. Every other case runs concurrently with its neighbours:
//! cases create their own prefixed resources and look up only those, so they do not see
//! each other.
//!
//! A case declares itself exclusive by matching one of [`EXCLUSIVE`] (the same selector
//! syntax as `--only`). Mark a case exclusive when it races requests on purpose (its two
//! requests must meet each other, not ten others), measures time, or reads state shared
//! by the whole run (counts over an endpoint, the server's configuration while changing
//! it).

use crate::select::Selector;
use std::sync::OnceLock;

/// Selectors of the cases that run alone.
pub const EXCLUSIVE: &[&str] = &[
    // Two creates racing for one userName: keep the race between the two of them.
    "*concurrent*",
    // Cases timing the server or loading it (a 1,000-member PATCH) run alone so the
    // timeouts they meet are theirs.
    "*large*",
    "*1000*",
];

fn selectors() -> &'static [Selector] {
    static PARSED: OnceLock<Vec<Selector>> = OnceLock::new();
    PARSED.get_or_init(|| EXCLUSIVE.iter().filter_map(|s| s.parse().ok()).collect())
}

/// Does the case with this id run alone?
pub fn is_exclusive(id: &str) -> bool {
    selectors().iter().any(|s| s.matches(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selector_parses_and_matches_what_it_says() {
        assert_eq!(selectors().len(), EXCLUSIVE.len());
        assert!(is_exclusive("rfc7644-3.3/concurrent-create-uniqueness"));
        assert!(!is_exclusive("rfc7644-3.3/create-user-201"));
    }
}
