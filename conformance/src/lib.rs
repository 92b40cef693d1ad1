//! `scim-conformance`: fires RFC 7644 and IdP-specific requests at a SCIM server and
//! reports what it does wrong.
