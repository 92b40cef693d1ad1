//! What each IdP sends, and how much of it at once: the facts the simulator follows per
//! `--dialect` (with their sources, copied from the project's IdP reference), and the
//! request builders, every one filled from a `corpus/idp` variant so the simulation sends
//! the same shapes as the conformance cases.
//!
//! Source keys (MS-COMPAT, MS-TUT, MS-HOW, MS-LOGS, MS-QUAR, OKTA-REF, bug-NN) are the ones
//! the corpus files cite; NOTES-simulate.md spells them out.

use super::population::{Directory, User};
use crate::client::Request;
use crate::variants::Variant;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// The enterprise User extension URN (RFC 7643 section 4.3).
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The IdP whose requests the simulation sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Entra ID, default `scim` job.
    Entra,
    /// Entra ID with the `aadOptscim062020` flag (SCIM-compliant PATCH).
    EntraCompliant,
    /// Okta, OIN-template integration.
    Okta,
    /// OneLogin "SCIM Provisioner with SAML", default template.
    OneLogin,
}

/// A documented (or, where marked, assumed) figure with where it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fact<T> {
    /// The value the simulator uses.
    pub value: T,
    /// Where it comes from; `assumed` says the IdP does not publish it.
    pub source: &'static str,
}

/// How an IdP paces and shapes its traffic.
#[derive(Clone, Copy, Debug)]
pub struct Facts {
    /// Members per membership PATCH.
    pub batch: Fact<usize>,
    /// Whether the IdP hard-deletes users (else leavers are only deactivated).
    pub hard_deletes: Fact<bool>,
    /// Whether a group is looked up by displayName before it is created.
    pub group_lookup: Fact<bool>,
    /// Whether profile updates are a GET followed by a full PUT.
    pub update_by_put: Fact<bool>,
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Dialect, String> {
        match s {
            "entra" => Ok(Dialect::Entra),
            "entra-compliant" => Ok(Dialect::EntraCompliant),
            "okta" => Ok(Dialect::Okta),
            "onelogin" => Ok(Dialect::OneLogin),
            other => Err(format!(
                "unknown dialect `{other}`: expected entra, entra-compliant, okta or onelogin"
            )),
        }
    }
}

impl Dialect {
    /// Every dialect.
    pub const ALL: [Dialect; 4] = [
        Dialect::Entra,
        Dialect::EntraCompliant,
        Dialect::Okta,
        Dialect::OneLogin,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Entra => "entra",
            Dialect::EntraCompliant => "entra-compliant",
            Dialect::Okta => "okta",
            Dialect::OneLogin => "onelogin",
        }
    }

    /// The facts this dialect follows.
    pub fn facts(self) -> Facts {
        const ENTRA_BATCH: Fact<usize> = Fact {
            value: 100,
            source: "assumed: Entra batches several members per PATCH (MS-TUT gallery checklist) but publishes no size (idp-shapes.md section 9, gap 1)",
        };
        const ENTRA_DELETES: Fact<bool> = Fact {
            value: true,
            source: "MS-HOW: DELETE after a hard delete in Entra, never on unassignment",
        };
        const ENTRA_LOOKUP: Fact<bool> = Fact {
            value: true,
            source: "MS-TUT: groups are matched by displayName with members excluded",
        };
        const PATCH_UPDATES: Fact<bool> = Fact {
            value: false,
            source: "MS-COMPAT row 3: profile updates are PATCHes",
        };
        match self {
            Dialect::Entra | Dialect::EntraCompliant => Facts {
                batch: ENTRA_BATCH,
                hard_deletes: ENTRA_DELETES,
                group_lookup: ENTRA_LOOKUP,
                update_by_put: PATCH_UPDATES,
            },
            Dialect::Okta => Facts {
                batch: Fact {
                    value: 200,
                    source: "bug-64, okta-developer-docs PR #2105: group push sends a couple of hundred membership changes per PATCH",
                },
                hard_deletes: Fact {
                    value: false,
                    source: "OKTA-REF: Okta never DELETEs users; deprovisioning is active=false",
                },
                group_lookup: Fact {
                    value: false,
                    source: "OKTA-REF: group push creates the group (POST) and keeps its id",
                },
                update_by_put: Fact {
                    value: true,
                    source: "OKTA-REF: OIN profile updates are a GET then a PUT of the merged resource",
                },
            },
            Dialect::OneLogin => Facts {
                batch: Fact {
                    value: 1,
                    source: "bug-67, goauthentik/authentik issue #11249: OneLogin's log shows one member per PATCH",
                },
                hard_deletes: Fact {
                    value: false,
                    source: "assumed: OneLogin publishes no deprovisioning requests (idp-shapes.md section 9, gap 4)",
                },
                group_lookup: Fact {
                    value: false,
                    source: "assumed: no OneLogin group lookup is published",
                },
                update_by_put: Fact {
                    value: true,
                    source: "bug-67: OneLogin updates users with PUT",
                },
            },
        }
    }
}

/// The attributes an update changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `displayName`.
    DisplayName,
    /// `title`.
    Title,
    /// Enterprise `department`.
    Department,
    /// Enterprise `manager`.
    Manager,
    /// `active`.
    Active,
}

/// Every variant the simulator uses, parsed once.
#[derive(Clone, Debug)]
pub struct Requests {
    dialect: Dialect,
    variants: HashMap<&'static str, Variant>,
}

const USED: &[&str] = &[
    "entra/lookup-username",
    "entra/lookup-username-with-flag",
    "entra/create-user",
    "entra/default-replace-attribute",
    "entra/flag-replace-nopath",
    "entra/manager-add-string",
    "entra/default-deactivate",
    "entra/default-reactivate",
    "entra/flag-deactivate",
    "entra/flag-reactivate",
    "entra/delete-user",
    "entra/lookup-group",
    "entra/create-group",
    "entra/group-add-members",
    "entra/flag-group-add-members",
    "entra/default-group-remove-member",
    "entra/flag-group-remove-member",
    "okta/lookup-username-paged",
    "okta/create-user",
    "okta/get-user",
    "okta/put-user",
    "okta/patch-deactivate",
    "okta/patch-reactivate",
    "okta/group-push-create",
    "okta/group-add-member",
    "okta/group-rename",
    "onelogin/lookup-username",
    "onelogin/create-user",
    "onelogin/put-user",
    "onelogin/create-group",
    "onelogin/group-add-member",
    "onelogin/group-remove-member",
];

/// A request plus the name of the variant it came from.
pub type Built = Result<Request, String>;

impl Requests {
    /// Loads the variants; a missing or broken corpus file is an error naming it.
    pub fn new(dialect: Dialect) -> Result<Requests, String> {
        let mut variants = HashMap::new();
        for name in USED {
            let v = Variant::load(name).map_err(|e| format!("{e:?}"))?;
            variants.insert(*name, v);
        }
        Ok(Requests { dialect, variants })
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn fill(&self, name: &str, values: &[(&str, &str)]) -> Built {
        let variant = self
            .variants
            .get(name)
            .ok_or_else(|| format!("variant {name} is not loaded"))?;
        variant.request(values).map_err(|e| format!("{e:?}"))
    }

    /// Fills `name`, then lets `edit` change the parsed body.
    fn fill_edit(
        &self,
        name: &str,
        values: &[(&str, &str)],
        edit: impl FnOnce(&mut Value),
    ) -> Built {
        let mut request = self.fill(name, values)?;
        let mut body: Value = match &request.body {
            Some(text) => serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?,
            None => Value::Object(Map::new()),
        };
        edit(&mut body);
        request.body = Some(body.to_string());
        Ok(request)
    }

    /// The lookup filter sent before each create.
    pub fn lookup_user(&self, user: &User) -> Built {
        let name = match self.dialect {
            Dialect::Entra => "entra/lookup-username",
            Dialect::EntraCompliant => "entra/lookup-username-with-flag",
            Dialect::Okta => "okta/lookup-username-paged",
            Dialect::OneLogin => "onelogin/lookup-username",
        };
        self.fill(name, &[("user_name", &user.user_name)])
    }

    /// The create body: the variant's shape with the user's values.
    pub fn create_user(&self, dir: &Directory, user: &User) -> Built {
        let department = dir.department_name(user);
        let values = [
            ("user_name", user.user_name.as_str()),
            ("external_id", user.external_id.as_str()),
            ("given_name", user.given.as_str()),
            ("family_name", user.family.as_str()),
            ("password", "Sim-0000-pass"),
        ];
        let name = match self.dialect {
            Dialect::Entra | Dialect::EntraCompliant => "entra/create-user",
            Dialect::Okta => "okta/create-user",
            Dialect::OneLogin => "onelogin/create-user",
        };
        let dialect = self.dialect;
        self.fill_edit(name, &values, |body| {
            body["name"]["givenName"] = json!(user.given);
            body["name"]["familyName"] = json!(user.family);
            if dialect != Dialect::Okta && dialect != Dialect::OneLogin {
                body["name"]["formatted"] = json!(format!("{} {}", user.given, user.family));
            }
            body["displayName"] = json!(user.display_name);
            body["title"] = json!(user.title);
            body["active"] = json!(user.active);
            let ext = json!({"department": department, "employeeNumber": user.employee_number});
            body[ENTERPRISE] = ext;
            if let Some(schemas) = body["schemas"].as_array_mut() {
                // Okta lists only the core schema in its sample; with enterprise attributes
                // mapped it lists the extension too (RFC 7643 section 3).
                if !schemas
                    .iter()
                    .any(|s| s.as_str().is_some_and(|s| s.contains("enterprise")))
                {
                    schemas.push(json!(ENTERPRISE));
                }
            }
        })
    }

    /// The PATCH requests of an update of `fields` (PATCH dialects only).
    pub fn patch_user(
        &self,
        dir: &Directory,
        user: &User,
        id: &str,
        fields: &[Field],
        manager_id: Option<&str>,
    ) -> Result<Vec<Request>, String> {
        let mut out = Vec::new();
        let simple: Vec<(String, Value)> = fields
            .iter()
            .filter_map(|f| match f {
                Field::DisplayName => Some(("displayName".into(), json!(user.display_name))),
                Field::Title => Some(("title".into(), json!(user.title))),
                Field::Department => Some((
                    format!("{ENTERPRISE}:department"),
                    json!(dir.department_name(user)),
                )),
                Field::Manager | Field::Active => None,
            })
            .collect();
        match self.dialect {
            Dialect::Entra => {
                if !simple.is_empty() {
                    let template = self.fill(
                        "entra/default-replace-attribute",
                        &[("id", id), ("path", "p"), ("value", "v")],
                    )?;
                    let mut body: Value =
                        serde_json::from_str(template.body.as_deref().unwrap_or(""))
                            .map_err(|e| e.to_string())?;
                    let op = body["Operations"][0].clone();
                    let ops: Vec<Value> = simple
                        .iter()
                        .map(|(path, value)| {
                            let mut op = op.clone();
                            op["path"] = json!(path);
                            op["value"] = value.clone();
                            op
                        })
                        .collect();
                    body["Operations"] = Value::Array(ops);
                    let mut request = template;
                    request.body = Some(body.to_string());
                    out.push(request);
                }
            }
            Dialect::EntraCompliant => {
                if !simple.is_empty() {
                    let request = self.fill_edit(
                        "entra/flag-replace-nopath",
                        &[("id", id), ("display_name", "")],
                        |body| {
                            let map: Map<String, Value> = simple.iter().cloned().collect();
                            body["Operations"][0]["value"] = Value::Object(map);
                        },
                    )?;
                    out.push(request);
                }
            }
            Dialect::Okta | Dialect::OneLogin => {
                return Err(format!("{} updates users by PUT", self.dialect.name()))
            }
        }
        if fields.contains(&Field::Manager) {
            if let Some(manager) = manager_id {
                let compliant = self.dialect == Dialect::EntraCompliant;
                out.push(self.fill_edit(
                    "entra/manager-add-string",
                    &[("id", id), ("manager", manager)],
                    |body| {
                        if compliant {
                            // MS-COMPAT row 2: with the flag only the op casing changes.
                            body["Operations"][0]["op"] = json!("add");
                        }
                    },
                )?);
            }
        }
        if fields.contains(&Field::Active) {
            out.push(self.set_active(id, user.active)?);
        }
        Ok(out)
    }

    /// Okta's GET before a PUT.
    pub fn get_user(&self, id: &str) -> Built {
        self.fill("okta/get-user", &[("id", id)])
    }

    /// A full PUT: Okta merges the user into `current` (the GET result, read-only values
    /// echoed); OneLogin sends its template.
    pub fn put_user(
        &self,
        dir: &Directory,
        user: &User,
        id: &str,
        manager_id: Option<&str>,
        current: Option<&Value>,
    ) -> Built {
        let department = dir.department_name(user);
        let merge = |body: &mut Value| {
            body["userName"] = json!(user.user_name);
            body["externalId"] = json!(user.external_id);
            body["name"]["givenName"] = json!(user.given);
            body["name"]["familyName"] = json!(user.family);
            body["displayName"] = json!(user.display_name);
            body["title"] = json!(user.title);
            body["active"] = json!(user.active);
            let ext = &mut body[ENTERPRISE];
            if !ext.is_object() {
                *ext = json!({});
            }
            ext["department"] = json!(department);
            ext["employeeNumber"] = json!(user.employee_number);
            match manager_id {
                Some(m) => ext["manager"] = json!({"value": m}),
                None => {
                    if let Some(obj) = ext.as_object_mut() {
                        obj.remove("manager");
                    }
                }
            }
            if let Some(schemas) = body["schemas"].as_array_mut() {
                if !schemas
                    .iter()
                    .any(|s| s.as_str().is_some_and(|s| s.contains("enterprise")))
                {
                    schemas.push(json!(ENTERPRISE));
                }
            }
        };
        match self.dialect {
            Dialect::Okta => {
                let mut request = self.fill("okta/put-user", &[("id", id)])?;
                let mut body = current.cloned().unwrap_or_else(|| json!({}));
                merge(&mut body);
                request.body = Some(body.to_string());
                Ok(request)
            }
            Dialect::OneLogin => {
                let values = [
                    ("id", id),
                    ("user_name", user.user_name.as_str()),
                    ("external_id", user.external_id.as_str()),
                    ("given_name", user.given.as_str()),
                    ("family_name", user.family.as_str()),
                ];
                self.fill_edit("onelogin/put-user", &values, merge)
            }
            _ => Err(format!("{} updates users by PATCH", self.dialect.name())),
        }
    }

    /// Deactivate or reactivate (PATCH dialects and Okta; OneLogin uses [`Self::put_user`]).
    pub fn set_active(&self, id: &str, active: bool) -> Built {
        let name = match (self.dialect, active) {
            (Dialect::Entra, false) => "entra/default-deactivate",
            (Dialect::Entra, true) => "entra/default-reactivate",
            (Dialect::EntraCompliant, false) => "entra/flag-deactivate",
            (Dialect::EntraCompliant, true) => "entra/flag-reactivate",
            (Dialect::Okta, false) => "okta/patch-deactivate",
            (Dialect::Okta, true) => "okta/patch-reactivate",
            (Dialect::OneLogin, _) => return Err("onelogin (de)activates by PUT".into()),
        };
        self.fill(name, &[("id", id)])
    }

    /// The hard delete, for IdPs that send one.
    pub fn delete_user(&self, id: &str) -> Built {
        self.fill("entra/delete-user", &[("id", id)])
    }

    /// The group lookup before a create (Entra only).
    pub fn lookup_group(&self, name: &str) -> Built {
        self.fill("entra/lookup-group", &[("name", name)])
    }

    /// The group create (always without members; they follow by PATCH).
    pub fn create_group(&self, display_name: &str, external_id: &str) -> Built {
        // The catalog's Okta file names the placeholder for a new group `new_group_name`.
        let values = [
            ("name", display_name),
            ("new_group_name", display_name),
            ("external_id", external_id),
        ];
        match self.dialect {
            Dialect::Entra | Dialect::EntraCompliant => self.fill("entra/create-group", &values),
            Dialect::Okta => self.fill("okta/group-push-create", &values),
            Dialect::OneLogin => self.fill("onelogin/create-group", &values),
        }
    }

    /// Member adds for `members` (`(id, display)` pairs), one request per batch.
    pub fn add_members(
        &self,
        gid: &str,
        members: &[(String, String)],
    ) -> Result<Vec<Request>, String> {
        let name = match self.dialect {
            Dialect::Entra => "entra/group-add-members",
            Dialect::EntraCompliant => "entra/flag-group-add-members",
            Dialect::Okta => "okta/group-add-member",
            Dialect::OneLogin => "onelogin/group-add-member",
        };
        let batch = self.dialect.facts().batch.value.max(1);
        members
            .chunks(batch)
            .map(|chunk| {
                let (first, first_display) = &chunk[0];
                self.fill_edit(
                    name,
                    &[("id", gid), ("member", first), ("name", first_display)],
                    |body| {
                        let element = body["Operations"][0]["value"][0].clone();
                        let values: Vec<Value> = chunk
                            .iter()
                            .map(|(id, display)| {
                                let mut e = element.clone();
                                e["value"] = json!(id);
                                if e.get("display").is_some() {
                                    e["display"] = json!(display);
                                }
                                e
                            })
                            .collect();
                        body["Operations"][0]["value"] = Value::Array(values);
                    },
                )
            })
            .collect()
    }

    /// Member removes, one request per batch.
    pub fn remove_members(&self, gid: &str, members: &[String]) -> Result<Vec<Request>, String> {
        let batch = self.dialect.facts().batch.value.max(1);
        let by_filter = match self.dialect {
            Dialect::Entra => false,
            Dialect::EntraCompliant | Dialect::Okta => true,
            Dialect::OneLogin => true,
        };
        let name = match self.dialect {
            Dialect::Entra => "entra/default-group-remove-member",
            Dialect::OneLogin => "onelogin/group-remove-member",
            _ => "entra/flag-group-remove-member",
        };
        members
            .chunks(batch)
            .map(|chunk| {
                self.fill_edit(name, &[("id", gid), ("member", &chunk[0])], |body| {
                    if by_filter {
                        // One value-filter op per member (the filter names one value).
                        let op = body["Operations"][0].clone();
                        let ops: Vec<Value> = chunk
                            .iter()
                            .map(|m| {
                                let mut o = op.clone();
                                o["path"] = json!(format!("members[value eq \"{m}\"]"));
                                o
                            })
                            .collect();
                        body["Operations"] = Value::Array(ops);
                    } else {
                        let element = body["Operations"][0]["value"][0].clone();
                        let values: Vec<Value> = chunk
                            .iter()
                            .map(|m| {
                                let mut e = element.clone();
                                e["value"] = json!(m);
                                e
                            })
                            .collect();
                        body["Operations"][0]["value"] = Value::Array(values);
                    }
                })
            })
            .collect()
    }

    /// Okta's rename PATCH sent after every membership push, even when the name did not
    /// change (OKTA-REF; imulab/go-scim issue #57).
    pub fn after_membership(&self, gid: &str, display_name: &str) -> Option<Built> {
        (self.dialect == Dialect::Okta)
            .then(|| self.fill("okta/group-rename", &[("id", gid), ("name", display_name)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::population::Shape;

    fn dir() -> Directory {
        Directory::build(
            "t-",
            &Shape {
                users: 20,
                groups: 3,
                large_group: 5,
                seed: 1,
            },
        )
    }

    fn body(r: &Request) -> Value {
        serde_json::from_str(r.body.as_deref().unwrap_or("null")).expect("json body")
    }

    #[test]
    fn every_dialect_builds_every_request() {
        let d = dir();
        let u = &d.users[3];
        for dialect in Dialect::ALL {
            let r = Requests::new(dialect).expect("variants load");
            assert!(
                r.lookup_user(u)
                    .expect("lookup")
                    .path
                    .contains("t-u3%40example.test")
                    || r.lookup_user(u)
                        .expect("lookup")
                        .path
                        .contains("t-u3@example.test")
            );
            let create = body(&r.create_user(&d, u).expect("create"));
            assert_eq!(create["userName"], u.user_name.as_str());
            assert_eq!(
                create[ENTERPRISE]["employeeNumber"],
                u.employee_number.as_str()
            );
            let members: Vec<(String, String)> = (0..5)
                .map(|i| (format!("id{i}"), format!("n{i}")))
                .collect();
            let adds = r.add_members("g1", &members).expect("adds");
            let batch = dialect.facts().batch.value;
            assert_eq!(adds.len(), 5usize.div_ceil(batch), "{dialect:?}");
            let removes = r
                .remove_members("g1", &["id1".to_owned(), "id2".to_owned()])
                .expect("removes");
            assert_eq!(removes.len(), 2usize.div_ceil(batch));
        }
    }

    #[test]
    fn entra_default_sends_one_replace_per_attribute_and_string_booleans() {
        let d = dir();
        let r = Requests::new(Dialect::Entra).expect("load");
        let reqs = r
            .patch_user(
                &d,
                &d.users[2],
                "abc",
                &[Field::DisplayName, Field::Department],
                None,
            )
            .expect("patch");
        let b = body(&reqs[0]);
        assert_eq!(b["Operations"].as_array().map(Vec::len), Some(2));
        assert_eq!(b["Operations"][0]["op"], "Replace");
        assert_eq!(
            b["Operations"][1]["path"],
            format!("{ENTERPRISE}:department")
        );
        let off = body(&r.set_active("abc", false).expect("deactivate"));
        assert_eq!(off["Operations"][0]["value"], "False");
    }

    #[test]
    fn entra_compliant_folds_attributes_into_one_pathless_replace() {
        let d = dir();
        let r = Requests::new(Dialect::EntraCompliant).expect("load");
        let reqs = r
            .patch_user(
                &d,
                &d.users[2],
                "abc",
                &[Field::DisplayName, Field::Title, Field::Manager],
                Some("m1"),
            )
            .expect("patch");
        let b = body(&reqs[0]);
        assert!(b["Operations"][0].get("path").is_none());
        assert_eq!(
            b["Operations"][0]["value"]["title"],
            d.users[2].title.as_str()
        );
        assert_eq!(body(&reqs[1])["Operations"][0]["op"], "add");
        let removes = r
            .remove_members("g", &["a".into(), "b".into()])
            .expect("rm");
        let rb = body(&removes[0]);
        assert_eq!(rb["Operations"][1]["path"], "members[value eq \"b\"]");
    }

    #[test]
    fn okta_puts_the_merged_get_result_and_renames_after_pushes() {
        let d = dir();
        let r = Requests::new(Dialect::Okta).expect("load");
        let current = json!({"id": "abc", "meta": {"resourceType": "User"}, "schemas": [crate::simulate::dialect::ENTERPRISE], "groups": []});
        let put = r
            .put_user(&d, &d.users[4], "abc", Some("m"), Some(&current))
            .expect("put");
        let b = body(&put);
        assert_eq!(b["id"], "abc");
        assert_eq!(b[ENTERPRISE]["manager"]["value"], "m");
        assert!(r.after_membership("g", "name").is_some());
        assert!(Requests::new(Dialect::Entra)
            .expect("load")
            .after_membership("g", "n")
            .is_none());
    }
}
