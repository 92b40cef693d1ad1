//! The `eval` and `patch` commands, run as the binary: what they print and how they exit
//! (0 result, 1 rejected input, 2 unusable files). PatchOp bodies come from the IdP
//! variants in `corpus/idp/`, with their `{{placeholders}}` filled in.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(args)
        .env_remove("SCIM_CONFORMANCE_TOKEN")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `content` to a file of this test's own directory and returns its path.
fn file(test: &str, name: &str, content: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cli_tools")
        .join(test);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write fixture");
    path
}

fn json_file(test: &str, name: &str, value: &Value) -> String {
    file(test, name, &value.to_string()).display().to_string()
}

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "meta": {"lastModified": "2011-05-13T04:42:34Z"}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Tour Guides",
        "members": [{"value": "2819c223"}, {"value": "902c246b"}]
    })
}

/// The request body of an IdP variant in `corpus/idp/`, placeholders filled in.
fn corpus_body(variant: &str, fill: &[(&str, &str)]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus/idp")
        .join(format!("{variant}.json"));
    let mut text = std::fs::read_to_string(&path).expect("corpus variant");
    for (k, v) in fill {
        text = text.replace(&format!("{{{{{k}}}}}"), v);
    }
    let doc: Value = serde_json::from_str(&text).expect("variant JSON");
    doc["request"]["body"].clone()
}

fn eval(test: &str, filter: &str, resource: &Value, extra: &[&str]) -> Output {
    let res = json_file(test, "resource.json", resource);
    let mut args = vec!["eval", filter, "--resource", &res];
    args.extend_from_slice(extra);
    run(&args)
}

fn patch(test: &str, body: &Value, resource: &Value, extra: &[&str]) -> Output {
    let res = json_file(test, "resource.json", resource);
    let doc = json_file(test, "patch.json", body);
    let mut args = vec!["patch", "--resource", &res, "--patch", &doc];
    args.extend_from_slice(extra);
    run(&args)
}

// ---------------------------------------------------------------------------------------
// eval

#[test]
fn eval_prints_true_or_false_with_rfc_string_semantics() {
    // RFC 7644 section 3.4.2.2: userName is caseExact false, externalId caseExact true.
    let out = eval(
        "eval_case",
        r#"userName eq "BJENSEN@EXAMPLE.COM""#,
        &user(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "true\n");
    let out = eval("eval_case", r#"externalId eq "BJENSEN""#, &user(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "false\n");
}

#[test]
fn eval_value_path_and_instants() {
    let out = eval(
        "eval_vp",
        r#"emails[type eq "work" and value ew "@EXAMPLE.com"] and meta.lastModified gt "2011-05-13T06:00:00+02:00""#,
        &user(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "true\n");
}

#[test]
fn eval_syntax_error_draws_a_caret_and_exits_1() {
    let out = eval("eval_syntax", "userName eq bjensen", &user(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: expected a value, found the bare word `bjensen`; strings need double quotes \
         (byte 12)\n  userName eq bjensen\n              ^^^^^^^\nscimType: invalidFilter\n"
    );
}

#[test]
fn eval_reports_every_schema_problem_with_its_caret() {
    let filter = r#"active eq "true" or nickname2 pr"#;
    let out = eval("eval_schema", filter, &user(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("error: ").count(), 2, "{err}");
    assert!(
        err.contains("`active` is a boolean attribute, but the value is a string (byte 10)"),
        "{err}"
    );
    assert!(
        err.contains("unknown attribute `nickname2` (byte 20)"),
        "{err}"
    );
    assert!(err.contains("\n            ^^^^^^\n"), "{err}");
    assert!(
        err.ends_with("scimType: invalidFilter (resource type User)\n"),
        "{err}"
    );
}

#[test]
fn eval_entra_form_needs_interop() {
    // bug-10 / idp-shapes: Entra writes `emails[type eq "work"].value eq "x"`.
    let filter = r#"emails[type eq "work"].value eq "bjensen@example.com""#;
    let out = eval("eval_entra", filter, &user(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("hint: --interop accepts this"),
        "{}",
        stderr(&out)
    );
    let out = eval("eval_entra", filter, &user(), &["--interop"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "true\n");
}

#[test]
fn eval_picks_group_from_schemas() {
    let out = eval(
        "eval_group",
        r#"members[value eq "902c246b"]"#,
        &group(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "true\n");
    // userName is not a Group attribute.
    let out = eval("eval_group", r#"userName eq "x""#, &group(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("resource type Group"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn eval_with_a_custom_extension_from_schemas_file() {
    let urn = "urn:example:params:scim:schemas:extension:badge:2.0:User";
    let schemas = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1,
        "Resources": [{
            "id": urn,
            "name": "Badge",
            "attributes": [{"name": "badgeId", "type": "string", "caseExact": true,
                            "multiValued": false, "required": false, "mutability": "readWrite",
                            "returned": "default", "uniqueness": "none"}]
        }]
    });
    let mut res = user();
    res["schemas"].as_array_mut().unwrap().push(json!(urn));
    res[urn] = json!({"badgeId": "B-7"});
    let schemas_path = json_file("eval_ext", "schemas.json", &schemas);
    let filter = format!(r#"{urn}:badgeId eq "B-7""#);
    let out = eval("eval_ext", &filter, &res, &["--schemas", &schemas_path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "true\n");
    // caseExact from the published schema.
    let out = eval(
        "eval_ext",
        r#"badgeId eq "b-7""#,
        &res,
        &["--schemas", &schemas_path],
    );
    assert_eq!(stdout(&out), "false\n", "{}", stderr(&out));
    // Without the schema file the extension is unknown.
    let out = eval("eval_ext", &filter, &res, &[]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn eval_unusable_files_exit_2_naming_the_file() {
    let out = run(&["eval", "title pr", "--resource", "/nonexistent/user.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--resource /nonexistent/user.json: cannot read the file"),
        "{}",
        stderr(&out)
    );
    let bad = file("eval_files", "bad.json", "{\"schemas\": [");
    let out = run(&["eval", "title pr", "--resource", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not JSON: EOF"), "{}", stderr(&out));
    let out = eval("eval_files", "title pr", &json!({"userName": "x"}), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no `schemas` array"),
        "{}",
        stderr(&out)
    );
    let bad_schema = json_file(
        "eval_files",
        "schemas.json",
        &json!([{"id": "urn:x", "attributes": [{"name": "a", "type": "text"}]}]),
    );
    let out = eval(
        "eval_files",
        "title pr",
        &user(),
        &["--schemas", &bad_schema],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/0/attributes/0/type"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------
// patch

#[test]
fn patch_entra_deactivate_lists_its_tolerances() {
    // bug-24/bug-25: Entra's default deactivate sends `"op": "Replace"` and `"False"`.
    let body = corpus_body("entra/default-deactivate", &[]);
    let out = patch("patch_entra", &body, &user(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result: Value = serde_json::from_str(&stdout(&out)).expect("JSON on stdout");
    assert_eq!(result["active"], json!(false));
    assert_eq!(result["userName"], json!("bjensen@example.com"));
    let err = stderr(&out);
    assert!(
        err.starts_with("interop mode, resource type User: changed, 2 tolerances used\n"),
        "{err}"
    );
    assert_eq!(
        err.matches("tolerance: [entra] Operations[0]").count(),
        2,
        "{err}"
    );
}

#[test]
fn patch_strict_rejects_what_interop_accepts() {
    let body = corpus_body("entra/default-deactivate", &[]);
    let out = patch("patch_strict", &body, &user(), &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(
        err.starts_with("scimType: invalidSyntax\nerror: Operations[0].op: "),
        "{err}"
    );
    assert!(
        err.contains("interop mode (without --strict) accepts"),
        "{err}"
    );
}

#[test]
fn patch_okta_group_rename_echoing_the_read_only_id() {
    // idp-shapes okta-group-rename: the read-only id is sent back unchanged.
    let body = corpus_body("okta/group-rename", &[("id", "g1"), ("name", "Guides")]);
    let out = patch("patch_okta", &body, &group(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let result: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(result["displayName"], json!("Guides"));
    assert_eq!(result["members"], group()["members"]);
    assert!(
        stderr(&out).contains("tolerance: [okta]"),
        "{}",
        stderr(&out)
    );
    // Strict: changing (even restating) a readOnly attribute is `mutability`.
    let out = patch("patch_okta", &body, &group(), &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("scimType: mutability\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn patch_errors_print_scim_type_and_location() {
    // RFC 7644 section 3.5.2.2: removing a required attribute.
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "remove", "path": "userName"}]});
    let out = patch("patch_err", &body, &user(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "scimType: mutability\nerror: Operations[0].path: `userName` is required and cannot \
         be removed\n(interop mode, resource type User)\n"
    );
    // RFC 7644 section 3.5.2.3: replace through a filter that matches nothing.
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "replace", "path": "emails[type eq \"other\"].value",
                                      "value": "x@example.com"}]});
    let out = patch("patch_err", &body, &user(), &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("scimType: noTarget\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn patch_unusable_files_exit_2() {
    let res = json_file("patch_files", "resource.json", &user());
    let bad = file("patch_files", "patch.json", "not json");
    let out = run(&[
        "patch",
        "--resource",
        &res,
        "--patch",
        &bad.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--patch "), "{}", stderr(&out));
    assert!(stderr(&out).contains("not JSON"), "{}", stderr(&out));
    let out = run(&[
        "patch",
        "--resource",
        &res,
        "--patch",
        "/nonexistent/p.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read the file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn patch_invalid_path_draws_carets_under_each_problem() {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "replace", "path": "emails[kind eq \"work\"].nope",
                                      "value": "x"}]});
    let out = patch("patch_carets", &body, &user(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("scimType: invalidPath\nerror: Operations[0].path: "),
        "{err}"
    );
    assert!(
        err.contains(
            "error: unknown attribute `kind` (byte 7)\n  emails[kind eq \"work\"].nope\n         ^^^^\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("error: unknown attribute `emails.nope` (byte 23)"),
        "{err}"
    );
}
