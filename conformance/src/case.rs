//! What a case is: a stable id, a level, the profiles it belongs to, the requirement it
//! checks, and an async function that runs it against a [`Cx`].
//!
//! Cases are plain data (`Case` values in [`crate::cases::catalog`]); the runner decides
//! which to run and turns what each returns into an [`Outcome`].

use crate::context::Cx;
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;

/// How strongly the RFC (or the IdP) asks for the behaviour (RFC 2119 keywords).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Level {
    /// MUST, SHALL, REQUIRED: a broken check is a failure.
    #[serde(rename = "MUST")]
    Must,
    /// SHOULD, RECOMMENDED: a broken check is a warning.
    #[serde(rename = "SHOULD")]
    Should,
    /// MAY, OPTIONAL: a broken check is a warning; a missing feature is a skip.
    #[serde(rename = "MAY")]
    May,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        })
    }
}

/// A group of cases: the RFC itself, or what one identity provider really sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// RFC 7643 and RFC 7644 as written.
    Rfc,
    /// Microsoft Entra ID's provisioning service (default `scim` job).
    Entra,
    /// Entra ID with the `aadOptscim062020` flag: the SCIM-compliant PATCH dialect.
    EntraCompliant,
    /// Okta Lifecycle Management provisioning.
    Okta,
    /// OneLogin's "SCIM Provisioner with SAML" connector.
    #[serde(rename = "onelogin")]
    OneLogin,
    /// Google Workspace automated user provisioning.
    Google,
    /// JumpCloud's custom SCIM integration.
    #[serde(rename = "jumpcloud")]
    JumpCloud,
    /// PingFederate's SCIM provisioner (and PingOne's filter expressions).
    #[serde(rename = "pingfederate")]
    PingFederate,
}

impl Profile {
    /// Every profile, in catalog order. Auth0 is not one: its SCIM is inbound (Auth0 is
    /// the server), so it is a target to run against, not a client to imitate.
    pub const ALL: [Profile; 8] = [
        Profile::Rfc,
        Profile::Entra,
        Profile::EntraCompliant,
        Profile::Okta,
        Profile::OneLogin,
        Profile::Google,
        Profile::JumpCloud,
        Profile::PingFederate,
    ];

    /// The lowercase name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Rfc => "rfc",
            Profile::Entra => "entra",
            Profile::EntraCompliant => "entra-compliant",
            Profile::Okta => "okta",
            Profile::OneLogin => "onelogin",
            Profile::Google => "google",
            Profile::JumpCloud => "jumpcloud",
            Profile::PingFederate => "pingfederate",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown profile `{s}` (expected {} or all)",
                    names.join(", ")
                )
            })
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "MUST" => Ok(Level::Must),
            "SHOULD" => Ok(Level::Should),
            "MAY" => Ok(Level::May),
            other => Err(format!(
                "unknown level `{other}` (expected MUST, SHOULD or MAY)"
            )),
        }
    }
}

/// The result of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check held.
    Pass,
    /// A MUST check was broken.
    Fail,
    /// A SHOULD or MAY check was broken.
    Warn,
    /// Not run, with a reason (feature not advertised, prerequisite missing).
    Skip,
    /// Could not run: unreachable target, timeout, unparsable reply, failed setup.
    Error,
}

impl Outcome {
    /// The fixed-width label of the human report.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Warn => "WARN",
            Outcome::Skip => "SKIP",
            Outcome::Error => "ERROR",
        }
    }
}

/// Why a case did not pass. Cases return it; the runner maps it to an [`Outcome`] using
/// the case's [`Level`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The server broke the requirement.
    Broken {
        /// What the requirement needs, in a short phrase.
        expected: String,
        /// What the server did instead.
        actual: String,
    },
    /// The case does not apply to this target.
    Skip(String),
    /// The case could not run.
    Error(String),
}

impl Problem {
    /// The server broke the requirement: `expected` vs `actual`.
    pub fn broken(expected: impl Into<String>, actual: impl Into<String>) -> Problem {
        Problem::Broken {
            expected: expected.into(),
            actual: actual.into(),
        }
    }

    /// The case cannot run; `message` says why.
    pub fn error(message: impl Into<String>) -> Problem {
        Problem::Error(message.into())
    }

    /// The case does not apply; `reason` says why.
    pub fn skip(reason: impl Into<String>) -> Problem {
        Problem::Skip(reason.into())
    }

    /// Marks a problem met while preparing a case: a broken setup step means the case
    /// could not run, so it becomes an error naming the step.
    pub fn in_setup(self, step: &str) -> Problem {
        match self {
            Problem::Broken { expected, actual } => Problem::Error(format!(
                "setup step `{step}` failed: expected {expected}, got {actual}"
            )),
            Problem::Error(message) => Problem::Error(format!("setup step `{step}`: {message}")),
            skip @ Problem::Skip(_) => skip,
        }
    }
}

/// What a case returns: `Ok(())` is a pass.
pub type Verdict = Result<(), Problem>;

/// The future a case's function returns.
pub type CaseFuture = Pin<Box<dyn Future<Output = Verdict> + Send>>;

/// A case's body.
pub type CaseFn = fn(Cx) -> CaseFuture;

/// One conformance case.
#[derive(Clone, Copy)]
pub struct Case {
    /// Stable id: spec section plus slug, e.g. `rfc7644-3.4.2.2/filter-eq-value-case-insensitive`.
    pub id: &'static str,
    /// How strongly the requirement is stated.
    pub level: Level,
    /// The profiles the case belongs to.
    pub profiles: &'static [Profile],
    /// The requirement in one sentence, citing its source.
    pub requirement: &'static str,
    /// The body.
    pub run: CaseFn,
}

impl Case {
    /// Does the case belong to `profile`?
    pub fn in_profile(&self, profile: Profile) -> bool {
        self.profiles.contains(&profile)
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("id", &self.id)
            .field("level", &self.level)
            .field("profiles", &self.profiles)
            .finish_non_exhaustive()
    }
}

/// Turns `async fn name(cx: Cx) -> Verdict` into a [`CaseFn`] whose verdict also counts
/// the schema violations of every response the case received ([`with_shape_checks`]).
#[macro_export]
macro_rules! case_fn {
    ($body:path) => {{
        fn boxed(cx: $crate::context::Cx) -> $crate::case::CaseFuture {
            Box::pin(async move {
                let verdict = $body(cx.clone()).await;
                $crate::case::with_shape_checks(&cx, verdict)
            })
        }
        boxed as $crate::case::CaseFn
    }};
}

/// A passing verdict becomes broken when a response of the case broke the JSON Schema of
/// its message type (RFC 7643 and RFC 7644 define every body's shape); any other verdict
/// stays, since it already says what went wrong first.
pub fn with_shape_checks(cx: &Cx, verdict: Verdict) -> Verdict {
    let violations = cx.take_violations();
    match (verdict, violations.first()) {
        (Ok(()), Some(first)) => Err(Problem::broken(
            "every response body valid against the JSON Schema of its message type",
            if violations.len() == 1 {
                first.clone()
            } else {
                format!("{first} (and {} more)", violations.len() - 1)
            },
        )),
        (verdict, _) => verdict,
    }
}

/// Returns a broken-requirement problem unless `condition` holds.
pub fn ensure(condition: bool, expected: &str, actual: impl FnOnce() -> String) -> Verdict {
    if condition {
        Ok(())
    } else {
        Err(Problem::broken(expected, actual()))
    }
}
