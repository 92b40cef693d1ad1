//! The RFC 7643 attribute model and the core User, Group and EnterpriseUser schemas.
//!
//! This module owns:
//! - [`Attribute`] and [`Schema`]: the characteristics of RFC 7643 section 2.2 and the schema
//!   representation of section 7, loaded from the JSON a server publishes at `/Schemas`
//!   ([`Schema::from_json`], [`Schema::list_from_json`]);
//! - the built-in schemas of RFC 7643 section 8.7.1 and the resource types of section 8.6,
//!   kept as JSON data ([`builtin`]), the same text a server can publish;
//! - [`ResourceSchema`]: one resource type's view (core schema, extensions and the common
//!   attributes of section 3.1) that resolves attribute paths ([`ResourceSchema::resolve`]).
//!
//! # Divergences from the RFC 7643 section 8.7.1 listing
//!
//! - `addresses` carries a `primary` sub-attribute. Section 4.1.2 describes it for every
//!   multi-valued attribute, but the JSON listing of section 8.7.1 omits it; Okta filters on
//!   `addresses[primary eq true]`.
//! - `members` carries a `display` sub-attribute (immutable). The listing omits it, but the
//!   examples of RFC 7644 section 3.5.2 and every major IdP send it.
//! - The User resource type lists the enterprise extension with `"required": false` (the
//!   example in section 8.6 says `true`, which would make every User without the extension
//!   invalid).
//! - The common attributes `id`, `externalId` and `meta` (section 3.1) are not part of any
//!   published schema; they live in an internal schema that every [`ResourceSchema`]
//!   consults first.
//!
//! ```
//! use scim_parser::{parse_filter, FilterKind, ResourceSchema};
//! let user = ResourceSchema::user();
//! let f = parse_filter("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr").unwrap();
//! let FilterKind::Present { path } = &f.kind else { unreachable!() };
//! let attr = user.resolve(path).unwrap().target().unwrap();
//! assert_eq!(attr.name, "value");
//! assert!(!attr.case_exact);
//! ```

use crate::filter::AttrPath;
use serde_json::{Map, Value};
use std::fmt;

/// The data type of an attribute (RFC 7643 section 2.3).
///
/// ```
/// use scim_parser::{AttributeType, Schema};
/// let user = Schema::user();
/// assert_eq!(user.attribute("active").unwrap().kind, AttributeType::Boolean);
/// assert_eq!(user.attribute("emails").unwrap().kind, AttributeType::Complex);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// `string` (section 2.3.1)
    String,
    /// `boolean` (section 2.3.2)
    Boolean,
    /// `decimal` (section 2.3.3)
    Decimal,
    /// `integer` (section 2.3.4)
    Integer,
    /// `dateTime`, an RFC 3339 `date-time` (section 2.3.5)
    DateTime,
    /// `binary`, base64 text (section 2.3.6)
    Binary,
    /// `reference`, a URI (section 2.3.7)
    Reference,
    /// `complex`, an object of sub-attributes (section 2.3.8)
    Complex,
}

/// When an attribute may be changed (RFC 7643 section 7, `mutability`).
///
/// ```
/// use scim_parser::schema::{Mutability, Schema};
/// assert_eq!(Schema::common().attribute("id").unwrap().mutability, Mutability::ReadOnly);
/// assert_eq!(Schema::user().attribute("password").unwrap().mutability, Mutability::WriteOnly);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// `readOnly`: set by the service provider only.
    ReadOnly,
    /// `readWrite`: the default.
    ReadWrite,
    /// `immutable`: may be set once, then never changed.
    Immutable,
    /// `writeOnly`: may be set, never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 section 7, `returned`).
///
/// ```
/// use scim_parser::schema::{Returned, Schema};
/// assert_eq!(Schema::user().attribute("password").unwrap().returned, Returned::Never);
/// assert_eq!(Schema::common().attribute("id").unwrap().returned, Returned::Always);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Returned {
    /// `always`: returned whatever `attributes`/`excludedAttributes` say.
    Always,
    /// `never`: never returned.
    Never,
    /// `default`: returned unless excluded.
    Default,
    /// `request`: returned only when asked for in `attributes`.
    Request,
}

/// How unique a value must be (RFC 7643 section 7, `uniqueness`).
///
/// ```
/// use scim_parser::schema::{Schema, Uniqueness};
/// assert_eq!(Schema::user().attribute("userName").unwrap().uniqueness, Uniqueness::Server);
/// assert_eq!(Schema::user().attribute("title").unwrap().uniqueness, Uniqueness::None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    /// `none`
    None,
    /// `server`: unique within the service provider.
    Server,
    /// `global`: globally unique.
    Global,
}

/// One attribute definition with its characteristics (RFC 7643 sections 2.2 and 7).
///
/// Characteristics absent from the JSON take the defaults of section 2.2: type `string`,
/// not required, `caseExact` false, `readWrite`, returned `default`, uniqueness `none`.
///
/// ```
/// use scim_parser::Schema;
/// let emails = Schema::user().attribute("EMAILS").unwrap().clone();
/// assert!(emails.multi_valued && !emails.required);
/// assert_eq!(emails.sub_attribute("type").unwrap().canonical_values, ["work", "home", "other"]);
/// let ext = Schema::enterprise_user();
/// let manager = ext.attribute("manager").unwrap();
/// assert_eq!(manager.sub_attribute("$ref").unwrap().reference_types, ["User"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    /// The attribute name, as the schema spells it.
    pub name: String,
    /// The data type.
    pub kind: AttributeType,
    /// Whether the attribute holds an array of values.
    pub multi_valued: bool,
    /// The human-readable description, if any.
    pub description: Option<String>,
    /// Whether the attribute is required.
    pub required: bool,
    /// Whether string comparison respects case.
    pub case_exact: bool,
    /// When the attribute may change.
    pub mutability: Mutability,
    /// When the attribute is returned.
    pub returned: Returned,
    /// How unique values must be.
    pub uniqueness: Uniqueness,
    /// The suggested values (for example `work`, `home`).
    pub canonical_values: Vec<String>,
    /// For `reference` attributes, what they may point to (`User`, `external`, `uri`, ...).
    pub reference_types: Vec<String>,
    /// For `complex` attributes, the sub-attributes.
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// The sub-attribute called `name`, compared case-insensitively (RFC 7643 section 2.1).
    ///
    /// ```
    /// let name = scim_parser::Schema::user().attribute("name").unwrap().clone();
    /// assert_eq!(name.sub_attribute("GIVENNAME").unwrap().name, "givenName");
    /// assert!(name.sub_attribute("nope").is_none());
    /// ```
    pub fn sub_attribute(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Parses one attribute definition; `pointer` names where it stands, for errors.
    fn from_json(value: &Value, pointer: &str) -> Result<Attribute, SchemaError> {
        let obj = expect_object(value, pointer)?;
        let name = required_string(obj, pointer, "name")?;
        let kind = match optional_string(obj, pointer, "type")? {
            None => AttributeType::String,
            Some(t) => parse_type(&t).ok_or_else(|| {
                SchemaError::new(
                    format!("{pointer}/type"),
                    format!("expected one of string, boolean, decimal, integer, dateTime, binary, reference, complex, found {t:?}"),
                )
            })?,
        };
        let mutability = match optional_string(obj, pointer, "mutability")? {
            None => Mutability::ReadWrite,
            Some(m) => parse_mutability(&m).ok_or_else(|| {
                SchemaError::new(
                    format!("{pointer}/mutability"),
                    format!(
                        "expected one of readOnly, readWrite, immutable, writeOnly, found {m:?}"
                    ),
                )
            })?,
        };
        let returned = match optional_string(obj, pointer, "returned")? {
            None => Returned::Default,
            Some(r) => parse_returned(&r).ok_or_else(|| {
                SchemaError::new(
                    format!("{pointer}/returned"),
                    format!("expected one of always, never, default, request, found {r:?}"),
                )
            })?,
        };
        let uniqueness = match optional_string(obj, pointer, "uniqueness")? {
            None => Uniqueness::None,
            Some(u) => parse_uniqueness(&u).ok_or_else(|| {
                SchemaError::new(
                    format!("{pointer}/uniqueness"),
                    format!("expected one of none, server, global, found {u:?}"),
                )
            })?,
        };
        let sub_attributes = match obj.get("subAttributes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Attribute::from_json(v, &format!("{pointer}/subAttributes/{i}")))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(SchemaError::new(
                    format!("{pointer}/subAttributes"),
                    format!("expected an array, found {}", json_kind(other)),
                ))
            }
        };
        Ok(Attribute {
            name,
            kind,
            multi_valued: optional_bool(obj, pointer, "multiValued")?.unwrap_or(false),
            description: optional_string(obj, pointer, "description")?,
            required: optional_bool(obj, pointer, "required")?.unwrap_or(false),
            case_exact: optional_bool(obj, pointer, "caseExact")?.unwrap_or(false),
            mutability,
            returned,
            uniqueness,
            canonical_values: string_array(obj, pointer, "canonicalValues")?,
            reference_types: string_array(obj, pointer, "referenceTypes")?,
            sub_attributes,
        })
    }
}

/// A schema: its URN and its attributes (RFC 7643 section 7).
///
/// ```
/// let group = scim_parser::Schema::group();
/// assert_eq!(group.id, "urn:ietf:params:scim:schemas:core:2.0:Group");
/// let names: Vec<&str> = group.attributes.iter().map(|a| a.name.as_str()).collect();
/// assert_eq!(names, ["displayName", "members"]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// The schema URN, for example `urn:ietf:params:scim:schemas:core:2.0:User`.
    pub id: String,
    /// The human-readable name, if any.
    pub name: Option<String>,
    /// The description, if any.
    pub description: Option<String>,
    /// The top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// Loads a schema from the JSON a server publishes at `/Schemas/{id}`.
    ///
    /// ```
    /// use scim_parser::schema::Schema;
    /// let json = serde_json::json!({
    ///     "id": "urn:example:schemas:Device",
    ///     "attributes": [{"name": "serial", "type": "string", "caseExact": true}]
    /// });
    /// let schema = Schema::from_json(&json).unwrap();
    /// assert!(schema.attribute("SERIAL").unwrap().case_exact);
    ///
    /// let bad = serde_json::json!({"id": "urn:x", "attributes": [{"name": "a", "type": "text"}]});
    /// let err = Schema::from_json(&bad).unwrap_err();
    /// assert_eq!(err.pointer, "/attributes/0/type");
    /// ```
    pub fn from_json(value: &Value) -> Result<Schema, SchemaError> {
        Schema::from_json_at(value, "")
    }

    /// Loads a schema from JSON text (see [`Schema::from_json`]).
    ///
    /// ```
    /// use scim_parser::Schema;
    /// let s = Schema::from_json_str(r#"{"id": "urn:x:Badge", "attributes": []}"#).unwrap();
    /// assert_eq!(s.id, "urn:x:Badge");
    /// let err = Schema::from_json_str("{").unwrap_err();
    /// assert!(err.to_string().starts_with("schema document: invalid JSON"));
    /// ```
    pub fn from_json_str(text: &str) -> Result<Schema, SchemaError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| SchemaError::new(String::new(), format!("invalid JSON: {e}")))?;
        Schema::from_json(&value)
    }

    /// Loads every schema from a `/Schemas` response: a ListResponse (`Resources`), a bare
    /// array of schemas, or one schema.
    ///
    /// ```
    /// use scim_parser::Schema;
    /// let list = serde_json::json!({
    ///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
    ///     "Resources": [{"id": "urn:x:A"}, {"id": "urn:x:B", "attributes": "none"}]
    /// });
    /// let err = Schema::list_from_json(&list).unwrap_err();
    /// assert_eq!(err.pointer, "/Resources/1/attributes");
    /// ```
    pub fn list_from_json(value: &Value) -> Result<Vec<Schema>, SchemaError> {
        let (items, base) = match value {
            Value::Array(items) => (items, String::new()),
            Value::Object(obj) => match get_ci(obj, "Resources") {
                Some((key, Value::Array(items))) => (items, format!("/{}", escape_pointer(key))),
                Some((key, other)) => {
                    return Err(SchemaError::new(
                        format!("/{}", escape_pointer(key)),
                        format!("expected an array, found {}", json_kind(other)),
                    ))
                }
                None => return Ok(vec![Schema::from_json(value)?]),
            },
            other => {
                return Err(SchemaError::new(
                    String::new(),
                    format!(
                        "expected a ListResponse, an array or a schema, found {}",
                        json_kind(other)
                    ),
                ))
            }
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| Schema::from_json_at(v, &format!("{base}/{i}")))
            .collect()
    }

    fn from_json_at(value: &Value, pointer: &str) -> Result<Schema, SchemaError> {
        let obj = expect_object(value, pointer)?;
        let id = required_string(obj, pointer, "id")?;
        let attributes = match obj.get("attributes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Attribute::from_json(v, &format!("{pointer}/attributes/{i}")))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(SchemaError::new(
                    format!("{pointer}/attributes"),
                    format!("expected an array, found {}", json_kind(other)),
                ))
            }
        };
        Ok(Schema {
            id,
            name: optional_string(obj, pointer, "name")?,
            description: optional_string(obj, pointer, "description")?,
            attributes,
        })
    }

    /// The top-level attribute called `name`, compared case-insensitively.
    ///
    /// ```
    /// let user = scim_parser::Schema::user();
    /// assert_eq!(user.attribute("username").unwrap().name, "userName");
    /// ```
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The core User schema (RFC 7643 section 8.7.1).
    ///
    /// ```
    /// let user = scim_parser::Schema::user();
    /// assert!(user.attribute("userName").unwrap().required);
    /// assert_eq!(user.attributes.len(), 21);
    /// ```
    pub fn user() -> Schema {
        builtin_schema(builtin::USER)
    }

    /// The core Group schema (RFC 7643 section 8.7.1).
    ///
    /// ```
    /// let members = scim_parser::Schema::group().attribute("members").unwrap().clone();
    /// assert!(members.multi_valued);
    /// assert!(members.sub_attribute("value").is_some());
    /// ```
    pub fn group() -> Schema {
        builtin_schema(builtin::GROUP)
    }

    /// The Enterprise User extension (RFC 7643 section 8.7.1).
    ///
    /// ```
    /// let ext = scim_parser::Schema::enterprise_user();
    /// assert_eq!(ext.id, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    /// assert!(ext.attribute("employeeNumber").is_some());
    /// ```
    pub fn enterprise_user() -> Schema {
        builtin_schema(builtin::ENTERPRISE_USER)
    }

    /// The common attributes `id`, `externalId` and `meta` (RFC 7643 section 3.1).
    ///
    /// ```
    /// let common = scim_parser::Schema::common();
    /// assert!(common.attribute("externalId").unwrap().case_exact);
    /// assert!(common.attribute("meta").unwrap().sub_attribute("lastModified").is_some());
    /// ```
    pub fn common() -> Schema {
        builtin_schema(builtin::COMMON)
    }
}

/// The built-in JSON documents, exactly what a server publishes at `/Schemas` and
/// `/ResourceTypes` (with `meta.location` relative to a `/v2` base).
///
/// ```
/// use scim_parser::schema::{builtin, Schema};
/// let user = Schema::from_json_str(builtin::USER).unwrap();
/// assert_eq!(user.id, builtin::USER_URN);
/// ```
pub mod builtin {
    /// `urn:ietf:params:scim:schemas:core:2.0:User`
    ///
    /// ```
    /// let s = scim_parser::Schema::from_json_str(scim_parser::schema::builtin::USER).unwrap();
    /// assert_eq!(s, scim_parser::Schema::user());
    /// ```
    pub const USER: &str = include_str!("schemas/user.json");
    /// `urn:ietf:params:scim:schemas:core:2.0:Group`
    ///
    /// ```
    /// let s = scim_parser::Schema::from_json_str(scim_parser::schema::builtin::GROUP).unwrap();
    /// assert_eq!(s, scim_parser::Schema::group());
    /// ```
    pub const GROUP: &str = include_str!("schemas/group.json");
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`
    ///
    /// ```
    /// let s = scim_parser::Schema::from_json_str(scim_parser::schema::builtin::ENTERPRISE_USER).unwrap();
    /// assert_eq!(s, scim_parser::Schema::enterprise_user());
    /// ```
    pub const ENTERPRISE_USER: &str = include_str!("schemas/enterprise_user.json");
    /// The common attributes (RFC 7643 section 3.1); internal, not to be published.
    ///
    /// ```
    /// let s = scim_parser::Schema::from_json_str(scim_parser::schema::builtin::COMMON).unwrap();
    /// assert!(s.attribute("meta").is_some());
    /// ```
    pub const COMMON: &str = include_str!("schemas/common.json");
    /// The `User` resource type, with the enterprise extension.
    ///
    /// ```
    /// let rt: serde_json::Value = serde_json::from_str(scim_parser::schema::builtin::RESOURCE_TYPE_USER).unwrap();
    /// assert_eq!(rt["endpoint"], "/Users");
    /// ```
    pub const RESOURCE_TYPE_USER: &str = include_str!("schemas/resource_type_user.json");
    /// The `Group` resource type.
    ///
    /// ```
    /// let rt: serde_json::Value = serde_json::from_str(scim_parser::schema::builtin::RESOURCE_TYPE_GROUP).unwrap();
    /// assert_eq!(rt["schema"], scim_parser::schema::builtin::GROUP_URN);
    /// ```
    pub const RESOURCE_TYPE_GROUP: &str = include_str!("schemas/resource_type_group.json");

    /// URN of the core User schema.
    ///
    /// ```
    /// assert_eq!(scim_parser::Schema::user().id, scim_parser::schema::builtin::USER_URN);
    /// ```
    pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
    /// URN of the core Group schema.
    ///
    /// ```
    /// assert_eq!(scim_parser::Schema::group().id, scim_parser::schema::builtin::GROUP_URN);
    /// ```
    pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
    /// URN of the Enterprise User extension.
    ///
    /// ```
    /// use scim_parser::schema::builtin::ENTERPRISE_USER_URN;
    /// assert!(scim_parser::ResourceSchema::user().extension(ENTERPRISE_USER_URN).is_some());
    /// ```
    pub const ENTERPRISE_USER_URN: &str =
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
}

fn builtin_schema(text: &str) -> Schema {
    // The built-in JSON is part of the crate and covered by tests; failing here is a bug in
    // the crate, not bad input.
    match Schema::from_json_str(text) {
        Ok(schema) => schema,
        Err(e) => panic!("built-in schema is invalid: {e}"),
    }
}

/// An extension schema attached to a resource type.
///
/// ```
/// let user = scim_parser::ResourceSchema::user();
/// assert_eq!(user.extensions[0].schema.id, scim_parser::schema::builtin::ENTERPRISE_USER_URN);
/// assert!(!user.extensions[0].required);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Extension {
    /// The extension schema.
    pub schema: Schema,
    /// Whether every resource of the type must carry it.
    pub required: bool,
}

/// One resource type's attribute view: core schema, extensions and common attributes.
///
/// ```
/// use scim_parser::schema::{Resolved, ResourceSchema};
/// use scim_parser::AttrPath;
/// let user = ResourceSchema::user();
/// let path = AttrPath {
///     uri: Some("URN:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
///     name: "MANAGER".into(),
///     sub_attr: Some("value".into()),
///     span: Default::default(),
/// };
/// match user.resolve(&path) {
///     Some(Resolved::Attribute { attribute, sub_attribute, extension, .. }) => {
///         assert_eq!(attribute.name, "manager");
///         assert_eq!(sub_attribute.unwrap().name, "value");
///         assert!(extension);
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSchema {
    /// The resource type name, for example `User`.
    pub name: String,
    /// The endpoint, for example `/Users`.
    pub endpoint: String,
    /// The core (default) schema.
    pub core: Schema,
    /// The extension schemas.
    pub extensions: Vec<Extension>,
    /// The common attributes (RFC 7643 section 3.1).
    pub common: Schema,
}

/// What an attribute path resolved to.
///
/// ```
/// use scim_parser::{parse_patch_path, Resolved, ResourceSchema};
/// let user = ResourceSchema::user();
/// let p = parse_patch_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
/// assert!(matches!(user.resolve(&p.attr), Some(Resolved::Extension { .. })));
/// let p = parse_patch_path("manager").unwrap();
/// assert!(matches!(user.resolve(&p.attr), Some(Resolved::Attribute { extension: true, .. })));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Resolved<'a> {
    /// An attribute, and possibly one of its sub-attributes.
    Attribute {
        /// The schema that defines the attribute.
        schema: &'a Schema,
        /// Whether that schema is an extension (its attributes live in an object keyed by
        /// the schema URN, RFC 7643 section 3.3).
        extension: bool,
        /// The attribute.
        attribute: &'a Attribute,
        /// The sub-attribute, when the path names one.
        sub_attribute: Option<&'a Attribute>,
    },
    /// A bare extension URN: the whole extension object.
    Extension {
        /// The extension schema.
        schema: &'a Schema,
    },
}

impl<'a> Resolved<'a> {
    /// The innermost attribute named: the sub-attribute if there is one, else the
    /// attribute; `None` for a whole extension.
    ///
    /// ```
    /// use scim_parser::{parse_patch_path, ResourceSchema};
    /// let user = ResourceSchema::user();
    /// let p = parse_patch_path("name.familyName").unwrap();
    /// assert_eq!(user.resolve(&p.attr).unwrap().target().unwrap().name, "familyName");
    /// ```
    pub fn target(&self) -> Option<&'a Attribute> {
        match self {
            Resolved::Attribute {
                attribute,
                sub_attribute,
                ..
            } => Some(sub_attribute.unwrap_or(attribute)),
            Resolved::Extension { .. } => None,
        }
    }
}

impl ResourceSchema {
    /// A resource type from its parts.
    ///
    /// ```
    /// use scim_parser::schema::{ResourceSchema, Schema};
    /// let device = Schema::from_json(&serde_json::json!({
    ///     "id": "urn:example:Device", "attributes": [{"name": "serial"}]
    /// })).unwrap();
    /// let rt = ResourceSchema::new("Device", "/Devices", device, Vec::new());
    /// // The common attributes come with every resource type.
    /// assert!(rt.resolve(&scim_parser::parse_patch_path("id").unwrap().attr).is_some());
    /// ```
    pub fn new(name: &str, endpoint: &str, core: Schema, extensions: Vec<Extension>) -> Self {
        ResourceSchema {
            name: name.to_string(),
            endpoint: endpoint.to_string(),
            core,
            extensions,
            common: Schema::common(),
        }
    }

    /// The `User` resource type: core User plus the Enterprise User extension.
    ///
    /// ```
    /// let user = scim_parser::ResourceSchema::user();
    /// assert_eq!((user.name.as_str(), user.endpoint.as_str()), ("User", "/Users"));
    /// ```
    pub fn user() -> Self {
        ResourceSchema::new(
            "User",
            "/Users",
            Schema::user(),
            vec![Extension {
                schema: Schema::enterprise_user(),
                required: false,
            }],
        )
    }

    /// The `Group` resource type.
    ///
    /// ```
    /// let group = scim_parser::ResourceSchema::group();
    /// assert_eq!(group.endpoint, "/Groups");
    /// assert!(group.extensions.is_empty());
    /// ```
    pub fn group() -> Self {
        ResourceSchema::new("Group", "/Groups", Schema::group(), Vec::new())
    }

    /// Builds a resource type from its `/ResourceTypes` JSON and the schemas it names
    /// (for example from [`Schema::list_from_json`]).
    ///
    /// ```
    /// use scim_parser::schema::{builtin, ResourceSchema, Schema};
    /// let schemas = [Schema::user(), Schema::enterprise_user()];
    /// let rt: serde_json::Value = serde_json::from_str(builtin::RESOURCE_TYPE_USER).unwrap();
    /// let user = ResourceSchema::from_resource_type_json(&rt, &schemas).unwrap();
    /// assert_eq!(user, ResourceSchema::user());
    /// let err = ResourceSchema::from_resource_type_json(&rt, &schemas[..1]).unwrap_err();
    /// assert_eq!(err.pointer, "/schemaExtensions/0/schema");
    /// ```
    pub fn from_resource_type_json(
        resource_type: &Value,
        schemas: &[Schema],
    ) -> Result<ResourceSchema, SchemaError> {
        let obj = expect_object(resource_type, "")?;
        let name = required_string(obj, "", "name")?;
        let endpoint = optional_string(obj, "", "endpoint")?.unwrap_or_default();
        let core_id = required_string(obj, "", "schema")?;
        let find = |id: &str, pointer: String| {
            schemas
                .iter()
                .find(|s| s.id.eq_ignore_ascii_case(id))
                .cloned()
                .ok_or_else(|| {
                    SchemaError::new(
                        pointer,
                        format!("schema {id:?} is not among the schemas given"),
                    )
                })
        };
        let core = find(&core_id, "/schema".to_string())?;
        let mut extensions = Vec::new();
        match obj.get("schemaExtensions") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let pointer = format!("/schemaExtensions/{i}");
                    let ext = expect_object(item, &pointer)?;
                    let id = required_string(ext, &pointer, "schema")?;
                    let required = optional_bool(ext, &pointer, "required")?.unwrap_or(false);
                    extensions.push(Extension {
                        schema: find(&id, format!("{pointer}/schema"))?,
                        required,
                    });
                }
            }
            Some(other) => {
                return Err(SchemaError::new(
                    "/schemaExtensions".to_string(),
                    format!("expected an array, found {}", json_kind(other)),
                ))
            }
        }
        Ok(ResourceSchema::new(&name, &endpoint, core, extensions))
    }

    /// Builds every resource type of a `/ResourceTypes` response (a ListResponse, a bare
    /// array, or one resource type) against the schemas it names.
    ///
    /// ```
    /// use scim_parser::schema::{builtin, ResourceSchema, Schema};
    /// let types: serde_json::Value = serde_json::from_str(&format!(
    ///     "[{}, {}]", builtin::RESOURCE_TYPE_USER, builtin::RESOURCE_TYPE_GROUP
    /// )).unwrap();
    /// let schemas = [Schema::user(), Schema::group(), Schema::enterprise_user()];
    /// let all = ResourceSchema::list_from_json(&types, &schemas).unwrap();
    /// assert_eq!(all, [ResourceSchema::user(), ResourceSchema::group()]);
    /// ```
    pub fn list_from_json(
        resource_types: &Value,
        schemas: &[Schema],
    ) -> Result<Vec<ResourceSchema>, SchemaError> {
        let (items, base): (Vec<&Value>, String) = match resource_types {
            Value::Array(items) => (items.iter().collect(), String::new()),
            Value::Object(obj) => match get_ci(obj, "Resources") {
                Some((key, Value::Array(items))) => {
                    (items.iter().collect(), format!("/{}", escape_pointer(key)))
                }
                Some((key, other)) => {
                    return Err(SchemaError::new(
                        format!("/{}", escape_pointer(key)),
                        format!("expected an array, found {}", json_kind(other)),
                    ))
                }
                None => (vec![resource_types], String::new()),
            },
            other => {
                return Err(SchemaError::new(
                    String::new(),
                    format!(
                        "expected a ListResponse, an array or a resource type, found {}",
                        json_kind(other)
                    ),
                ))
            }
        };
        let single = base.is_empty() && !resource_types.is_array();
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                ResourceSchema::from_resource_type_json(item, schemas).map_err(|mut e| {
                    if !single {
                        e.pointer = format!("{base}/{i}{}", e.pointer);
                    }
                    e
                })
            })
            .collect()
    }

    /// The extension whose URN is `urn` (case-insensitive).
    ///
    /// ```
    /// let user = scim_parser::ResourceSchema::user();
    /// assert!(user.extension("URN:IETF:params:scim:schemas:extension:enterprise:2.0:User").is_some());
    /// assert!(user.extension("urn:ietf:params:scim:schemas:core:2.0:User").is_none());
    /// ```
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .map(|e| &e.schema)
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` names the core schema or one of the extensions (case-insensitive).
    ///
    /// ```
    /// let group = scim_parser::ResourceSchema::group();
    /// assert!(group.knows_schema("urn:ietf:params:scim:schemas:core:2.0:group"));
    /// assert!(!group.knows_schema("urn:ietf:params:scim:schemas:core:2.0:User"));
    /// ```
    pub fn knows_schema(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn) || self.extension(urn).is_some()
    }

    /// Resolves an attribute path (RFC 7644 section 3.10).
    ///
    /// - Names and URNs compare case-insensitively.
    /// - Without a URN, the common attributes and then the core schema are searched. If
    ///   neither defines the name, the extensions are searched, and the name resolves when
    ///   exactly one extension defines it. (RFC 7644 section 3.10 only promises that the
    ///   core schema's attributes may be written without a URN; Entra writes `manager`
    ///   unqualified, so this fallback is deliberate.)
    /// - With a URN, the schema with that id is searched; the core URN also reaches the
    ///   common attributes.
    /// - A bare extension URN (`uri` + `:` + `name` equal to an extension id, no
    ///   sub-attribute) resolves to [`Resolved::Extension`].
    /// - A sub-attribute resolves only on a complex attribute that defines it.
    ///
    /// ```
    /// use scim_parser::{parse_filter, FilterKind, ResourceSchema};
    /// let f = parse_filter(r#"EMAILS.Value eq "x""#).unwrap();
    /// let FilterKind::Compare { path, .. } = &f.kind else { unreachable!() };
    /// let user = ResourceSchema::user();
    /// let resolved = user.resolve(path).unwrap();
    /// assert_eq!(resolved.target().unwrap().name, "value");
    /// ```
    pub fn resolve(&self, path: &AttrPath) -> Option<Resolved<'_>> {
        let (schema, extension, attribute) = match &path.uri {
            None => self.resolve_unqualified(&path.name)?,
            Some(uri) => match self.resolve_qualified(uri, &path.name) {
                Some(found) => found,
                None if path.sub_attr.is_none() => {
                    let urn = format!("{uri}:{}", path.name);
                    return self
                        .extension(&urn)
                        .map(|schema| Resolved::Extension { schema });
                }
                None => return None,
            },
        };
        let sub_attribute = match &path.sub_attr {
            None => None,
            Some(sub) => Some(attribute.sub_attribute(sub)?),
        };
        Some(Resolved::Attribute {
            schema,
            extension,
            attribute,
            sub_attribute,
        })
    }

    fn resolve_unqualified(&self, name: &str) -> Option<(&Schema, bool, &Attribute)> {
        if let Some(a) = self.common.attribute(name) {
            return Some((&self.core, false, a));
        }
        if let Some(a) = self.core.attribute(name) {
            return Some((&self.core, false, a));
        }
        let mut found = self
            .extensions
            .iter()
            .filter_map(|e| e.schema.attribute(name).map(|a| (&e.schema, true, a)));
        let first = found.next()?;
        match found.next() {
            None => Some(first),
            Some(_) => None,
        }
    }

    fn resolve_qualified(&self, uri: &str, name: &str) -> Option<(&Schema, bool, &Attribute)> {
        if self.core.id.eq_ignore_ascii_case(uri) {
            let a = self
                .common
                .attribute(name)
                .or_else(|| self.core.attribute(name))?;
            return Some((&self.core, false, a));
        }
        let ext = self.extension(uri)?;
        Some((ext, true, ext.attribute(name)?))
    }
}

/// A schema that could not be loaded: where (a JSON pointer) and what was wrong.
///
/// ```
/// let bad = serde_json::json!({"id": "urn:x", "attributes": [{"type": "string"}]});
/// let err = scim_parser::Schema::from_json(&bad).unwrap_err();
/// assert_eq!(err.pointer, "/attributes/0/name");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON pointer (RFC 6901) to the offending value; empty for the document itself.
    pub pointer: String,
    /// What was expected or found.
    pub message: String,
}

impl SchemaError {
    fn new(pointer: String, message: String) -> Self {
        SchemaError { pointer, message }
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "schema document: {}", self.message)
        } else {
            write!(f, "schema at `{}`: {}", self.pointer, self.message)
        }
    }
}

impl std::error::Error for SchemaError {}

/// Looks `key` up in `obj` case-insensitively (RFC 7643 section 2.1); an exact match wins.
pub(crate) fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<(&'a str, &'a Value)> {
    if let Some((k, v)) = obj.get_key_value(key) {
        return Some((k.as_str(), v));
    }
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(k, v)| (k.as_str(), v))
}

/// The name of a JSON value's type, for messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn expect_object<'a>(
    value: &'a Value,
    pointer: &str,
) -> Result<&'a Map<String, Value>, SchemaError> {
    value.as_object().ok_or_else(|| {
        SchemaError::new(
            pointer.to_string(),
            format!("expected an object, found {}", json_kind(value)),
        )
    })
}

fn required_string(
    obj: &Map<String, Value>,
    pointer: &str,
    key: &str,
) -> Result<String, SchemaError> {
    optional_string(obj, pointer, key)?.ok_or_else(|| {
        SchemaError::new(
            format!("{pointer}/{key}"),
            "required member is missing".to_string(),
        )
    })
}

fn optional_string(
    obj: &Map<String, Value>,
    pointer: &str,
    key: &str,
) -> Result<Option<String>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(SchemaError::new(
            format!("{pointer}/{key}"),
            format!("expected a string, found {}", json_kind(other)),
        )),
    }
}

fn optional_bool(
    obj: &Map<String, Value>,
    pointer: &str,
    key: &str,
) -> Result<Option<bool>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(SchemaError::new(
            format!("{pointer}/{key}"),
            format!("expected a boolean, found {}", json_kind(other)),
        )),
    }
}

fn string_array(
    obj: &Map<String, Value>,
    pointer: &str,
    key: &str,
) -> Result<Vec<String>, SchemaError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(SchemaError::new(
                    format!("{pointer}/{key}/{i}"),
                    format!("expected a string, found {}", json_kind(other)),
                )),
            })
            .collect(),
        Some(other) => Err(SchemaError::new(
            format!("{pointer}/{key}"),
            format!("expected an array of strings, found {}", json_kind(other)),
        )),
    }
}

fn parse_type(s: &str) -> Option<AttributeType> {
    Some(match s {
        "string" => AttributeType::String,
        "boolean" => AttributeType::Boolean,
        "decimal" => AttributeType::Decimal,
        "integer" => AttributeType::Integer,
        "dateTime" => AttributeType::DateTime,
        "binary" => AttributeType::Binary,
        "reference" => AttributeType::Reference,
        "complex" => AttributeType::Complex,
        _ => return None,
    })
}

fn parse_mutability(s: &str) -> Option<Mutability> {
    Some(match s {
        "readOnly" => Mutability::ReadOnly,
        "readWrite" => Mutability::ReadWrite,
        "immutable" => Mutability::Immutable,
        "writeOnly" => Mutability::WriteOnly,
        _ => return None,
    })
}

fn parse_returned(s: &str) -> Option<Returned> {
    Some(match s {
        "always" => Returned::Always,
        "never" => Returned::Never,
        "default" => Returned::Default,
        "request" => Returned::Request,
        _ => return None,
    })
}

fn parse_uniqueness(s: &str) -> Option<Uniqueness> {
    Some(match s {
        "none" => Uniqueness::None,
        "server" => Uniqueness::Server,
        "global" => Uniqueness::Global,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(uri: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            uri: uri.map(str::to_string),
            name: name.to_string(),
            sub_attr: sub.map(str::to_string),
            span: Default::default(),
        }
    }

    #[test]
    fn builtin_schemas_load() {
        let user = Schema::user();
        assert_eq!(user.id, builtin::USER_URN);
        assert_eq!(user.attributes.len(), 21);
        let user_name = user.attribute("username").unwrap();
        assert!(user_name.required);
        assert!(!user_name.case_exact);
        assert_eq!(user_name.uniqueness, Uniqueness::Server);
        let password = user.attribute("password").unwrap();
        assert_eq!(password.mutability, Mutability::WriteOnly);
        assert_eq!(password.returned, Returned::Never);
        let emails = user.attribute("emails").unwrap();
        assert!(emails.multi_valued);
        assert_eq!(emails.kind, AttributeType::Complex);
        assert_eq!(
            emails.sub_attribute("TYPE").unwrap().canonical_values,
            ["work", "home", "other"]
        );
        assert_eq!(
            user.attribute("groups").unwrap().mutability,
            Mutability::ReadOnly
        );
        let group = Schema::group();
        assert_eq!(
            group
                .attribute("members")
                .unwrap()
                .sub_attribute("value")
                .unwrap()
                .mutability,
            Mutability::Immutable
        );
        let ent = Schema::enterprise_user();
        assert_eq!(ent.attribute("manager").unwrap().sub_attributes.len(), 3);
        let common = Schema::common();
        assert!(common.attribute("id").unwrap().case_exact);
        assert_eq!(common.attribute("id").unwrap().returned, Returned::Always);
    }

    #[test]
    fn resource_types_load_against_builtin_schemas() {
        let schemas = vec![Schema::user(), Schema::group(), Schema::enterprise_user()];
        let rt: Value = serde_json::from_str(builtin::RESOURCE_TYPE_USER).unwrap();
        let user = ResourceSchema::from_resource_type_json(&rt, &schemas).unwrap();
        assert_eq!(user, ResourceSchema::user());
        let rt: Value = serde_json::from_str(builtin::RESOURCE_TYPE_GROUP).unwrap();
        assert_eq!(
            ResourceSchema::from_resource_type_json(&rt, &schemas).unwrap(),
            ResourceSchema::group()
        );
        let err = ResourceSchema::from_resource_type_json(&rt, &schemas[..1]).unwrap_err();
        assert_eq!(err.pointer, "/schema");
    }

    #[test]
    fn resource_type_list_loads() {
        let schemas = vec![Schema::user(), Schema::group(), Schema::enterprise_user()];
        let list = json!({"Resources": [
            serde_json::from_str::<Value>(builtin::RESOURCE_TYPE_USER).unwrap(),
            serde_json::from_str::<Value>(builtin::RESOURCE_TYPE_GROUP).unwrap(),
        ]});
        let types = ResourceSchema::list_from_json(&list, &schemas).unwrap();
        assert_eq!(types, vec![ResourceSchema::user(), ResourceSchema::group()]);
        let bad = json!({"Resources": [{"name": "User", "schema": "urn:x"}]});
        let err = ResourceSchema::list_from_json(&bad, &schemas).unwrap_err();
        assert_eq!(err.pointer, "/Resources/0/schema");
        let err =
            ResourceSchema::list_from_json(&json!([{"schema": "urn:x"}]), &schemas).unwrap_err();
        assert_eq!(err.pointer, "/0/name");
    }

    #[test]
    fn list_response_loads() {
        let list = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2,
            "Resources": [
                serde_json::from_str::<Value>(builtin::USER).unwrap(),
                serde_json::from_str::<Value>(builtin::GROUP).unwrap(),
            ]
        });
        let schemas = Schema::list_from_json(&list).unwrap();
        assert_eq!(schemas, vec![Schema::user(), Schema::group()]);
        let bare = json!([{"id": "urn:a"}, {"id": "urn:b", "attributes": [{"name": "x"}]}]);
        let schemas = Schema::list_from_json(&bare).unwrap();
        assert_eq!(schemas[1].attributes[0].kind, AttributeType::String);
    }

    #[test]
    fn bad_json_names_the_pointer() {
        let cases = [
            (json!(3), "", "expected an object, found a number"),
            (
                json!({"attributes": []}),
                "/id",
                "required member is missing",
            ),
            (
                json!({"id": "urn:x", "attributes": {}}),
                "/attributes",
                "expected an array, found an object",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"type": "string"}]}),
                "/attributes/0/name",
                "required member is missing",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "multiValued": "yes"}]}),
                "/attributes/0/multiValued",
                "expected a boolean, found a string",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "mutability": "readonly"}]}),
                "/attributes/0/mutability",
                "expected one of readOnly, readWrite, immutable, writeOnly, found \"readonly\"",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "subAttributes": [{"name": "b", "returned": "sometimes"}]}]}),
                "/attributes/0/subAttributes/0/returned",
                "expected one of always, never, default, request, found \"sometimes\"",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "canonicalValues": ["x", 1]}]}),
                "/attributes/0/canonicalValues/1",
                "expected a string, found a number",
            ),
            (
                json!({"id": "urn:x", "attributes": [{"name": "a", "uniqueness": "local"}]}),
                "/attributes/0/uniqueness",
                "expected one of none, server, global, found \"local\"",
            ),
        ];
        for (input, pointer, message) in cases {
            let err = Schema::from_json(&input).unwrap_err();
            assert_eq!(
                (err.pointer.as_str(), err.message.as_str()),
                (pointer, message),
                "{input}"
            );
        }
        let err = Schema::list_from_json(&json!({"Resources": [{"id": "urn:a"}, {"id": 1}]}))
            .unwrap_err();
        assert_eq!(err.pointer, "/Resources/1/id");
        assert_eq!(
            err.to_string(),
            "schema at `/Resources/1/id`: expected a string, found a number"
        );
        assert!(Schema::from_json_str("{")
            .unwrap_err()
            .message
            .starts_with("invalid JSON"));
    }

    #[test]
    fn resolve_rules() {
        let user = ResourceSchema::user();
        let target = |p: AttrPath| {
            user.resolve(&p)
                .and_then(|r| r.target())
                .map(|a| a.name.clone())
        };
        assert_eq!(
            target(path(None, "USERNAME", None)).as_deref(),
            Some("userName")
        );
        assert_eq!(
            target(path(None, "name", Some("GIVENNAME"))).as_deref(),
            Some("givenName")
        );
        assert_eq!(target(path(None, "id", None)).as_deref(), Some("id"));
        assert_eq!(
            target(path(None, "meta", Some("lastModified"))).as_deref(),
            Some("lastModified")
        );
        assert_eq!(
            target(path(
                Some("urn:ietf:params:scim:schemas:core:2.0:user"),
                "userName",
                None
            ))
            .as_deref(),
            Some("userName")
        );
        assert_eq!(
            target(path(
                Some("URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER"),
                "employeeNumber",
                None
            ))
            .as_deref(),
            Some("employeeNumber")
        );
        // Unqualified extension attribute: unique among extensions.
        assert_eq!(
            target(path(None, "costCenter", None)).as_deref(),
            Some("costCenter")
        );
        assert_eq!(target(path(None, "nope", None)), None);
        assert_eq!(target(path(None, "userName", Some("x"))), None);
        assert_eq!(
            target(path(
                Some("urn:ietf:params:scim:schemas:core:2.0:User"),
                "costCenter",
                None
            )),
            None
        );
        // Bare extension URN.
        let bare = path(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
            "user",
            None,
        );
        match user.resolve(&bare) {
            Some(Resolved::Extension { schema }) => {
                assert_eq!(schema.id, builtin::ENTERPRISE_USER_URN)
            }
            other => panic!("{other:?}"),
        }
        assert!(ResourceSchema::group().resolve(&bare).is_none());
        match user.resolve(&path(
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            "manager",
            None,
        )) {
            Some(Resolved::Attribute {
                extension: true,
                sub_attribute: None,
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }
}
