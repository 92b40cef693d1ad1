//! Filter evaluation on JSON resources (RFC 7644 section 3.4.2.2 semantics).
