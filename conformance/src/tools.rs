//! The debugging commands `eval` and `patch`: run one filter or one PatchOp document
//! against one resource file with `scim-parser`, offline, to see what a server built on the
//! parser would do with an IdP's request.
//!
//! Both functions return a [`ToolOutput`] (text for stdout and stderr, and an exit code)
//! instead of printing, so the binary only writes it out and tests can call them directly.
//!
//! | exit | `eval` | `patch` |
//! |---|---|---|
//! | 0 ([`exit::SUCCESS`]) | printed `true` or `false` | printed the resulting resource |
//! | 1 ([`exit::MUST_FAILED`]) | the filter is invalid or does not fit the schemas | the document is invalid or cannot be applied (its `scimType` is printed) |
//! | 2 ([`exit::USAGE`]) | a file is missing or is not the JSON expected | the same |
//!
//! The resource type comes from the resource's `schemas` member: the core schema is the
//! first known URN listed that is not a key of the resource (extension attributes live in
//! an object keyed by the extension's URN, RFC 7643 section 3.3) and not the Enterprise User
//! extension; every other known URN listed is an extension. Schemas come from `--schemas` (the JSON a server publishes at
//! `/Schemas`: a ListResponse, an array or one schema) and, for URNs the file does not
//! define, from the built-in User, Group and Enterprise User schemas (RFC 7643 section 8.7).

use crate::exit;
use clap::Args;
use scim_parser::patch::{apply, Mode, PatchDocument};
use scim_parser::schema::{Extension, ResourceSchema, Schema};
use scim_parser::validate::validate_patch_path;
use scim_parser::{eval, parse_filter_with, ParseOptions};
use serde_json::Value;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Arguments of `scim-conformance eval`.
#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    /// The filter, as the decoded `filter` query parameter (RFC 7644 section 3.4.2.2).
    pub filter: String,
    /// A JSON file holding the resource to test.
    #[arg(long, value_name = "FILE")]
    pub resource: PathBuf,
    /// A JSON file of schemas as served at `/Schemas` (default: the built-in User, Group and
    /// Enterprise User schemas).
    #[arg(long, value_name = "FILE")]
    pub schemas: Option<PathBuf>,
    /// Parse with exactly the RFC 7644 grammar (single spaces, no `$`, no Entra forms).
    #[arg(long, conflicts_with = "interop")]
    pub strict: bool,
    /// Parse with the leniencies real IdPs need (the Entra form `a[f].b op v`).
    #[arg(long)]
    pub interop: bool,
}

/// Arguments of `scim-conformance patch`.
#[derive(Args, Debug, Clone)]
pub struct PatchArgs {
    /// A JSON file holding the resource to patch.
    #[arg(long, value_name = "FILE")]
    pub resource: PathBuf,
    /// A JSON file holding the PatchOp request body (RFC 7644 section 3.5.2).
    #[arg(long, value_name = "FILE")]
    pub patch: PathBuf,
    /// Exactly RFC 7644 section 3.5.2; without it, interop mode accepts what Entra, Okta
    /// and OneLogin send and lists every tolerance it used.
    #[arg(long)]
    pub strict: bool,
    /// A JSON file of schemas as served at `/Schemas` (default: the built-in schemas).
    #[arg(long, value_name = "FILE")]
    pub schemas: Option<PathBuf>,
}

/// What a command prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// The process exit code (a constant of [`exit`]).
    pub code: i32,
    /// Text for standard output: the result.
    pub stdout: String,
    /// Text for standard error: diagnostics and tolerances.
    pub stderr: String,
}

impl ToolOutput {
    fn ok(stdout: String, stderr: String) -> Self {
        ToolOutput {
            code: exit::SUCCESS,
            stdout,
            stderr,
        }
    }

    fn rejected(stderr: String) -> Self {
        ToolOutput {
            code: exit::MUST_FAILED,
            stdout: String::new(),
            stderr,
        }
    }

    fn usage(message: String) -> Self {
        ToolOutput {
            code: exit::USAGE,
            stdout: String::new(),
            stderr: format!("scim-conformance: {message}\n"),
        }
    }
}

/// The line `parse` and `eval` add when `--interop` would have accepted the input: the
/// parser's own message names the mode, the CLI names its flag.
pub const INTEROP_HINT: &str = "hint: --interop accepts this (the leniencies real IdPs need)\n";

/// `eval`: prints `true` or `false`; a filter that does not parse or does not fit the
/// schemas prints every problem with carets under the filter, and its `scimType`.
pub fn eval(args: &EvalArgs) -> ToolOutput {
    let (resource, schema) = match load(&args.resource, args.schemas.as_deref()) {
        Ok(loaded) => loaded,
        Err(message) => return ToolOutput::usage(message),
    };
    let options = if args.strict {
        ParseOptions::strict()
    } else if args.interop {
        ParseOptions::interop()
    } else {
        ParseOptions::default()
    };
    let filter = match parse_filter_with(&args.filter, &options) {
        Ok(f) => f,
        Err(e) => {
            let mut err = e.render(&args.filter);
            let _ = writeln!(err, "scimType: {}", e.scim_type());
            if !args.interop && parse_filter_with(&args.filter, &ParseOptions::interop()).is_ok() {
                err.push_str(INTEROP_HINT);
            }
            return ToolOutput::rejected(err);
        }
    };
    let problems = eval::validate_all(&filter, &schema);
    if let Some(first) = problems.first() {
        let mut err = String::new();
        for p in &problems {
            err.push_str(&p.render(&args.filter));
        }
        let _ = writeln!(
            err,
            "scimType: {} (resource type {})",
            first.scim_type(),
            schema.name
        );
        return ToolOutput::rejected(err);
    }
    let hit = eval::matches_unchecked(&filter, &resource, &schema);
    ToolOutput::ok(format!("{hit}\n"), String::new())
}

/// `patch`: prints the resulting resource as JSON on stdout and the tolerances used on
/// stderr; an error prints its `scimType`, where it is and what is wrong.
pub fn patch(args: &PatchArgs) -> ToolOutput {
    let (resource, schema) = match load(&args.resource, args.schemas.as_deref()) {
        Ok(loaded) => loaded,
        Err(message) => return ToolOutput::usage(message),
    };
    let body = match read_json(&args.patch, "--patch") {
        Ok(body) => body,
        Err(message) => return ToolOutput::usage(message),
    };
    let mode = if args.strict {
        Mode::Strict
    } else {
        Mode::Interop
    };
    let mode_name = if args.strict { "strict" } else { "interop" };
    let applied = PatchDocument::parse(&body, mode).and_then(|doc| apply(&doc, &resource, &schema));
    match applied {
        Ok(applied) => {
            let mut out = serde_json::to_string_pretty(&applied.resource)
                .unwrap_or_else(|e| format!("cannot print the result: {e}"));
            out.push('\n');
            let mut err = format!(
                "{mode_name} mode, resource type {}: {}, {} tolerance{} used\n",
                schema.name,
                if applied.changed {
                    "changed"
                } else {
                    "unchanged"
                },
                applied.diagnostics.len(),
                if applied.diagnostics.len() == 1 {
                    ""
                } else {
                    "s"
                }
            );
            for d in &applied.diagnostics {
                let _ = writeln!(err, "tolerance: {d}");
            }
            ToolOutput::ok(out, err)
        }
        Err(e) => {
            let mut err = format!("scimType: {}\nerror: {e}\n", e.scim_type());
            err.push_str(&path_carets(&body, &e.location, &schema));
            let _ = writeln!(err, "({mode_name} mode, resource type {})", schema.name);
            if mode == Mode::Strict {
                // Tell the user whether interop would have accepted it.
                let lenient = PatchDocument::parse(&body, Mode::Interop)
                    .and_then(|d| apply(&d, &resource, &schema));
                if lenient.is_ok() {
                    let _ = writeln!(err, "interop mode (without --strict) accepts this document");
                }
            }
            ToolOutput::rejected(err)
        }
    }
}

/// For an error at `Operations[i].path`, the path drawn with carets under every problem
/// (a syntax error, or each attribute and filter condition that does not fit the schemas).
fn path_carets(body: &Value, location: &str, schema: &ResourceSchema) -> String {
    let Some(i) = location
        .strip_prefix("Operations[")
        .and_then(|rest| rest.strip_suffix("].path"))
        .and_then(|i| i.parse::<usize>().ok())
    else {
        return String::new();
    };
    let op = body
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
        .and_then(|(_, ops)| ops.get(i))
        .and_then(Value::as_object);
    let Some(text) = op
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("path")))
        .and_then(|(_, p)| p.as_str())
    else {
        return String::new();
    };
    match scim_parser::parse_patch_path_with(text, &ParseOptions::interop()) {
        Err(e) => e.render(text),
        Ok(path) => validate_patch_path(&path, schema)
            .iter()
            .map(|p| p.render(text))
            .collect(),
    }
}

/// Reads the resource and the schemas, and picks the resource type.
fn load(resource: &Path, schemas: Option<&Path>) -> Result<(Value, ResourceSchema), String> {
    let value = read_json(resource, "--resource")?;
    let mut known = Vec::new();
    if let Some(path) = schemas {
        let json = read_json(path, "--schemas")?;
        known = Schema::list_from_json(&json)
            .map_err(|e| format!("--schemas {}: not a /Schemas response: {e}", path.display()))?;
    }
    known.extend([Schema::user(), Schema::group(), Schema::enterprise_user()]);
    let schema = resource_type(&value, &known)
        .map_err(|m| format!("--resource {}: {m}", resource.display()))?;
    Ok((value, schema))
}

fn read_json(path: &Path, flag: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{flag} {}: cannot read the file: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{flag} {}: not JSON: {e}", path.display()))
}

/// The resource type a resource's `schemas` member names (see the module docs).
fn resource_type(resource: &Value, known: &[Schema]) -> Result<ResourceSchema, String> {
    let obj = resource
        .as_object()
        .ok_or("expected a JSON object (a SCIM resource)")?;
    let urns: Vec<&str> = match obj.get("schemas") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return Err("the resource has no `schemas` array naming its resource type".into()),
    };
    let find = |urn: &str| known.iter().find(|s| s.id.eq_ignore_ascii_case(urn));
    let is_key = |urn: &str| obj.keys().any(|k| k.eq_ignore_ascii_case(urn));
    let enterprise = Schema::enterprise_user().id;
    let core = urns
        .iter()
        .filter(|u| !is_key(u) && !u.eq_ignore_ascii_case(&enterprise))
        .find_map(|u| find(u))
        .ok_or_else(|| {
            format!(
                "none of its schemas {urns:?} is a known core schema; give its schema with \
                 --schemas"
            )
        })?;
    let extensions = urns
        .iter()
        .filter(|u| !u.eq_ignore_ascii_case(&core.id))
        .filter_map(|u| find(u))
        .map(|s| Extension {
            schema: s.clone(),
            required: false,
        })
        .collect();
    let name = core
        .name
        .clone()
        .unwrap_or_else(|| core.id.rsplit(':').next().unwrap_or(&core.id).to_string());
    let mut schema = ResourceSchema::new(&name, "", core.clone(), extensions);
    // The built-in User resource type always knows the Enterprise User extension.
    if core.id.eq_ignore_ascii_case(&Schema::user().id)
        && schema.extension(&Schema::enterprise_user().id).is_none()
    {
        schema.extensions.push(Extension {
            schema: Schema::enterprise_user(),
            required: false,
        });
    }
    Ok(schema)
}
