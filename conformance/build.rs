//! Registers every IdP request variant under `corpus/idp/<idp>/<variant>.json`: writes
//! `$OUT_DIR/idp_corpus.rs` with each file's name and text (embedded with `include_str!`)
//! and one case runner per file, so a new file joins the catalog without code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest.join("../corpus/idp");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for idp in sorted_entries(&root) {
        if !idp.is_dir() {
            continue;
        }
        println!("cargo:rerun-if-changed={}", idp.display());
        let idp_name = file_name(&idp);
        for file in sorted_entries(&idp) {
            if file.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            files.push((format!("{idp_name}/{stem}"), file));
        }
    }
    let mut out = String::from("/// Every IdP variant file: `(idp/name, text)`, sorted by name.\n");
    out.push_str("pub const CORPUS: &[(&str, &str)] = &[\n");
    for (name, path) in &files {
        let path = path.canonicalize().unwrap_or_else(|_| path.clone());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("write to a String");
    }
    out.push_str("];\n\n/// One runner per entry of [`CORPUS`], same order.\n");
    out.push_str("pub const RUNNERS: &[crate::case::CaseFn] = &[\n");
    for i in 0..files.len() {
        writeln!(out, "    run_variant_case::<{i}>,").expect("write to a String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("idp_corpus.rs");
    std::fs::write(&dest, out).expect("write idp_corpus.rs");
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(read) => read.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => panic!("cannot read {}: {e}", dir.display()),
    };
    entries.sort();
    entries
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned()
}
