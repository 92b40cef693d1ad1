//! Shared inputs of the fuzz targets: each input type's `Debug` prints a Rust snippet that
//! reproduces the run, so a crash report can be pasted into
//! `parser/tests/fuzz_regressions.rs`.
//!
//! Byte inputs are split at the first NUL byte: what comes before is the filter or PatchOp
//! text, what comes after is the resource JSON. Without a NUL the resource is [`user()`],
//! so the seed files of `corpus/` (which hold no NUL) work as they are.

use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use scim_parser::filter::{AttrPath, CompareOp, Filter, FilterKind, Literal, LiteralValue};
use scim_parser::Span;
use serde_json::{json, Value};
use std::fmt;

/// A User with a value in most attribute shapes: simple, complex, multi-valued, extension.
pub fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "bjensen",
        "userName": "bjensen@example.com",
        "active": true,
        "title": "Tour Guide",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen III"},
        "emails": [
            {"type": "work", "value": "bjensen@example.com", "primary": true},
            {"type": "home", "value": "babs@jensen.org"}
        ],
        "addresses": [{"type": "work", "locality": "Hollywood", "postalCode": "91608"}],
        "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        }
    })
}

/// A resource text and the document or filter text before it, split at the first NUL.
#[derive(Clone)]
pub struct Split {
    /// The filter or PatchOp text.
    pub head: String,
    /// The resource as parsed JSON (or [`user()`] without a NUL, or when it is not JSON).
    pub resource: Value,
    /// The resource text, when one was given.
    pub resource_text: Option<String>,
}

impl<'a> Arbitrary<'a> for Split {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Self::arbitrary_take_rest(Unstructured::new(u.bytes(u.len())?))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Self> {
        let bytes = u.take_rest();
        let (head, tail) = match bytes.iter().position(|&b| b == 0) {
            Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
            None => (bytes, None),
        };
        let head = std::str::from_utf8(head)
            .map_err(|_| arbitrary::Error::IncorrectFormat)?
            .to_string();
        let resource_text = tail
            .and_then(|t| std::str::from_utf8(t).ok())
            .map(String::from);
        let resource = resource_text
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_else(user);
        Ok(Split {
            head,
            resource,
            resource_text,
        })
    }
}

/// Prints the head and resource as raw string literals a regression test can use.
impl fmt::Debug for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "// head (filter or PatchOp text):")?;
        writeln!(f, "let head = {};", raw(&self.head))?;
        match &self.resource_text {
            Some(_) => writeln!(f, "let resource = serde_json::json!({});", self.resource),
            None => writeln!(
                f,
                "let resource = fuzz_user(); // no NUL: the built-in User"
            ),
        }
    }
}

/// `s` as a Rust raw string literal with enough `#`s.
pub fn raw(s: &str) -> String {
    let mut hashes = 1;
    while s.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("r{h}\"{s}\"{h}")
}

/// A filter tree built from fuzz bytes, always one the grammar can express (numbers stay
/// inside the binary64 range): names start
/// with a letter, no value path inside a value path, `And`/`Or` have two or more operands,
/// and nesting stays under the parser's depth limit.
pub struct ArbFilter(pub Filter);

/// Prints the tree's text (the reproduction: parse it and compare) and the tree.
impl fmt::Debug for ArbFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "let printed = {};", raw(&self.0.to_string()))?;
        writeln!(f, "// tree: {:?}", self.0)
    }
}

impl<'a> Arbitrary<'a> for ArbFilter {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(ArbFilter(filter(u, 0, false)?))
    }
}

const NAMES: &[&str] = &[
    "userName", "emails", "value", "type", "not", "and", "or", "pr", "eq", "true", "null", "name",
    "a", "A-b_9", "members", "urn", "x",
];
const URIS: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:a",
    "u.1:b-c",
];
const OPS: &[CompareOp] = &[
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
    CompareOp::Gt,
    CompareOp::Lt,
    CompareOp::Ge,
    CompareOp::Le,
];
/// Nesting allowed to the generator: below the default `max_depth` of 64.
const MAX_GEN_DEPTH: usize = 40;

fn name(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    if u.ratio(3, 4)? {
        return Ok(u.choose(NAMES)?.to_string());
    }
    let first = *u.choose(b"abcXYZ")? as char;
    let len = u.int_in_range(0..=6)?;
    let mut s = String::from(first);
    for _ in 0..len {
        s.push(*u.choose(b"az09-_Z")? as char);
    }
    Ok(s)
}

fn attr_path(u: &mut Unstructured<'_>) -> arbitrary::Result<AttrPath> {
    Ok(AttrPath {
        uri: if u.ratio(1, 5)? {
            Some(u.choose(URIS)?.to_string())
        } else {
            None
        },
        name: name(u)?,
        sub_attr: if u.ratio(1, 4)? { Some(name(u)?) } else { None },
        span: Span::default(),
    })
}

fn number(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let mut s = String::new();
    if u.arbitrary()? {
        s.push('-');
    }
    let int: u64 = u.arbitrary()?;
    s.push_str(&int.to_string());
    if u.arbitrary()? {
        s.push('.');
        s.push_str(&u.int_in_range(0u32..=99_999)?.to_string());
    }
    if u.arbitrary()? {
        s.push(*u.choose(&['e', 'E'])?);
        s.push_str(u.choose(&["", "+", "-"])?);
        s.push_str(&u.int_in_range(0u32..=280)?.to_string());
    }
    Ok(s)
}

fn literal(u: &mut Unstructured<'_>) -> arbitrary::Result<LiteralValue> {
    Ok(match u.int_in_range(0..=4)? {
        0 => LiteralValue::Null,
        1 => LiteralValue::Bool(u.arbitrary()?),
        2 => LiteralValue::Number(number(u)?),
        _ => LiteralValue::String(u.arbitrary()?),
    })
}

fn leaf(u: &mut Unstructured<'_>) -> arbitrary::Result<FilterKind> {
    let path = attr_path(u)?;
    if u.ratio(1, 5)? {
        return Ok(FilterKind::Present { path });
    }
    Ok(FilterKind::Compare {
        path,
        op: *u.choose(OPS)?,
        value: Literal {
            value: literal(u)?,
            span: Span::default(),
        },
    })
}

fn filter(u: &mut Unstructured<'_>, depth: usize, in_brackets: bool) -> arbitrary::Result<Filter> {
    let kind = if depth >= MAX_GEN_DEPTH || u.is_empty() {
        leaf(u)?
    } else {
        match u.int_in_range(0..=5)? {
            0 | 1 => leaf(u)?,
            2 | 3 => {
                let n = u.int_in_range(2..=4)?;
                let items = (0..n)
                    .map(|_| filter(u, depth + 1, in_brackets))
                    .collect::<arbitrary::Result<Vec<_>>>()?;
                if u.arbitrary()? {
                    FilterKind::And(items)
                } else {
                    FilterKind::Or(items)
                }
            }
            4 => FilterKind::Not(Box::new(filter(u, depth + 1, in_brackets)?)),
            _ if in_brackets => leaf(u)?,
            _ => FilterKind::ValuePath {
                path: attr_path(u)?,
                filter: Box::new(filter(u, depth + 1, true)?),
            },
        }
    };
    Ok(Filter {
        kind,
        span: Span::default(),
    })
}
