//! PatchOp documents, their dialects, and applying them to a resource.
