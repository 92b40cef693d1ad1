//! The RFC 7643 attribute model and the core User, Group and EnterpriseUser schemas.
