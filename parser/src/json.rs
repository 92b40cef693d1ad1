//! The stable JSON shape of the AST, printed by `scim-conformance parse`.
