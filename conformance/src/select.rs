//! Case selection: one glob syntax over case ids, shared by `--only`, `--skip` and (later)
//! the committed known-failures file, plus profile filtering.

use crate::case::{Case, Profile};
use std::fmt;
use std::str::FromStr;

/// A glob over case ids: `*` matches any run of characters (including `/`), `?` exactly
/// one; everything else matches itself. `rfc7644-3.4.2.2/*` selects a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector(String);

impl Selector {
    /// Does the selector match `id`?
    pub fn matches(&self, id: &str) -> bool {
        glob(self.0.as_bytes(), id.as_bytes())
    }
}

impl FromStr for Selector {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err("an empty selector matches no case id".into());
        }
        Ok(Selector(s.trim().to_owned()))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Iterative glob match with single-star backtracking; linear in practice.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Which cases a run includes.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Profiles to include; empty means all.
    pub profiles: Vec<Profile>,
    /// When non-empty, only cases matching one of these run.
    pub only: Vec<Selector>,
    /// Cases matching one of these do not run.
    pub skip: Vec<Selector>,
}

impl Selection {
    /// `Ok(())` when the case runs, otherwise why it was left out.
    pub fn decide(&self, case: &Case) -> Result<(), String> {
        if !self.profiles.is_empty() && !self.profiles.iter().any(|p| case.in_profile(*p)) {
            let names: Vec<&str> = self.profiles.iter().map(|p| p.name()).collect();
            return Err(format!("not in profile {}", names.join(",")));
        }
        if !self.only.is_empty() && !self.only.iter().any(|s| s.matches(case.id)) {
            return Err("not matched by --only".into());
        }
        if let Some(s) = self.skip.iter().find(|s| s.matches(case.id)) {
            return Err(format!("matched by --skip {s}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Selector {
        s.parse().expect("selector")
    }

    #[test]
    fn globs() {
        assert!(sel("rfc7644-3.4.2.2/*").matches("rfc7644-3.4.2.2/filter-and"));
        assert!(!sel("rfc7644-3.4.2.2/*").matches("rfc7644-3.4.2.4/pagination"));
        assert!(sel("*entra*").matches("rfc7644-3.5.2/entra-op-capitalised"));
        assert!(sel("rfc7644-3.?/x").matches("rfc7644-3.6/x"));
        assert!(sel("exact/id").matches("exact/id"));
        assert!(!sel("exact/id").matches("exact/id2"));
        assert!(sel("*").matches(""));
        assert!("  ".parse::<Selector>().is_err());
    }
}
