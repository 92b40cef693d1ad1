//! Filter evaluation: RFC 7644 section 3.4.2.2 semantics on JSON resources.

use scim_parser::eval::{matches, validate, EvalErrorKind};
use scim_parser::schema::{Extension, ResourceSchema, Schema};
use scim_parser::{parse_filter, parse_filter_with, AttributeType, CompareOp, ParseOptions};
use serde_json::{json, Value};

const CUSTOM_URN: &str = "urn:example:scim:schemas:extension:custom:2.0:User";

/// The User resource type plus a test extension with number and multi-valued simple types.
fn schema() -> ResourceSchema {
    let mut user = ResourceSchema::user();
    let custom = Schema::from_json(&json!({
        "id": CUSTOM_URN,
        "attributes": [
            {"name": "level", "type": "integer"},
            {"name": "score", "type": "decimal"},
            {"name": "tags", "type": "string", "multiValued": true},
            {"name": "badge", "type": "binary", "caseExact": true},
            {"name": "since", "type": "dateTime"}
        ]
    }))
    .unwrap();
    user.extensions.push(Extension {
        schema: custom,
        required: false,
    });
    user
}

fn eval(filter: &str, resource: &Value) -> bool {
    let f = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    matches(&f, resource, &schema()).unwrap_or_else(|e| panic!("{filter}: {e}"))
}

fn error(filter: &str) -> EvalErrorKind {
    let f = parse_filter(filter).unwrap();
    let err = validate(&f, &schema()).expect_err(filter);
    assert_eq!(err.scim_type(), "invalidFilter");
    err.kind
}

/// The resource of parser-anchors section 4.1.
fn bjensen() -> Value {
    json!({
        "userName": "bjensen",
        "meta": {"lastModified": "2011-05-13T05:00:00+02:00"},
        "emails": [{"type": "work", "value": "a@x.com"}, {"type": "home", "value": "b@y.com"}]
    })
}

fn rich_user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "EXT-0001",
        "userName": "User.One@Example.com",
        "Active": true,
        "title": "",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": null},
        "nickName": null,
        "emails": [
            {"type": "work", "value": "user1@example.com", "primary": true},
            {"type": "home", "value": "user1@sub.example.com"}
        ],
        "phoneNumbers": [],
        "addresses": [{"type": "work", "streetAddress": null}],
        "meta": {"created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34.25Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "E-1001",
            "manager": {"value": "MGR", "displayName": "Boss"}
        },
        "URN:EXAMPLE:SCIM:SCHEMAS:EXTENSION:CUSTOM:2.0:USER": {
            "level": 12345678901234567890u64,
            "score": 2.5,
            "tags": ["Blue", "green"],
            "badge": "QUJD",
            "since": "2020-02-29T12:00:00.5-08:00"
        }
    })
}

// parser-anchors section 4.1

#[test]
fn e1_datetime_compares_as_instants() {
    assert!(!eval(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        &bjensen()
    ));
    assert!(eval(
        r#"meta.lastModified eq "2011-05-13T03:00:00Z""#,
        &bjensen()
    ));
    assert!(eval(
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        &bjensen()
    ));
}

#[test]
fn e2_names_and_user_name_ignore_case() {
    assert!(eval(r#"USERNAME eq "BJENSEN""#, &bjensen()));
}

#[test]
fn e3_value_path_needs_one_element_for_all_conditions() {
    assert!(!eval(
        r#"emails[type eq "work" and value ew "y.com"]"#,
        &bjensen()
    ));
    assert!(eval(
        r#"emails[type eq "home" and value ew "y.com"]"#,
        &bjensen()
    ));
    // Without the brackets each condition may hold on a different element.
    assert!(eval(
        r#"emails.type eq "work" and emails.value ew "y.com""#,
        &bjensen()
    ));
}

#[test]
fn e4_entra_form_keeps_the_same_element() {
    let options = ParseOptions::interop();
    let f = parse_filter_with(r#"emails[type eq "work"].value eq "a@x.com""#, &options).unwrap();
    assert!(matches(&f, &bjensen(), &schema()).unwrap());
    let f = parse_filter_with(r#"emails[type eq "work"].value eq "b@y.com""#, &options).unwrap();
    assert!(!matches(&f, &bjensen(), &schema()).unwrap());
}

// bug-cases.md section B

#[test]
fn bug_18_unknown_attribute_is_an_error_with_its_span() {
    let f = parse_filter(r#"userName eq "x" or emails.nope eq "user1@example.com""#).unwrap();
    let err = matches(&f, &rich_user(), &schema()).unwrap_err();
    assert_eq!(
        err.kind,
        EvalErrorKind::UnknownAttribute {
            path: "emails.nope".into()
        }
    );
    assert_eq!((err.span.start, err.span.end), (19, 30));
    assert_eq!(
        err.to_string(),
        "unknown attribute `emails.nope` at byte 19"
    );
    // The error does not depend on the data: an empty resource fails the same way.
    assert!(matches(&f, &json!({}), &schema()).is_err());
    assert_eq!(
        error(r#"DisplayNam eq "Test User""#),
        EvalErrorKind::UnknownAttribute {
            path: "DisplayNam".into()
        }
    );
    assert_eq!(
        error(r#"urn:example:unknown:2.0:User:x eq "1""#),
        EvalErrorKind::UnknownAttribute {
            path: "urn:example:unknown:2.0:User:x".into()
        }
    );
    assert_eq!(
        error(r#"emails[nope eq "x"]"#),
        EvalErrorKind::UnknownAttribute {
            path: "nope".into()
        }
    );
    // And the supported form filters correctly (any value matches).
    assert!(eval(
        r#"emails.value eq "USER1@sub.example.com""#,
        &rich_user()
    ));
}

#[test]
fn bug_20_value_path_with_co_and_ew() {
    assert!(eval(r#"emails[value co "@EXAMPLE.com"]"#, &rich_user()));
    assert!(eval(r#"emails[value ew "@sub.example.com"]"#, &rich_user()));
    assert!(!eval(
        r#"emails[value ew "@other.example.com"]"#,
        &rich_user()
    ));
    assert!(eval(r#"emails[value sw "user1@sub"]"#, &rich_user()));
}

// bug-cases.md section C

#[test]
fn bug_21_user_name_ignores_case_in_compound_filters() {
    let user = rich_user();
    assert!(eval(r#"userName eq "user.one@example.COM""#, &user));
    assert!(eval(
        r#"userName eq "USER.ONE@EXAMPLE.COM" and active eq true"#,
        &user
    ));
    assert!(eval(
        r#"(userName eq "x" or userName eq "USER.ONE@EXAMPLE.COM") and not (active eq false)"#,
        &user
    ));
}

#[test]
fn bug_23_external_id_and_id_compare_exactly() {
    let user = rich_user();
    assert!(eval(r#"externalId eq "EXT-0001""#, &user));
    assert!(!eval(r#"externalId eq "ext-0001""#, &user));
    assert!(eval(
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#,
        &user
    ));
    assert!(!eval(
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#,
        &user
    ));
    assert!(!eval(r#"externalId eq "EXT-0002""#, &user));
}

// The rules of RFC 7644 section 3.4.2.2, one by one

#[test]
fn case_insensitive_keys_in_the_resource() {
    let user = rich_user();
    // The resource spells it `Active`.
    assert!(eval("active eq true", &user));
    assert!(eval("ACTIVE pr", &user));
    assert!(eval(r#"NAME.GIVENNAME eq "barbara""#, &user));
}

#[test]
fn extension_attributes_read_from_the_extension_object() {
    let user = rich_user();
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "E-1001""#,
        &user
    ));
    assert!(eval(
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.value eq "MGR""#,
        &user
    ));
    // A complex attribute without sub-attribute compares its `value`.
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "mgr""#,
        &user
    ));
    // Unqualified extension attribute (unique among the extensions).
    assert!(eval(r#"employeeNumber eq "E-1001""#, &user));
    // The extension key in the resource is in another case.
    assert!(eval(&format!("{CUSTOM_URN}:tags eq \"blue\""), &user));
    // A bare extension URN is present when its object has a value.
    assert!(eval(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
        &user
    ));
    assert!(!eval(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
        &bjensen()
    ));
    // The core URN qualifies core and common attributes.
    assert!(eval(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "user.""#,
        &user
    ));
}

#[test]
fn string_operators() {
    let user = rich_user();
    assert!(eval(r#"userName co "ONE@""#, &user));
    assert!(eval(r#"userName sw "USER""#, &user));
    assert!(eval(r#"userName ew ".COM""#, &user));
    assert!(eval(r#"userName gt "user.a""#, &user));
    assert!(eval(r#"userName ge "USER.ONE@EXAMPLE.COM""#, &user));
    assert!(eval(r#"userName lt "zzz""#, &user));
    assert!(!eval(r#"userName le "user""#, &user));
    assert!(!eval(r#"userName ne "user.one@example.com""#, &user));
    // caseExact binary attribute in the extension
    assert!(eval(&format!("{CUSTOM_URN}:badge eq \"QUJD\""), &user));
    assert!(!eval(&format!("{CUSTOM_URN}:badge eq \"qujd\""), &user));
}

#[test]
fn datetime_offsets_and_fractions() {
    let user = rich_user();
    assert!(eval(
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        &user
    ));
    assert!(eval(
        r#"meta.lastModified eq "2011-05-13T06:42:34.250+02:00""#,
        &user
    ));
    assert!(eval(
        r#"meta.lastModified lt "2011-05-13T04:42:34.2500001Z""#,
        &user
    ));
    assert!(eval(
        r#"meta.created ge "2010-01-22T23:56:22-05:00""#,
        &user
    ));
    assert!(!eval(
        r#"meta.created gt "2010-01-22T23:56:22-05:00""#,
        &user
    ));
    assert!(eval(
        &format!("{CUSTOM_URN}:since eq \"2020-02-29T20:00:00.5Z\""),
        &user
    ));
    // co/sw/ew on a dateTime compare the text
    assert!(eval(r#"meta.created sw "2010-01""#, &user));
    assert_eq!(
        error(r#"meta.created gt "yesterday""#),
        EvalErrorKind::InvalidDateTime {
            literal: "yesterday".into()
        }
    );
}

#[test]
fn numbers_compare_numerically() {
    let user = rich_user();
    let lvl = |rest: &str| format!("{CUSTOM_URN}:level {rest}");
    assert!(eval(&lvl("eq 12345678901234567890"), &user));
    assert!(eval(&lvl("gt 12345678901234567889"), &user));
    assert!(eval(&lvl("lt 12345678901234567891"), &user));
    assert!(eval(&lvl("eq 1.234567890123456789e19"), &user));
    assert!(eval(&lvl("ge 9"), &user));
    let score = |rest: &str| format!("{CUSTOM_URN}:score {rest}");
    assert!(eval(&score("eq 2.50"), &user));
    assert!(eval(&score("gt 2.4999999999999999999"), &user));
    assert!(eval(&score("le 25e-1"), &user));
    assert!(!eval(&score("lt 2.5"), &user));
    assert!(eval(&score("ne 3"), &user));
    assert_eq!(
        error(&score("co 2")),
        EvalErrorKind::OperatorNotApplicable {
            op: CompareOp::Co,
            path: format!("{CUSTOM_URN}:score"),
            kind: AttributeType::Decimal
        }
    );
    assert!(matches!(
        error(&score("eq \"2.5\"")),
        EvalErrorKind::LiteralTypeMismatch {
            found: "a string",
            ..
        }
    ));
}

#[test]
fn booleans_allow_only_eq_and_ne() {
    let user = rich_user();
    assert!(eval("active eq true", &user));
    assert!(eval("active ne false", &user));
    assert!(eval("emails[primary eq true]", &user));
    assert!(eval(r#"emails[primary eq true and type eq "work"]"#, &user));
    assert!(!eval(
        r#"emails[primary eq true and type eq "home"]"#,
        &user
    ));
    for op in ["gt", "ge", "lt", "le", "co", "sw", "ew"] {
        let kind = error(&format!("active {op} true"));
        assert!(
            matches!(
                kind,
                EvalErrorKind::OperatorNotApplicable {
                    kind: AttributeType::Boolean,
                    ..
                }
            ),
            "{op}"
        );
    }
    assert_eq!(
        error("active gt true").to_string(),
        "operator `gt` does not apply to `active`, a boolean attribute"
    );
    assert_eq!(
        error(r#"active eq "true""#),
        EvalErrorKind::LiteralTypeMismatch {
            path: "active".into(),
            expected: AttributeType::Boolean,
            found: "a string"
        }
    );
    assert!(matches!(
        error(&format!("{CUSTOM_URN}:badge gt \"A\"")),
        EvalErrorKind::OperatorNotApplicable {
            kind: AttributeType::Binary,
            ..
        }
    ));
    assert!(matches!(
        error("title eq 1"),
        EvalErrorKind::LiteralTypeMismatch {
            found: "a number",
            ..
        }
    ));
}

#[test]
fn null_literals() {
    let user = rich_user();
    assert!(eval("nickName eq null", &user)); // stored as null
    assert!(eval("profileUrl eq null", &user)); // absent
    assert!(eval("phoneNumbers.value eq null", &user)); // empty array
    assert!(!eval("userName eq null", &user));
    assert!(eval("userName ne null", &user));
    assert!(!eval("nickName ne null", &user));
    assert_eq!(
        error("title gt null"),
        EvalErrorKind::NullOrdering { op: CompareOp::Gt }
    );
}

#[test]
fn presence() {
    let user = rich_user();
    assert!(eval("userName pr", &user));
    assert!(!eval("title pr", &user)); // ""
    assert!(!eval("nickName pr", &user)); // null
    assert!(!eval("phoneNumbers pr", &user)); // []
    assert!(eval("addresses pr", &user)); // one element, with a `type`
    assert!(!eval("addresses.streetAddress pr", &user));
    assert!(eval("name pr", &user));
    assert!(!eval("name.middleName pr", &user));
    assert!(eval("emails pr", &user));
    assert!(eval("emails[type eq \"work\"]", &user));
    assert!(!eval("ims pr", &user)); // absent
    assert!(!eval(
        "name pr",
        &json!({"name": {"givenName": "", "familyName": null}})
    ));
}

#[test]
fn ne_on_absent_and_multi_valued_attributes() {
    let user = rich_user();
    // Absent attribute: `ne` is true (documented choice).
    assert!(eval(r#"profileUrl ne "http://example.com""#, &user));
    assert!(!eval(r#"profileUrl eq "http://example.com""#, &user));
    // Multi-valued: true when any value differs ...
    assert!(eval(r#"emails.type ne "work""#, &user));
    // ... while `not (eq)` says "no value equals".
    assert!(!eval(r#"not (emails.type eq "work")"#, &user));
    assert!(eval(r#"not (emails.type eq "other")"#, &user));
}

#[test]
fn multi_valued_any_semantics() {
    let user = rich_user();
    assert!(eval(r#"emails co "sub.example""#, &user)); // compares each element's `value`
    assert!(eval(r#"emails eq "USER1@EXAMPLE.COM""#, &user));
    assert!(eval(&format!("{CUSTOM_URN}:tags eq \"GREEN\""), &user));
    assert!(eval(
        &format!("{CUSTOM_URN}:tags[value eq \"blue\"]"),
        &user
    ));
    assert!(!eval(
        &format!("{CUSTOM_URN}:tags[value eq \"red\"]"),
        &user
    ));
    assert_eq!(
        error(r#"name eq "Barbara""#),
        EvalErrorKind::ComplexWithoutValue {
            path: "name".into()
        }
    );
}

#[test]
fn value_path_on_single_valued_complex_and_errors() {
    let user = rich_user();
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    assert!(eval(&format!("{ent}:manager[value eq \"MGR\"]"), &user));
    assert!(eval(
        r#"name[givenName eq "BARBARA" and familyName sw "J"]"#,
        &user
    ));
    assert_eq!(
        error(r#"userName[value eq "x"]"#),
        EvalErrorKind::ValuePathNotApplicable {
            path: "userName".into()
        }
    );
    assert_eq!(
        error(&format!("{ent} eq \"x\"")),
        EvalErrorKind::ExtensionNotComparable { path: ent.into() }
    );
}

#[test]
fn wrong_json_types_in_the_resource_never_match() {
    let odd = json!({
        "userName": 42,
        "active": "true",
        "meta": {"created": "not a date"},
        "emails": "user@example.com"
    });
    assert!(!eval(r#"userName eq "42""#, &odd));
    assert!(eval(r#"userName ne "42""#, &odd));
    assert!(!eval("active eq true", &odd));
    assert!(!eval(r#"meta.created gt "2000-01-01T00:00:00Z""#, &odd));
    // A string where an array of objects belongs has no `value` sub-attribute.
    assert!(!eval(r#"emails.value eq "user@example.com""#, &odd));
    assert!(!eval(r#"userName eq "x""#, &json!([1, 2])));
}

#[test]
fn group_display_name_ignores_case() {
    let group =
        json!({"displayName": "Team Alpha Ops", "members": [{"value": "U1"}, {"value": "U2"}]});
    let f = parse_filter(r#"displayName eq "team alpha OPS""#).unwrap();
    assert!(matches(&f, &group, &ResourceSchema::group()).unwrap());
    let f = parse_filter(r#"members[value eq "U2"]"#).unwrap();
    assert!(matches(&f, &group, &ResourceSchema::group()).unwrap());
    let f = parse_filter(r#"members.value eq "u2""#).unwrap();
    assert!(matches(&f, &group, &ResourceSchema::group()).unwrap());
    // Users attributes are unknown to groups.
    let f = parse_filter(r#"userName eq "x""#).unwrap();
    assert!(matches(&f, &group, &ResourceSchema::group()).is_err());
}

#[test]
fn schemas_can_be_filtered() {
    let user = rich_user();
    assert!(eval(
        r#"schemas eq "URN:ietf:params:scim:schemas:core:2.0:User""#,
        &user
    ));
    assert!(!eval(
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        &user
    ));
}

#[test]
fn unchecked_evaluation_agrees_after_validation() {
    use scim_parser::eval::matches_unchecked;
    let schema = schema();
    for text in [
        r#"userName eq "USER.ONE@example.com" and emails[type eq "work" and primary eq true]"#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z" or title pr"#,
        r#"not (emails.value ew "@sub.example.com")"#,
    ] {
        let f = parse_filter(text).unwrap();
        validate(&f, &schema).unwrap();
        for resource in [rich_user(), bjensen(), json!({})] {
            assert_eq!(
                matches_unchecked(&f, &resource, &schema),
                matches(&f, &resource, &schema).unwrap(),
                "{text}"
            );
        }
    }
    assert!(matches_unchecked(
        &parse_filter(r#"userName eq "bjensen""#).unwrap(),
        &bjensen(),
        &schema
    ));
    // An unknown attribute evaluates as no match.
    assert!(!matches_unchecked(
        &parse_filter(r#"nope ne "x""#).unwrap(),
        &bjensen(),
        &schema
    ));
}
