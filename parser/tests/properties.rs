//! Properties of evaluation and PATCH application over many inputs: no panics, errors that
//! do not depend on the data, and results that stay inside the schema.

use proptest::prelude::*;
use scim_parser::eval::{matches, validate};
use scim_parser::patch::{apply, Mode, PatchDocument};
use scim_parser::replace::replace_resource;
use scim_parser::validate::validate_patch_path;
use scim_parser::{parse_filter_with, parse_patch_path, AttrPath, ParseOptions, ResourceSchema};
use serde_json::{json, Value};
use std::path::PathBuf;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "U1",
        "externalId": "E1",
        "userName": "bjensen@example.com",
        "active": true,
        "title": "Tour Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z", "resourceType": "User"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984", "manager": {"value": "M1"}}
    })
}

/// Every valid filter of the shared corpus evaluates without panicking, and `matches` fails
/// exactly when `validate` does, on any resource.
#[test]
fn corpus_filters_evaluate() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus/filters/valid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus/filters/valid")
        .flatten()
        .collect();
    files.sort_by_key(|f| f.path());
    let schema = ResourceSchema::user();
    let resources = [
        user(),
        json!({}),
        json!({"emails": "x", "name": 3, "meta": []}),
    ];
    let (mut evaluated, mut rejected) = (0, 0);
    for file in files {
        let text = std::fs::read_to_string(file.path()).expect("a seed file");
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let Ok(filter) = parse_filter_with(text, &ParseOptions::interop()) else {
            continue;
        };
        let valid = validate(&filter, &schema);
        for resource in &resources {
            let result = matches(&filter, resource, &schema);
            assert_eq!(result.is_err(), valid.is_err(), "{text}");
        }
        if valid.is_ok() {
            evaluated += 1;
        } else {
            rejected += 1;
        }
    }
    // The corpus holds RFC examples on User attributes as well as made-up names.
    assert!(evaluated >= 20, "only {evaluated} corpus filters evaluated");
    assert!(rejected >= 1, "no corpus filter named an unknown attribute");
}

const PATHS: &[&str] = &[
    "userName",
    "USERNAME",
    "active",
    "title",
    "nickName",
    "name",
    "name.givenName",
    "name.nope",
    "emails",
    "emails.value",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[type eq \"other\"].display",
    "emails[value co \"@\" or primary eq true]",
    "emails[type ne \"work\"].primary",
    "addresses[type eq \"work\"].locality",
    "phoneNumbers",
    "groups",
    "id",
    "meta.created",
    "password",
    "x509Certificates",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq \"M1\"]",
    "nosuch",
    "emails[",
    "name[givenName eq \"Barbara\"]",
    "emails[nope eq 1]",
];

/// `validate_patch_path` finds a problem exactly when applying the path fails with
/// `invalidPath` at the path (strict mode, every operation), so a server can check a path
/// up front and get the same verdict as `apply`, with every problem's span.
#[test]
fn path_validation_agrees_with_apply() {
    let schema = ResourceSchema::user();
    let (mut checked, mut refused) = (0, 0);
    for &text in PATHS {
        let Ok(path) = parse_patch_path(text) else {
            continue;
        };
        let problems = validate_patch_path(&path, &schema);
        for op in ["add", "replace", "remove"] {
            let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                              "Operations": [{"op": op, "path": text, "value": "x"}]});
            let body = if op == "remove" {
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": op, "path": text}]})
            } else {
                body
            };
            let doc = PatchDocument::parse(&body, Mode::Strict).expect(text);
            let bad_path = matches!(apply(&doc, &user(), &schema),
                Err(e) if e.scim_type() == "invalidPath" && e.location.ends_with(".path"));
            assert_eq!(bad_path, !problems.is_empty(), "{op} {text}: {problems:?}");
            checked += 1;
            refused += usize::from(bad_path);
        }
    }
    assert!(checked >= 60, "only {checked} cases");
    // Both verdicts occur, so the agreement is not vacuous.
    assert!(
        refused >= 6 && refused < checked,
        "{refused} of {checked} refused"
    );
}

fn values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!("False"),
        json!(""),
        json!("x@example.com"),
        json!(7),
        json!(1.5),
        json!([]),
        json!({}),
        json!([{"value": "a@example.com", "type": "work"}]),
        json!({"value": "M2"}),
        json!({"givenName": "B", "nope": 1}),
        json!({"active": false}),
        json!({"name.givenName": "Kim", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D"}),
        json!([{"value": "b@example.com", "primary": true}]),
        json!("2020-01-01T00:00:00Z"),
        json!({"id": "U1", "displayName": "D"}),
        json!([1, 2]),
    ]
}

fn operation() -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec!["add", "remove", "replace", "Add", "Replace", "upsert"]);
    let paths = prop::option::of(prop::sample::select(PATHS.to_vec()));
    let vals = prop::option::of(prop::sample::select(values()));
    (ops, paths, vals).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), json!(op));
        if let Some(p) = path {
            o.insert("path".into(), json!(p));
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    })
}

/// The case count: `PROPTEST_CASES` when set (CI sets 10000), else `default`. Shrinking
/// follows proptest's own `PROPTEST_MAX_SHRINK_ITERS`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn known_key(schema: &ResourceSchema, key: &str) -> bool {
    let path = AttrPath {
        uri: None,
        name: key.to_string(),
        sub_attr: None,
        span: Default::default(),
    };
    key == "schemas" || schema.extension(key).is_some() || schema.resolve(&path).is_some()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), failure_persistence: None, ..ProptestConfig::default() })]

    /// Any document parses or fails cleanly; an applied document yields an object whose
    /// members are all schema attributes, `changed` tells the truth, and applying is
    /// deterministic.
    #[test]
    fn patch_never_panics_and_stays_in_schema(ops in prop::collection::vec(operation(), 1..5), interop in any::<bool>()) {
        let mode = if interop { Mode::Interop } else { Mode::Strict };
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let schema = ResourceSchema::user();
        let Ok(doc) = PatchDocument::parse(&body, mode) else { return Ok(()) };
        let start = user();
        let first = apply(&doc, &start, &schema);
        let second = apply(&doc, &start, &schema);
        prop_assert_eq!(&first, &second);
        if let Ok(applied) = first {
            let obj = applied.resource.as_object().expect("an object");
            for key in obj.keys() {
                prop_assert!(known_key(&schema, key), "stray key {key:?} in {}", applied.resource);
            }
            prop_assert_eq!(applied.changed, applied.resource != start);
            if mode == Mode::Strict {
                prop_assert!(applied.diagnostics.is_empty());
            }
            // RFC 7644 section 3.5.1: PUTting back what was read changes nothing.
            let put = replace_resource(&applied.resource, &applied.resource, &schema, Mode::Strict);
            match put {
                Ok(same) => prop_assert!(!same.changed, "PUT of {} changed it to {}", applied.resource, same.resource),
                Err(e) => prop_assert!(false, "PUT of {} fails: {e}", applied.resource),
            }
        }
    }

    /// RFC 7644 section 3.5.2: operations are applied in sequence and the document applies
    /// entirely or not at all. So applying a document gives what applying its operations
    /// one by one gives, and a document fails exactly where the one-by-one run first
    /// fails, with the same error, while the caller's resource is never touched.
    #[test]
    fn a_document_is_its_operations_in_sequence(ops in prop::collection::vec(operation(), 1..6), interop in any::<bool>()) {
        let mode = if interop { Mode::Interop } else { Mode::Strict };
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        let schema = ResourceSchema::user();
        let Ok(doc) = PatchDocument::parse(&body, mode) else { return Ok(()) };
        let start = user();
        let whole = apply(&doc, &start, &schema);
        prop_assert_eq!(&start, &user());
        let mut current = start.clone();
        let mut failed = None;
        for (i, op) in doc.operations.iter().enumerate() {
            let one = PatchDocument { operations: vec![op.clone()], mode, diagnostics: Vec::new() };
            match apply(&one, &current, &schema) {
                Ok(applied) => current = applied.resource,
                Err(e) => {
                    failed = Some((i, e));
                    break;
                }
            }
        }
        match (whole, failed) {
            (Ok(applied), None) => prop_assert_eq!(applied.resource, current),
            (Err(e), Some((i, step))) => {
                prop_assert_eq!(e.kind, step.kind);
                prop_assert_eq!(&e.message, &step.message);
                let at = format!("Operations[{i}]");
                prop_assert!(e.location.starts_with(&at), "{} is not at {}", e, at);
            }
            (whole, failed) => prop_assert!(false, "whole: {:?}, one by one: {:?}", whole, failed),
        }
    }
}
