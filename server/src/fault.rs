//! Named faults: deliberate, documented misbehaviours, each copying a bug class seen in
//! real SCIM servers, so that the conformance suite's power to catch it can be measured.
//!
//! Every fault is switched on through [`crate::Config::faults`] and implemented as a small
//! branch at the point of the behaviour it breaks, marked with a `FAULT(<name>)` comment.
//! The `bug-NN` numbers refer to the project's bug log of public reports.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, $description:literal; )*) => {
        /// A deliberate, documented misbehaviour, switched on to measure that the
        /// conformance suite catches it.
        ///
        /// The kebab-case [`Fault::name`] is the stable identifier used on command lines
        /// and in reports; [`Fault::description`] says what breaks.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Fault {
            $( $(#[$doc])* $variant, )*
        }

        impl Fault {
            /// Every fault, in declaration order.
            pub fn all() -> &'static [Fault] {
                &[$(Fault::$variant,)*]
            }

            /// The stable kebab-case name, for example `filter-case-sensitive`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Fault::$variant => $name,)*
                }
            }

            /// One sentence saying what the fault breaks.
            pub fn description(self) -> &'static str {
                match self {
                    $(Fault::$variant => $description,)*
                }
            }
        }
    };
}

faults! {
    /// bug-21: `userName` is compared case-sensitively in filters, although the User schema
    /// makes it `caseExact: false` (RFC 7643 section 4.1.1).
    FilterCaseSensitive => "filter-case-sensitive",
        "filters compare userName case-sensitively (bug-21)";
    /// bug-28: Entra's `remove` on path `members` with a value array ignores the array and
    /// empties the whole group, as a spec-literal reading of RFC 7644 section 3.5.2.2 does.
    EntraRemoveIgnored => "entra-remove-ignored",
        "Entra's remove of `members` with a value array ignores the array and empties the group (bug-28)";
    /// bug-47: error bodies carry `status` as a JSON number instead of a string
    /// (RFC 7644 section 3.12).
    ErrorStatusNumber => "error-status-number",
        "error bodies carry `status` as a JSON number (bug-47)";
    /// bug-46: a list request whose filter matches nothing answers 404 instead of 200 with
    /// `totalResults: 0` (RFC 7644 section 3.4.2).
    NoMatch404 => "no-match-404",
        "a filtered list that matches nothing answers 404 (bug-46)";
    /// bug-56: a duplicate `userName` on create makes a second user instead of 409
    /// `uniqueness` (RFC 7644 section 3.3).
    DuplicateCreateAllowed => "duplicate-create-allowed",
        "a duplicate userName on create makes a second user (bug-56)";
    /// bug-24: PATCH `op` values are matched case-sensitively, so Entra's `Replace` is
    /// rejected.
    PatchOpCaseSensitive => "patch-op-case-sensitive",
        "PATCH rejects `op` values not written in lowercase, such as Entra's `Replace` (bug-24)";
    /// bug-25: Entra's boolean strings (`"False"`) are rejected with 400 instead of being
    /// coerced.
    BoolStringRejected => "bool-string-rejected",
        "PATCH rejects Entra's `\"True\"`/`\"False\"` strings for booleans (bug-25)";
    /// bug-42: `startIndex` is read as 0-based, so `startIndex=1` skips the first resource
    /// (RFC 7644 section 3.4.2.4 makes it 1-based).
    StartIndexZeroBased => "startindex-zero-based",
        "startIndex is read as a 0-based offset (bug-42)";
    /// bug-43: `count=0` returns a full default page instead of only `totalResults`.
    CountZeroFullPage => "count-zero-full-page",
        "count=0 returns a full page instead of no resources (bug-43)";
    /// bug-44: `totalResults` reports the size of the page instead of the number of
    /// matches.
    TotalResultsPageSize => "total-results-page-size",
        "totalResults is the page size, not the number of matches (bug-44)";
    /// bug-60: DELETE of an unknown or already deleted id answers 204 instead of 404.
    DeleteMissing204 => "delete-missing-204",
        "DELETE of an unknown or deleted id answers 204 (bug-60)";
    /// bug-48: the SCIM error object is wrapped inside another JSON envelope.
    ErrorWrapped => "error-wrapped",
        "error bodies are wrapped as `{\"error\": {...}}` (bug-48)";
    /// bug-49: errors carry `scimType` values outside RFC 7644 Table 9: the literal string
    /// `"null"` where none applies, and `schemaViolated` for a missing attribute.
    ScimTypeNonstandard => "scimtype-nonstandard",
        "errors use scimType values outside RFC 7644 Table 9 (bug-49)";
    /// bug-52: responses are labelled `application/json+scim`.
    ContentTypeReversed => "content-type-reversed",
        "responses are labelled `application/json+scim` (bug-52)";
    /// bug-51: request bodies whose media type carries a `charset` parameter get 415.
    CharsetRejected => "charset-rejected",
        "request bodies with a `charset` media-type parameter get 415 (bug-51)";
    /// bug-56: a duplicate `userName` gets 400 `invalidValue` instead of 409 `uniqueness`.
    Uniqueness400 => "uniqueness-400",
        "a duplicate userName gets 400 invalidValue instead of 409 (bug-56)";
    /// bug-57: the 409 for a duplicate lacks `scimType` and `status`.
    ConflictBare => "conflict-bare",
        "the 409 for a duplicate lacks scimType and status (bug-57)";
    /// bug-54: PATCH checks `If-Match` against the version after the change, so a current
    /// ETag always gets 412.
    EtagCheckedAfterPatch => "etag-checked-after-patch",
        "PATCH compares If-Match after applying the change, so it always fails with 412 (bug-54)";
    /// bug-12: a filter that does not parse returns the unfiltered list instead of 400
    /// `invalidFilter`.
    InvalidFilterReturnsAll => "invalid-filter-returns-all",
        "a filter that does not parse returns every resource (bug-12)";
    /// bug-67: empty query components (OneLogin's trailing `&` or bare `?`) get 400.
    EmptyQueryRejected => "empty-query-rejected",
        "an empty query component, such as a trailing `&`, gets 400 (bug-67)";
    /// bug-14: the filter parameter is percent-decoded a second time, so `%2B` ends up as
    /// a space.
    FilterDoubleDecoded => "filter-double-decoded",
        "the filter parameter is URL-decoded twice, turning `+` into a space (bug-14)";
    /// bug-62: group members without `$ref` are rejected with 400.
    MembersRefRequired => "members-ref-required",
        "group members without `$ref` are rejected (bug-62)";
    /// bug-63: group reads list only the first 100 members.
    GroupMembersTruncated => "group-members-truncated",
        "group reads return only the first 100 members (bug-63)";
    /// bug-23: filters on `externalId` are answered with 400 `invalidFilter`.
    ExternalIdFilterRejected => "externalid-filter-rejected",
        "filters that mention externalId get 400 invalidFilter (bug-23)";
    /// bug-26: path-less PATCH operations (Okta's `{"active": false}`) answer 200 and
    /// change nothing.
    PathlessPatchIgnored => "pathless-patch-ignored",
        "path-less PATCH operations are skipped while the answer is 200 (bug-26)";
    /// bug-59: filtered lookups hide users that carry no `externalId` (as if created
    /// outside SCIM), while a create with the same userName still conflicts.
    FilterHidesUnmanaged => "filter-hides-unmanaged",
        "filtered user lookups skip users without externalId, though POST still conflicts (bug-59)";
    /// bug-46: filtered lists report the true `totalResults` with an empty `Resources`.
    ResourcesEmpty => "resources-empty",
        "filtered lists report totalResults but send an empty Resources array (bug-46)";
    /// bug-29: the RFC form `remove` with path `members[value eq "..."]` is rejected as
    /// `invalidValue`.
    FilterRemoveRejected => "filter-remove-rejected",
        "PATCH remove through a value filter (`members[value eq \"...\"]`) is rejected (bug-29)";
    /// bug-31: `replace` through a value filter (`emails[type eq "work"].value`) answers
    /// 501 "not implemented".
    ValuePathReplaceUnsupported => "valuepath-replace-unsupported",
        "PATCH replace through a value filter answers 501 (bug-31)";
    /// bug-34: PATCH paths qualified with an extension URN
    /// (`urn:...:enterprise:2.0:User:costCenter`) are rejected as `invalidPath`.
    ExtensionPathRejected => "extension-path-rejected",
        "PATCH paths qualified with an extension URN are rejected (bug-34)";
    /// bug-36: Entra's `manager` as a bare id string is rejected with 400 `invalidValue`.
    ManagerStringRejected => "manager-string-rejected",
        "a bare string for a complex attribute such as Entra's manager id is rejected (bug-36)";
    /// bug-64: every membership change costs a slow round trip (20 ms), so Okta's
    /// 256-member PATCH runs past client timeouts.
    MemberPatchSlow => "member-patch-slow",
        "each group membership change takes 20 ms, so large member PATCHes time out (bug-64)";
    /// bug-18: a filter on an attribute the schema does not define returns every resource
    /// instead of 400 `invalidFilter`.
    UnmappedFilterReturnsAll => "unmapped-filter-returns-all",
        "a filter the schema cannot evaluate (unknown attribute, wrong type) returns every resource (bug-18)";
    /// bug-37: a PatchOp body keyed `operations` (lowercase) answers 500.
    LowercaseOperations500 => "lowercase-operations-500",
        "a PatchOp body keyed `operations` instead of `Operations` answers 500 (bug-37)";
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a fault name that names no fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFault {
    /// The name as given.
    pub name: String,
}

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown fault `{}`; known faults:", self.name)?;
        for fault in Fault::all() {
            write!(f, " {}", fault.name())?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownFault {}

impl FromStr for Fault {
    type Err = UnknownFault;

    /// Parses a kebab-case name; surrounding whitespace and case are ignored.
    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        let wanted = s.trim();
        Fault::all()
            .iter()
            .copied()
            .find(|fault| fault.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownFault {
                name: s.to_string(),
            })
    }
}

/// The set of faults switched on for one server.
#[derive(Clone, Debug, Default)]
pub(crate) struct Faults(HashSet<Fault>);

impl Faults {
    pub(crate) fn new(faults: &[Fault]) -> Faults {
        Faults(faults.iter().copied().collect())
    }

    /// Is `fault` switched on?
    pub(crate) fn on(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case_and_round_trip() {
        let mut seen = HashSet::new();
        for &fault in Fault::all() {
            let name = fault.name();
            assert!(seen.insert(name), "duplicate name {name}");
            assert!(name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert_eq!(name.parse::<Fault>(), Ok(fault));
            assert!(!fault.description().is_empty());
        }
        assert!(Fault::all().len() >= 30);
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "no-such-fault".parse::<Fault>().unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("unknown fault `no-such-fault`"));
        assert!(text.contains("filter-case-sensitive"));
    }
}
