//! IdP request variants: the bodies and paths Entra ID and Okta really send, kept as data in
//! `corpus/idp/<idp>/<variant>.json` (one file per variant, with its source), so that a new
//! quirk is a new file and a one-line registration here, not new case code.
//!
//! A file holds `variant`, `source`, `confidence` and `request` (`method`, `path`, optional
//! `headers` and `body`). Strings may hold `{{name}}` placeholders that a case fills in
//! ([`Variant::request`]).

use crate::case::Problem;
use crate::client::Request;
use serde_json::Value;

macro_rules! corpus {
    ($($name:literal),* $(,)?) => {
        /// Every registered variant: `(name, file text)`.
        pub const CORPUS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../corpus/idp/", $name, ".json"))),)*
        ];
    };
}

corpus![
    "entra/create-group",
    "entra/create-user",
    "entra/default-deactivate",
    "entra/default-group-remove-member",
    "entra/default-reactivate",
    "entra/default-replace-attribute",
    "entra/default-replace-display-name",
    "entra/default-replace-work-email",
    "entra/delete-user",
    "entra/flag-deactivate",
    "entra/flag-group-add-members",
    "entra/flag-group-remove-member",
    "entra/flag-reactivate",
    "entra/flag-replace-nopath-dotted",
    "entra/flag-replace-nopath",
    "entra/get-group",
    "entra/group-add-members",
    "entra/lookup-group",
    "entra/lookup-username-with-flag",
    "entra/lookup-username",
    "entra/manager-add-string",
    "okta/create-user",
    "okta/get-user",
    "okta/group-add-member",
    "okta/group-membership-delta",
    "okta/group-push-create",
    "okta/group-rename",
    "okta/lookup-username-paged",
    "okta/patch-deactivate",
    "okta/patch-reactivate",
    "okta/put-user",
    "onelogin/create-group",
    "onelogin/create-user",
    "onelogin/group-add-member",
    "onelogin/group-remove-member",
    "onelogin/lookup-username",
    "onelogin/put-user",
];

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
        for idp in std::fs::read_dir(&root).expect("corpus/idp exists") {
            let idp = idp.expect("entry").path();
            for file in std::fs::read_dir(&idp).expect("idp dir") {
                let path = file.expect("entry").path();
                let name = format!(
                    "{}/{}",
                    idp.file_name().and_then(|n| n.to_str()).unwrap_or_default(),
                    path.file_stem()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                );
                assert!(
                    CORPUS.iter().any(|(n, _)| *n == name),
                    "{name} is not registered in variants.rs"
                );
            }
        }
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
