//! `scim-parser`: the SCIM 2.0 core without any I/O.
//!
//! This crate owns the RFC 7644 filter grammar (section 3.4.2.2, read with errata 4690
//! and 7322), attribute paths, PATCH paths (section 3.5.2), the RFC 7643 schema model,
//! filter evaluation on JSON resources and PATCH application. It depends on nothing that
//! talks to a network.
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

pub mod error;
pub mod eval;
pub mod filter;
pub mod json;
pub mod patch;
pub mod path;
pub mod schema;

pub use error::{Error, ErrorKind, Span};
pub use filter::{
    parse_filter, parse_filter_with, AttrPath, CompareOp, Filter, FilterKind, Literal,
    LiteralValue, ParseOptions,
};
pub use path::{parse_patch_path, parse_patch_path_with, PatchPath};
pub use schema::{Attribute, AttributeType, Resolved, ResourceSchema, Schema, SchemaError};
