//! The `filter` of a list request (RFC 7644 section 3.4.2.2), parsed and evaluated by
//! `scim-parser`; this module only decides which store column may narrow the candidates
//! first.
//!
//! Filters are parsed with [`ParseOptions::interop`], so Entra's
//! `emails[type eq "work"].value eq "x"` lookup works, then validated against the resource
//! type's schema once (an unknown attribute or a type mismatch is 400 `invalidFilter`
//! even when there is nothing to match), then [`eval::matches`] decides for each
//! candidate.

use crate::error::{echo, ScimError, ScimType};
use crate::fault::{Fault, Faults};
use crate::query::form_decode;
use crate::store::{Column, Kind};
use scim_parser::schema::ResourceSchema;
use scim_parser::{eval, parse_filter_with, Filter, FilterKind, LiteralValue, ParseOptions};
use serde_json::Value;
use std::sync::OnceLock;

/// A parsed, validated filter and the narrowing it allows.
pub(crate) struct Lookup {
    filter: Filter,
    narrow: Option<(Column, String)>,
}

/// The schema the evaluator reads a resource type with, as the faults change it.
pub(crate) fn schema_for(kind: Kind, faults: &Faults) -> &'static ResourceSchema {
    static USER: OnceLock<ResourceSchema> = OnceLock::new();
    static USER_CASE_EXACT: OnceLock<ResourceSchema> = OnceLock::new();
    static GROUP: OnceLock<ResourceSchema> = OnceLock::new();
    match kind {
        // FAULT(filter-case-sensitive): evaluate with a User schema whose userName is
        // caseExact, so `userName eq` compares case-sensitively.
        Kind::User if faults.on(Fault::FilterCaseSensitive) => USER_CASE_EXACT.get_or_init(|| {
            let mut schema = ResourceSchema::user();
            for attr in &mut schema.core.attributes {
                if attr.name.eq_ignore_ascii_case("userName") {
                    attr.case_exact = true;
                }
            }
            schema
        }),
        Kind::User => USER.get_or_init(ResourceSchema::user),
        Kind::Group => GROUP.get_or_init(ResourceSchema::group),
    }
}

fn invalid_filter(text: &str, detail: impl std::fmt::Display) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidFilter,
        format!("invalid filter `{}`: {detail}", echo(text)),
    )
}

impl Lookup {
    /// The filter of a list or search request, or `None` when there is none.
    pub(crate) fn new(
        text: Option<&str>,
        kind: Kind,
        faults: &Faults,
    ) -> Result<Option<Lookup>, ScimError> {
        let Some(text) = text else {
            return Ok(None);
        };
        let mut text = text.to_string();
        // FAULT(filter-double-decoded): decode the already decoded value again.
        if faults.on(Fault::FilterDoubleDecoded) {
            text = form_decode(&text).unwrap_or(text);
        }
        let filter = match parse_filter_with(&text, &ParseOptions::interop()) {
            Ok(filter) => filter,
            // FAULT(invalid-filter-returns-all): a filter that does not parse is dropped.
            Err(_) if faults.on(Fault::InvalidFilterReturnsAll) => return Ok(None),
            Err(err) => return Err(invalid_filter(&text, err)),
        };
        match eval::validate(&filter, schema_for(kind, faults)) {
            Ok(()) => {}
            // FAULT(unmapped-filter-returns-all): a filter the schema cannot evaluate is
            // dropped.
            Err(_) if faults.on(Fault::UnmappedFilterReturnsAll) => return Ok(None),
            Err(err) => return Err(invalid_filter(&text, err)),
        }
        // FAULT(externalid-filter-rejected): any mention of externalId is refused.
        if faults.on(Fault::ExternalIdFilterRejected) && mentions(&filter, "externalId") {
            return Err(invalid_filter(
                &text,
                "filtering on externalId is not supported",
            ));
        }
        let narrow = narrowing(kind, &filter);
        Ok(Some(Lookup { filter, narrow }))
    }

    /// The column and value the store may narrow candidates on.
    pub(crate) fn narrow(&self) -> Option<(Column, &str)> {
        self.narrow.as_ref().map(|(c, v)| (*c, v.as_str()))
    }

    /// Does the filter name the attribute `name` anywhere?
    pub(crate) fn mentions(&self, name: &str) -> bool {
        mentions(&self.filter, name)
    }

    /// Whether the filter selects `resource`; the parser's evaluator decides.
    pub(crate) fn matches(&self, kind: Kind, resource: &Value, faults: &Faults) -> bool {
        eval::matches(&self.filter, resource, schema_for(kind, faults)).unwrap_or(false)
    }
}

/// Does any comparison or presence test in `filter` name the attribute `name`?
fn mentions(filter: &Filter, name: &str) -> bool {
    match &filter.kind {
        FilterKind::Compare { path, .. } | FilterKind::Present { path } => {
            path.name.eq_ignore_ascii_case(name)
        }
        FilterKind::And(items) | FilterKind::Or(items) => items.iter().any(|f| mentions(f, name)),
        FilterKind::Not(inner) => mentions(inner, name),
        FilterKind::ValuePath { path, filter } => {
            path.name.eq_ignore_ascii_case(name) || mentions(filter, name)
        }
    }
}

/// An `attr eq "text"` term that every match must satisfy, on an indexed column: the
/// whole filter, or one operand of a top-level `and`. Only plain attributes (no
/// sub-attribute; no URN or the core URN) qualify.
fn narrowing(kind: Kind, filter: &Filter) -> Option<(Column, String)> {
    match &filter.kind {
        FilterKind::Compare {
            path,
            op: scim_parser::CompareOp::Eq,
            value,
        } => {
            let LiteralValue::String(text) = &value.value else {
                return None;
            };
            // The store compares folded columns with the folded literal for caseExact:
            // false attributes (as the evaluator folds), exactly for `id` and `externalId`.
            if path.sub_attr.is_some() {
                return None;
            }
            if let Some(uri) = &path.uri {
                if !uri.eq_ignore_ascii_case(kind.core_urn()) {
                    return None;
                }
            }
            let column = match path.name.to_ascii_lowercase().as_str() {
                "id" => Column::Id,
                "externalid" => Column::ExternalId,
                "username" if kind == Kind::User => Column::UserName,
                "displayname" => Column::DisplayName,
                _ => return None,
            };
            Some((column, text.clone()))
        }
        FilterKind::And(items) => items.iter().find_map(|f| narrowing(kind, f)),
        _ => None,
    }
}
