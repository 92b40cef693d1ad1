//! IdP request variants: the bodies and paths identity providers really send, kept as data
//! in `corpus/idp/<idp>/<variant>.json` (one file per variant, with its source). The build
//! script registers every file, so a new quirk is a new file, not new code.
//!
//! A file holds `variant`, `source`, `confidence` and `request` (`method`, `path`, optional
//! `headers` and `body`). Strings may hold `{{name}}` placeholders that are filled in
//! ([`Variant::request`]). A file with a `case` member (`id`, `level`, `profiles`,
//! `requirement`) is also a case of its own, run by [`run_variant`]: it creates what
//! `setup` lists, sends the request and checks `expect`. Files without `case` are request
//! templates that cases in [`crate::cases`] send with their own checks.
//!
//! `setup` entries, in order: `user` and `inactive-user` (fill `id`, `user_name`,
//! `external_id`), `member` and `member2` (`member`, `member_name`, `member2`,
//! `member2_name`), `group` (`gid`, `group_name`; it holds the members created before it). Always filled: `prefix`,
//! `new_user_name`, `new_external_id`, `new_group_name`, `password`, `nobody`.
//!
//! `expect`: `status` (accepted codes), `response` (JSON pointer -> value the body must
//! hold there), `response_absent` (pointers that must be missing), `read` (`user` or
//! `group`: read the setup resource back afterwards), `after` and `after_absent` (the same
//! checks on that read), `after_members` (the exact member ids the group must then hold).

use crate::case::{Case, CaseFuture, Level, Problem, Profile, Verdict};
use crate::client::Request;
use crate::context::{id_of, str_of, Cx, Endpoint};
use serde_json::{json, Value};
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/idp_corpus.rs"));

/// One parsed variant.
#[derive(Clone, Debug)]
pub struct Variant {
    /// `idp/name`, e.g. `entra/default-deactivate`.
    pub name: String,
    /// Where the shape comes from.
    pub source: String,
    /// The request template.
    pub template: Value,
}

impl Variant {
    /// Loads a registered variant by name.
    pub fn load(name: &str) -> Result<Variant, Problem> {
        let (_, text) = CORPUS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| Problem::error(format!("no corpus variant `{name}` is registered")))?;
        Variant::parse(name, text)
    }

    /// Parses a variant file's text.
    pub fn parse(name: &str, text: &str) -> Result<Variant, Problem> {
        let doc: Value = serde_json::from_str(text)
            .map_err(|e| Problem::error(format!("corpus variant `{name}` is not JSON: {e}")))?;
        let field = |key: &str| {
            doc[key].as_str().map(str::to_owned).ok_or_else(|| {
                Problem::error(format!("corpus variant `{name}` lacks the string `{key}`"))
            })
        };
        if field("variant")? != name {
            return Err(Problem::error(format!(
                "corpus file `{name}` names another variant"
            )));
        }
        let template = doc["request"].clone();
        for key in ["method", "path"] {
            if !template[key].is_string() {
                return Err(Problem::error(format!(
                    "corpus variant `{name}` lacks `request.{key}`"
                )));
            }
        }
        Ok(Variant {
            name: name.to_owned(),
            source: field("source")?,
            template,
        })
    }

    /// The request with every `{{key}}` replaced by its value from `values`; in the path
    /// the values are percent-encoded, in headers and body they are kept as they are.
    pub fn request(&self, values: &[(&str, &str)]) -> Result<Request, Problem> {
        let missing = |key: String| {
            Problem::error(format!(
                "corpus variant `{}`: no value for `{{{{{key}}}}}`",
                self.name
            ))
        };
        let mut filled = fill(&self.template, values).map_err(missing)?;
        let encoded: Vec<(&str, String)> = values
            .iter()
            .map(|(k, v)| (*k, crate::client::encode_segment(v)))
            .collect();
        let encoded: Vec<(&str, &str)> = encoded.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = fill_str(self.template["path"].as_str().unwrap_or_default(), &encoded)
            .map_err(missing)?;
        filled["path"] = Value::String(path);
        let method_text = filled["method"].as_str().unwrap_or_default();
        let method = reqwest::Method::from_bytes(method_text.as_bytes()).map_err(|_| {
            Problem::error(format!(
                "corpus variant `{}`: bad method `{method_text}`",
                self.name
            ))
        })?;
        let mut request = Request::new(method, filled["path"].as_str().unwrap_or_default());
        if let Some(headers) = filled["headers"].as_object() {
            for (name, value) in headers {
                request
                    .headers
                    .push((name.clone(), value.as_str().unwrap_or_default().to_owned()));
            }
        }
        if !filled["body"].is_null() {
            request.body = Some(filled["body"].to_string());
        }
        Ok(request)
    }
}

/// Replaces placeholders in every string of `value`; `Err(key)` names a missing one.
fn fill(value: &Value, values: &[(&str, &str)]) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(fill_str(s, values)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| fill(v, values))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), fill(v, values)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn fill_str(text: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| after.to_owned())?;
        let key = &after[..end];
        let value = values
            .iter()
            .find(|(k, _)| *k == key)
            .ok_or_else(|| key.to_owned())?;
        out.push_str(value.1);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The case part of a variant file.
#[derive(Clone, Debug)]
struct VariantCase {
    id: String,
    level: Level,
    profiles: Vec<Profile>,
    requirement: String,
}

fn case_of(name: &str, doc: &Value) -> Result<Option<VariantCase>, Problem> {
    let case = &doc["case"];
    if case.is_null() {
        return Ok(None);
    }
    let bad = |what: &str| Problem::error(format!("corpus variant `{name}`: `case.{what}`"));
    let text = |key: &str| {
        case[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad(&format!("{key}` must be a string")))
    };
    let level = text("level")?
        .parse::<Level>()
        .map_err(|e| bad(&format!("level`: {e}")))?;
    let profiles = case["profiles"]
        .as_array()
        .ok_or_else(|| bad("profiles` must be an array"))?
        .iter()
        .map(|p| {
            p.as_str()
                .unwrap_or_default()
                .parse::<Profile>()
                .map_err(|e| bad(&format!("profiles`: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if profiles.is_empty() {
        return Err(bad("profiles` is empty"));
    }
    Ok(Some(VariantCase {
        id: text("id")?,
        level,
        profiles,
        requirement: text("requirement")?,
    }))
}

/// The cases the variant files define, in corpus order. Built once per process; the ids
/// and sentences live as long as the program, like the compiled-in catalog.
pub fn cases() -> Vec<Case> {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES
        .get_or_init(|| {
            let mut out = Vec::new();
            for (index, (name, text)) in CORPUS.iter().enumerate() {
                let parsed = serde_json::from_str::<Value>(text)
                    .map_err(|e| Problem::error(format!("corpus variant `{name}`: {e}")))
                    .and_then(|doc| case_of(name, &doc));
                match parsed {
                    Ok(Some(case)) => out.push(Case {
                        id: Box::leak(case.id.into_boxed_str()),
                        level: case.level,
                        profiles: Box::leak(case.profiles.into_boxed_slice()),
                        requirement: Box::leak(case.requirement.into_boxed_str()),
                        run: RUNNERS[index],
                    }),
                    Ok(None) => {}
                    // The unit tests reject such a file; at run time it is left out loudly.
                    Err(problem) => tracing::error!("{problem:?}"),
                }
            }
            out
        })
        .clone()
}

fn run_variant_case<const N: usize>(cx: Cx) -> CaseFuture {
    Box::pin(async move {
        let verdict = run_variant(&cx, CORPUS[N].0).await;
        crate::case::with_shape_checks(&cx, verdict)
    })
}

/// The placeholder values of one run of a variant.
#[derive(Default)]
struct Values(Vec<(String, String)>);

impl Values {
    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.into()));
    }

    fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

async fn setup(cx: &Cx, name: &str, steps: &Value, values: &mut Values) -> Verdict {
    for step in steps.as_array().into_iter().flatten() {
        match step.as_str().unwrap_or_default() {
            kind @ ("user" | "inactive-user") => {
                let mut body = cx.user_body("variant-user");
                body["active"] = json!(kind == "user");
                let user = cx.create_user_with(&body).await?;
                values.set("id", id_of(&user));
                values.set("user_name", str_of(&user, "userName"));
                values.set("external_id", str_of(&user, "externalId"));
            }
            kind @ ("member" | "member2") => {
                let user = cx.create_user("variant-member").await?;
                values.set(kind, id_of(&user));
                values.set(&format!("{kind}_name"), str_of(&user, "userName"));
            }
            "group" => {
                let held = [
                    values.get("member").to_owned(),
                    values.get("member2").to_owned(),
                ];
                let members: Vec<&str> = held
                    .iter()
                    .map(String::as_str)
                    .filter(|m| !m.is_empty())
                    .collect();
                let group = cx.create_group("variant-group", &members).await?;
                values.set("gid", id_of(&group));
                values.set("group_name", str_of(&group, "displayName"));
            }
            other => {
                return Err(Problem::error(format!(
                    "corpus variant `{name}`: unknown setup step `{other}`"
                )))
            }
        }
    }
    Ok(())
}

/// Runs the variant file `name` as a case: setup, the request, the expectations.
pub async fn run_variant(cx: &Cx, name: &str) -> Verdict {
    let (_, text) = CORPUS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| Problem::error(format!("no corpus variant `{name}` is registered")))?;
    let doc: Value = serde_json::from_str(text)
        .map_err(|e| Problem::error(format!("corpus variant `{name}` is not JSON: {e}")))?;
    let variant = Variant::parse(name, text)?;
    let method = variant.template["method"].as_str().unwrap_or_default();
    if matches!(method, "PATCH") {
        cx.require_patch()?;
    }
    if variant.template["query"]["filter"].is_string()
        || variant.template["path"]
            .as_str()
            .is_some_and(|p| p.contains("filter="))
    {
        cx.require_filter()?;
    }
    let mut values = Values::default();
    values.set("prefix", cx.prefix());
    let fresh = cx.name("variant-new");
    values.set("new_user_name", format!("{fresh}@example.com"));
    values.set("new_external_id", format!("{fresh}-ext"));
    values.set("new_group_name", cx.name("variant-new-group"));
    values.set("password", format!("{fresh}-Pw1!"));
    values.set(
        "nobody",
        format!("{}@example.com", cx.name("variant-nobody")),
    );
    setup(cx, name, &doc["setup"], &mut values).await?;
    let pairs = values.pairs();
    let request = variant.request(&pairs)?;
    let reply = cx.send(request.clone()).await?;
    track_created(cx, &request, &reply);
    let expect = fill(&doc["expect"], &pairs).map_err(|key| {
        Problem::error(format!(
            "corpus variant `{name}`: no value for `{{{{{key}}}}}` in `expect`"
        ))
    })?;
    let accepted: Vec<u16> = expect["status"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_u64().and_then(|s| u16::try_from(s).ok()))
        .collect();
    if !accepted.is_empty() {
        reply.expect_status(&accepted)?;
    }
    if expect["response"].is_object() || expect["response_absent"].is_array() {
        let body = reply.json()?;
        check_pointers(
            &body,
            &expect["response"],
            &expect["response_absent"],
            "the response",
        )?;
    }
    let read = match expect["read"].as_str() {
        None => return Ok(()),
        Some("user") => cx.read_ok(Endpoint::Users, values.get("id")).await?,
        Some("group") => cx.read_ok(Endpoint::Groups, values.get("gid")).await?,
        Some(other) => {
            return Err(Problem::error(format!(
                "corpus variant `{name}`: `expect.read` must be user or group, not `{other}`"
            )))
        }
    };
    check_pointers(
        &read,
        &expect["after"],
        &expect["after_absent"],
        "the resource read back",
    )?;
    if let Some(want) = expect["after_members"].as_array() {
        let mut want: Vec<String> = want
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        want.sort();
        let got = crate::cases::member_ids(&read);
        crate::case::ensure(got == want, &format!("members {want:?}"), || {
            format!("members {got:?}")
        })?;
    }
    Ok(())
}

/// A create the variant sent is tracked for cleanup under the name it carries.
fn track_created(cx: &Cx, request: &Request, reply: &crate::client::Reply) {
    if request.method != reqwest::Method::POST {
        return;
    }
    let endpoint = match request.path.as_str() {
        "/Users" => Endpoint::Users,
        "/Groups" => Endpoint::Groups,
        _ => return,
    };
    let body: Value = request
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    cx.track_reply(endpoint, reply, str_of(&body, endpoint.name_attr()));
}

/// Checks `equal` (pointer -> value; strings compare without regard to case only where
/// the value is marked `{"ci": "..."}`) and `absent` (pointers) against `body`.
fn check_pointers(body: &Value, equal: &Value, absent: &Value, what: &str) -> Verdict {
    for (pointer, want) in equal.as_object().into_iter().flatten() {
        let got = body.pointer(pointer).unwrap_or(&Value::Null);
        let holds = match want {
            Value::Object(m) if m.contains_key("ci") => got
                .as_str()
                .zip(m["ci"].as_str())
                .is_some_and(|(g, w)| g.eq_ignore_ascii_case(w)),
            Value::Object(m) if m.contains_key("type") => match m["type"].as_str() {
                Some("integer") => got.is_u64() || got.is_i64(),
                Some("string") => got.is_string(),
                Some("array") => got.is_array(),
                Some("boolean") => got.is_boolean(),
                _ => false,
            },
            other => got == other,
        };
        crate::case::ensure(holds, &format!("`{pointer}` {want} in {what}"), || {
            format!("`{pointer}` is {got}")
        })?;
    }
    for pointer in absent
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let got = body.pointer(pointer);
        crate::case::ensure(got.is_none(), &format!("no `{pointer}` in {what}"), || {
            format!("`{pointer}` is {}", got.unwrap_or(&Value::Null))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_variant_parses() {
        for (name, _) in CORPUS {
            let variant = Variant::load(name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!variant.source.is_empty());
        }
    }

    #[test]
    fn every_corpus_file_is_registered() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/idp");
        let mut on_disk = Vec::new();
        for idp in std::fs::read_dir(&root).expect("corpus/idp exists") {
            let idp = idp.expect("entry").path();
            for file in std::fs::read_dir(&idp).expect("idp dir") {
                let path = file.expect("entry").path();
                on_disk.push(format!(
                    "{}/{}",
                    idp.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
                    path.file_stem()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                ));
            }
        }
        on_disk.sort();
        let mut registered: Vec<String> = CORPUS.iter().map(|(n, _)| n.to_string()).collect();
        registered.sort();
        assert_eq!(registered, on_disk, "build.rs registers exactly the files");
    }

    #[test]
    fn case_files_are_well_formed() {
        let mut with_case = 0;
        for (name, text) in CORPUS {
            let doc: Value = serde_json::from_str(text).expect("JSON");
            let idp = name.split('/').next().unwrap_or_default();
            let case = case_of(name, &doc).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let Some(case) = case else { continue };
            with_case += 1;
            assert!(case.id.starts_with("rfc764"), "{name}: id {}", case.id);
            assert!(
                doc["expect"]["status"].is_array(),
                "{name}: a case needs `expect.status`"
            );
            assert!(
                case.profiles.iter().any(|p| p.name().starts_with(idp)),
                "{name}: the case is not in its IdP's profile"
            );
            let documented = ["D", "V", "O", "I"].iter().any(|c| doc["confidence"] == *c);
            assert!(documented, "{name}: confidence must be D, V, O or I");
        }
        assert_eq!(cases().len(), with_case);
    }

    #[test]
    fn expectations_compare_values_types_case_and_absence() {
        let body = json!({"id": "a", "total": 1, "name": {"given": "Ann"}, "tags": []});
        let equal =
            json!({"/id": "a", "/total": {"type": "integer"}, "/name/given": {"ci": "ANN"}});
        assert_eq!(
            check_pointers(&body, &equal, &json!(["/members"]), "it"),
            Ok(())
        );
        let wrong = check_pointers(&body, &json!({"/id": "b"}), &Value::Null, "it");
        assert_eq!(
            wrong,
            Err(Problem::broken("`/id` \"b\" in it", "`/id` is \"a\""))
        );
        let present = check_pointers(&body, &Value::Null, &json!(["/tags"]), "it");
        assert_eq!(
            present,
            Err(Problem::broken("no `/tags` in it", "`/tags` is []"))
        );
        let not_a_string = check_pointers(
            &body,
            &json!({"/total": {"type": "string"}}),
            &Value::Null,
            "it",
        );
        assert!(not_a_string.is_err());
    }

    #[test]
    fn placeholders_are_filled_and_missing_ones_named() {
        let variant = Variant::load("entra/default-group-remove-member").expect("load");
        let request = variant
            .request(&[("id", "g1"), ("member", "u1")])
            .expect("filled");
        assert_eq!(request.path, "/Groups/g1");
        let body: Value =
            serde_json::from_str(request.body.as_deref().unwrap_or("")).expect("json");
        assert_eq!(body["Operations"][0]["value"][0]["value"], "u1");
        let missing = variant
            .request(&[("id", "g1")])
            .expect_err("member missing");
        assert_eq!(
            missing,
            Problem::error(
                "corpus variant `entra/default-group-remove-member`: no value for `{{member}}`"
            )
        );
    }
}
