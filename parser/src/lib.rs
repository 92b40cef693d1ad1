//! `scim-parser`: the SCIM 2.0 core without any I/O.
//!
//! A server author adds this crate instead of writing SCIM semantics by hand. It owns the
//! RFC 7644 filter grammar (section 3.4.2.2, read with errata 4690 and 7322), attribute
//! paths and PATCH paths (section 3.5.2), the RFC 7643 schema model with the core User,
//! Group and Enterprise User schemas, filter evaluation on JSON resources, PatchOp
//! documents in the dialects real identity providers send, PATCH application and response
//! projection. It depends on `serde` and `serde_json` only: nothing that talks to a
//! network.
//!
//! | module | owns |
//! |---|---|
//! | [`filter`] | the filter AST (byte spans on every node) in owned and borrowed form, its parser and a `Display` that round-trips |
//! | [`path`] | PATCH paths: `attrPath / valuePath [subAttr]` |
//! | [`schema`] | the RFC 7643 attribute model, the built-in schemas, loading `/Schemas` JSON, resolving paths |
//! | [`eval`] | validating a filter against schemas and evaluating it on a resource |
//! | [`validate`] | checking a PATCH path against schemas, every problem with its span |
//! | [`patch`] | PatchOp documents, the strict and interop dialects, applying them all or nothing |
//! | [`replace`] | PUT: replacing a resource under the mutability rules of RFC 7644 section 3.5.1 |
//! | [`project`] | `attributes` / `excludedAttributes` with each attribute's `returned` |
//! | [`error`] | error kinds with spans and the caret renderer |
//! | [`json`] | the stable JSON shape of the AST |
//!
//! # 1. Parse and inspect
//!
//! [`parse_filter`] and [`parse_patch_path`] return a tree whose every node carries its
//! byte [`Span`]; printing a tree gives canonical text that parses back to the same tree.
//! An [`Error`] knows its span, what was expected or found ([`ErrorKind`]), the `scimType`
//! to answer with, and draws a caret under the input. [`parse_filter_ref`] builds the same
//! tree as a [`FilterRef`] that borrows names and strings from the input instead of copying
//! them and keeps its nodes in one vector (the faster choice when the tree does not outlive
//! the input; walk it from [`FilterRef::root`]);
//! [`FilterRef::into_owned`] turns it into the [`Filter`] that [`parse_filter`] returns.
//!
//! ```
//! use scim_parser::{parse_filter, parse_patch_path, FilterKind};
//!
//! let filter = parse_filter(r#"emails[type eq "work" and value co "@example.com"] or title pr"#)?;
//! let FilterKind::Or(terms) = &filter.kind else { unreachable!() };
//! assert!(matches!(terms[0].kind, FilterKind::ValuePath { .. }));
//! assert_eq!((terms[1].span.start, terms[1].span.end), (54, 62));
//! assert_eq!(filter.to_string(), r#"emails[type eq "work" and value co "@example.com"] or title pr"#);
//!
//! let path = parse_patch_path(r#"members[value eq "2819c223"].displayName"#)?;
//! assert_eq!(path.sub_attr.as_deref(), Some("displayName"));
//!
//! let input = "userName eq bjensen";
//! let err = parse_filter(input).unwrap_err();
//! assert_eq!(err.scim_type(), "invalidFilter");
//! assert_eq!(
//!     err.render(input),
//!     "error: expected a value, found the bare word `bjensen`; strings need double quotes (byte 12)\n\
//!      \x20 userName eq bjensen\n\
//!      \x20             ^^^^^^^\n"
//! );
//! # Ok::<(), scim_parser::Error>(())
//! ```
//!
//! # 2. Evaluate a filter on a resource
//!
//! [`matches()`] first checks the filter against the resource type's schemas
//! ([`eval::validate`]; [`eval::validate_all`] lists every problem), so an unknown
//! attribute or a type mismatch is an `invalidFilter` error rather than a silent
//! non-match, then evaluates it with RFC 7644 section 3.4.2.2 semantics: `caseExact`
//! decides string case, `dateTime` values compare as instants, a multi-valued attribute
//! matches when any value does. The [`eval`] module docs list the cases the RFC leaves
//! open and the choice made for each.
//!
//! ```
//! use scim_parser::{matches, parse_filter, ResourceSchema};
//! use serde_json::json;
//!
//! let user = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
//!     "id": "2819c223", "userName": "bjensen", "active": true,
//!     "emails": [{"type": "work", "value": "bjensen@example.com"}],
//!     "meta": {"lastModified": "2011-05-13T04:42:34Z"}
//! });
//! let schema = ResourceSchema::user();
//! let yes = |f: &str| matches(&parse_filter(f).unwrap(), &user, &schema);
//! assert_eq!(yes(r#"userName eq "BJensen""#), Ok(true)); // caseExact false
//! assert_eq!(yes(r#"id eq "2819C223""#), Ok(false)); // caseExact true
//! assert_eq!(yes(r#"meta.lastModified lt "2011-05-13T07:00:00+02:00""#), Ok(true)); // 05:00Z
//! assert_eq!(yes(r#"emails[type eq "work" and value ew "example.com"]"#), Ok(true));
//! let err = yes(r#"active eq "true""#).unwrap_err(); // a string compared with a boolean
//! assert_eq!((err.scim_type(), err.span.start), ("invalidFilter", 10));
//! ```
//!
//! # 3. Apply a PATCH request
//!
//! [`PatchDocument::parse`] reads a PatchOp body in one of two [`Mode`]s and [`apply`]
//! applies it to a resource, entirely or not at all, following RFC 7644 sections 3.5.2.1
//! to 3.5.2.3. Errors carry the `scimType` (`invalidSyntax`, `invalidPath`, `noTarget`,
//! `invalidValue`, `mutability`) and name the operation and field at fault.
//!
//! ```
//! use scim_parser::{apply, Mode, PatchDocument, ResourceSchema};
//! use serde_json::json;
//!
//! let group = json!({
//!     "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
//!     "id": "g1", "displayName": "Tour Guides",
//!     "members": [{"value": "u1"}, {"value": "u2"}]
//! });
//! // What Okta sends to rename a group: a path-less replace that repeats the read-only id.
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "replace", "value": {"id": "g1", "displayName": "Guides"}},
//!                    {"op": "remove", "path": "members[value eq \"u2\"]"}]
//! });
//! let schema = ResourceSchema::group();
//!
//! let strict = PatchDocument::parse(&body, Mode::Strict)?;
//! let err = apply(&strict, &group, &schema).unwrap_err();
//! assert_eq!(err.scim_type(), "mutability");
//! assert_eq!(err.location, "Operations[0].path");
//!
//! let interop = PatchDocument::parse(&body, Mode::Interop)?;
//! let applied = apply(&interop, &group, &schema)?;
//! assert_eq!(applied.resource["displayName"], "Guides");
//! assert_eq!(applied.resource["members"], json!([{"value": "u1"}]));
//! assert_eq!(applied.diagnostics[0].dialect, "okta");
//! assert_eq!(
//!     applied.diagnostics[0].to_string(),
//!     "[okta] Operations[0]: read-only `id` repeated unchanged; ignored"
//! );
//! # Ok::<(), scim_parser::PatchError>(())
//! ```
//!
//! # Dialects
//!
//! [`Mode::Strict`] is RFC 7644 section 3.5.2 as written. [`Mode::Interop`] also accepts
//! the shapes below and reports each one it used as a [`patch::Diagnostic`] naming the
//! dialect, so a server can log what it accepted. The [`patch`] module docs give the source
//! of each (bug log ids and IdP request shapes).
//!
//! | dialect | tolerance |
//! |---|---|
//! | `entra` | `op` in any case (`Replace`); `"True"`/`"False"` strings for booleans; path-less value keys that are paths (`name.givenName`, URN-qualified); `remove` of members with a value array; `manager` as a bare id or one-element array; `replace` through a filter that matches nothing creates the element |
//! | `okta` | read-only attributes (`id`) repeated unchanged in a path-less value (group rename, PUT-like PATCH) |
//! | `onelogin` | legacy `urn:scim:schemas:core:2.0`, `urn:scim:schemas:extension:enterprise:2.0` and `urn:scim:api:messages:2.0:PatchOp` URNs; a single object for a multi-valued attribute |
//! | `generic` | `Operations`/`op`/`path`/`value` member names in any case; `remove` through a filter that matches nothing is a no-op; a `value` on `remove` of a single-valued attribute is ignored |
//!
//! Filters have their own profiles ([`ParseOptions::default()`], [`ParseOptions::strict()`],
//! [`ParseOptions::interop()`]); the interop filter profile accepts Entra's
//! `emails[type eq "work"].value eq "x"`. The table below lists every grammar choice.
//!
//! # Grammar policy
//!
//! The filter grammar is RFC 7644 section 3.4.2.2 (Figure 1); the PATCH path is
//! section 3.5.2 (Figure 7). Where the RFC is ambiguous or contradicts itself, this crate
//! chooses as follows. "Default" is [`ParseOptions::default()`], "strict" is
//! [`ParseOptions::strict()`], "interop" is [`ParseOptions::interop()`].
//!
//! | Question | Choice |
//! |---|---|
//! | Precedence | grouping, then `not`, then `and`, then `or` (section 3.4.2.2 text). `And`/`Or` nodes are n-ary; a written grouping such as `(a and b) and c` is kept as a nested node. |
//! | Case | operators and `and`/`or`/`not` are case-insensitive (section 3.4.2.2; RFC 5234 section 2.3); names and URIs keep the case written (section 3.10 makes them case-insensitive for the consumer). `true`/`false`/`null` are lowercase only (RFC 8259 section 3): `TRUE` is an error in every profile. |
//! | `not(` vs `not (` | both, in every profile: the ABNF has no SP, the Figure 2 example has one ([errata 7319](https://www.rfc-editor.org/errata/eid7319), only "Reported", would require it). `not` must be followed by `(`: `not a pr` and `not not (a pr)` are errors. `not` followed by anything else is an attribute name (`not pr`). |
//! | Inside `[...]` | [errata 7322](https://www.rfc-editor.org/errata/eid7322) (correcting [4690](https://www.rfc-editor.org/errata/eid4690)): `and`, `or`, `not` and grouping are allowed, any number of terms; a value path inside a value path is [`ErrorKind::NestedValuePath`]. |
//! | URI prefix | the attribute path is one token of name characters, `:` and `.`; the URI is everything before its last `:` (so the dots of `...:2.0:User:` are URI), and it must start with a letter. Text inside strings never counts. |
//! | Sub-attributes | at most one (`*1subAttr`): `name.given.first` is [`ErrorKind::TooManySubAttrs`]. `a.b[f]` is grammatical and accepted; rejecting it is semantic validation. |
//! | `$` | default: `$` is a name character (RFC 7643 section 2.1 `nameChar`), and a name may start with `$` only where it names a sub-attribute (`members.$ref`, `members[$ref eq "..."]`, `members[...].$ref`), since `$ref` is defined by RFC 7643 but no ABNF lets a name start with `$`. Strict: no `$` at all. |
//! | Whitespace | strict: exactly one SP where the ABNF has `SP`, nothing else anywhere (no tabs, no leading or trailing space, none just inside brackets, one SP or none after `not`). Default: a run of SP/HTAB wherever the ABNF has `SP`, SP/HTAB/CR/LF trimmed from both ends, and spaces allowed just inside `( )` and `[ ]`. Never zero where `SP` is required: `userName eq"x"` and `(a pr)and b pr` are errors in every profile. |
//! | Entra form `a[f].b op v` | not in the grammar (section 3.4.2.2 allows nothing but `SP logOp` or a closer after `]`): [`ErrorKind::EntraValuePathCompare`] in default and strict. Interop ([`ParseOptions::entra_value_path_compare`]) accepts `a[f].b op v` and `a[f].b pr` and rewrites them to `a[f and b op v]`, so both conditions hold for the same value. A comparison right after `]` (`emails[type eq "work"] eq "x"`) is an error in every profile. |
//! | Numbers | RFC 8259 section 6, kept as the literal text so printing is lossless (`-0`, `1.5e3`). Leading zeros, `+1`, `.5`, `1.` are errors; a number outside the binary64 range (`1e400`) is [`ErrorKind::NumberOutOfRange`], so no consumer ever sees an infinity. Very large integers within range (`12345678901234567890`) are kept. |
//! | Strings | RFC 8259 section 7: every escape decoded, `\u` hex in either case, surrogate pairs joined. Raw control characters (U+0000 to U+001F) are errors. **Lone surrogates** (`"\uD800"`, RFC 8259 section 8.2) are [`ErrorKind::LoneSurrogate`]: they are not Unicode scalar values, a Rust `String` cannot hold them, and replacing them would silently change what is compared. |
//! | Bare words as values | `userName eq bjensen` is [`ErrorKind::UnquotedValue`] in every profile: a server must answer `invalidFilter`, never guess. |
//! | Encoding | the parser takes the decoded query value; it never URL-decodes (`userName+eq+%22x%22` is an error). |
//! | PATCH paths | `PATH = attrPath / valuePath [subAttr]`. A bare schema URN (`urn:...:enterprise:2.0:User`) parses as URI `urn:...:2.0` plus name `User`; see [`PatchPath::schema_urn`] for how consumers resolve it. A comparison as a path ([errata 7122](https://www.rfc-editor.org/errata/eid7122), held for document update) is [`ErrorKind::FilterAsPath`]. An empty path is an error (omit the member instead). |
//!
//! # Limits
//!
//! [`ParseOptions`] bounds the input length (`max_len`, default 8 KiB, checked first),
//! nesting of groups, `not` and brackets (`max_depth`, default 64, clamped to
//! [`filter::MAX_DEPTH_CEILING`]) and comparisons (`max_terms`, default 1024). Depth and
//! terms are charged while parsing, before recursing, so a 600 kB nesting fails at its
//! 65th `(` with [`ErrorKind::NestingTooDeep`]. Because accepted trees are at most
//! `MAX_DEPTH_CEILING` deep, their `Drop`, `Debug`, `Display` and comparisons cannot
//! overflow the stack either.
//!
//! # Errors
//!
//! An [`Error`] names the byte [`Span`] at fault and what was expected or found
//! ([`ErrorKind`]); [`Error::render`] draws a caret under the input and
//! [`Error::scim_type`] gives the RFC 7644 section 3.12 `scimType`.
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod eval;
pub mod filter;
pub mod json;
pub mod patch;
pub mod path;
pub mod schema;

pub use error::{Closer, Error, ErrorKind, Found, Grammar, Span};
pub use filter::{
    parse_filter, parse_filter_ref, parse_filter_ref_with, parse_filter_with, AttrPath,
    AttrPathRef, CompareOp, Filter, FilterKind, FilterNode, FilterRef, FilterRefKind, Literal,
    LiteralRef, LiteralValue, LiteralValueRef, ParseOptions,
};
pub use path::{parse_patch_path, parse_patch_path_with, PatchPath};

// Schema, evaluation, PATCH and projection (branch parser-semantics).
pub mod project;
pub mod replace;
pub mod validate;

pub use eval::{matches, EvalError};
pub use patch::{apply, Mode, PatchDocument, PatchError};
pub use schema::{Attribute, AttributeType, Resolved, ResourceSchema, Schema, SchemaError};
