//! Times one PatchOp document of N `add emails` operations (one address each) applied to
//! a User, the shape a fresh-user trial found quadratic. Measurement, not a test:
//!
//! ```text
//! cargo run --release -p scim-parser --example patch_scale -- 20000
//! ```
//!
//! Prints the document size and the parse and apply times.

use scim_parser::patch::{apply, Mode, PatchDocument};
use scim_parser::schema::ResourceSchema;
use serde_json::{json, Value};
use std::time::Instant;

fn main() {
    let n: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 20_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("patch_scale: the operation count must be a number: {e}");
            std::process::exit(2);
        }
    };
    let ops: Vec<Value> = (0..n)
        .map(|i| {
            json!({"op": "add", "path": "emails",
                   "value": [{"value": format!("user{i}@example.com"), "type": "work"}]})
        })
        .collect();
    let body =
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let text = body.to_string();
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen@example.com"
    });
    let started = Instant::now();
    let doc = PatchDocument::from_json_str(&text, Mode::Strict).expect("the document parses");
    let parsed = started.elapsed();
    let started = Instant::now();
    let applied = apply(&doc, &user, &ResourceSchema::user()).expect("the document applies");
    let applying = started.elapsed();
    let emails = applied.resource["emails"].as_array().map_or(0, Vec::len);
    assert_eq!(emails, n);
    println!(
        "{n} operations, {} bytes: parse {:.1} ms, apply {:.1} ms ({:.0} ns/operation)",
        text.len(),
        parsed.as_secs_f64() * 1e3,
        applying.as_secs_f64() * 1e3,
        applying.as_nanos() as f64 / n.max(1) as f64
    );
}
