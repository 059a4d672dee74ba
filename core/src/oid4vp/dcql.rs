//! The Digital Credentials Query Language (OpenID4VP 1.0 §6), for SD-JWT VCs (`dc+sd-jwt`).
//!
//! Written here rather than taken from a crate: the DCQL crates there are (`openid4vp`,
//! `dcql`) come with the `ssi` JSON-LD stack, which this workspace does not take. What govid
//! needs is small: a verifier asks for one or more SD-JWT VCs by `vct` and for claims by
//! claims path pointer (§7), and a wallet finds which of its credentials answer and which claims
//! it must disclose. `credential_sets` and `claim_sets` are read and honoured (§6.4.1, §6.4.2);
//! `values` (§6.3) is matched as the spec allows; `trusted_authorities` is read and left to
//! the verifier (it checks issuer trust itself, §6.1.1).

use serde_json::{json, Map, Value};

use crate::oid4vci::SD_JWT_VC_FORMAT;
use crate::sdjwt::{ClaimPath, PathSegment};

/// Most credential queries, claims per query and options read from a query: far more than
/// any login asks for, few enough that a hostile query costs nothing.
const MAX_ITEMS: usize = 64;

/// Why a DCQL query was refused, or why a credential does not answer it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DcqlError {
    /// The query is not what §6 allows (the message says which rule).
    #[error("invalid DCQL query: {0}")]
    Invalid(&'static str),
    /// A credential query asks for a format other than `dc+sd-jwt`.
    #[error("DCQL asks for the unsupported credential format {0:?}")]
    UnsupportedFormat(String),
    /// The credential's `vct` is not one the query accepts.
    #[error("the credential's type is not one the verifier asks for")]
    WrongType,
    /// The credential lacks a claim the query needs (slash form of the claims path pointer).
    #[error("the credential has no claim {0}, which the verifier asks for")]
    ClaimMissing(String),
}

/// A claims query (§6.3): one claim, by claims path pointer, and optionally the values asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimsQuery {
    /// `id`, required when the credential query has `claim_sets`.
    pub id: Option<String>,
    /// `path`.
    pub path: ClaimPath,
    /// `values`: strings, integers or booleans the claim must equal (one of).
    pub values: Option<Vec<Value>>,
}

/// A credential query (§6.1) for an SD-JWT VC.
#[derive(Clone, Debug, PartialEq)]
pub struct CredentialQuery {
    /// `id`: the key of its presentations in the `vp_token`.
    pub id: String,
    /// `meta.vct_values`.
    pub vct_values: Vec<String>,
    /// `multiple` (default `false`).
    pub multiple: bool,
    /// `require_cryptographic_holder_binding` (default `true`).
    pub require_holder_binding: bool,
    /// `claims`; empty when absent (then only what is always disclosed is asked for).
    pub claims: Vec<ClaimsQuery>,
    /// `claim_sets`: alternative combinations of claim ids, most preferred first.
    pub claim_sets: Option<Vec<Vec<String>>>,
}

/// A credential set query (§6.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialSetQuery {
    /// `options`: sets of credential query ids, each of which satisfies the set.
    pub options: Vec<Vec<String>>,
    /// `required` (default `true`).
    pub required: bool,
}

/// A DCQL query (§6).
#[derive(Clone, Debug, PartialEq)]
pub struct DcqlQuery {
    /// `credentials`.
    pub credentials: Vec<CredentialQuery>,
    /// `credential_sets`.
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// `id` values: non-empty, alphanumeric, `_` or `-` (§6.1, §6.3).
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn array<'a>(value: &'a Value, what: &'static str) -> Result<&'a Vec<Value>, DcqlError> {
    match value {
        Value::Array(items) if items.is_empty() => Err(DcqlError::Invalid(what)),
        Value::Array(items) if items.len() > MAX_ITEMS => Err(DcqlError::Invalid(what)),
        Value::Array(items) => Ok(items),
        _ => Err(DcqlError::Invalid(what)),
    }
}

fn id_list(value: &Value, what: &'static str) -> Result<Vec<String>, DcqlError> {
    array(value, what)?
        .iter()
        .map(|v| match v.as_str() {
            Some(s) if is_valid_id(s) => Ok(s.to_owned()),
            _ => Err(DcqlError::Invalid(what)),
        })
        .collect()
}

fn optional_bool(
    object: &Map<String, Value>,
    key: &str,
    default: bool,
    what: &'static str,
) -> Result<bool, DcqlError> {
    match object.get(key) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(DcqlError::Invalid(what)),
    }
}

impl ClaimsQuery {
    fn parse(value: &Value) -> Result<Self, DcqlError> {
        let object = value
            .as_object()
            .ok_or(DcqlError::Invalid("a claims query is not an object"))?;
        let id = match object.get("id") {
            None => None,
            Some(Value::String(s)) if is_valid_id(s) => Some(s.clone()),
            Some(_) => return Err(DcqlError::Invalid("a claims query has a bad id")),
        };
        let path = object
            .get("path")
            .ok_or(DcqlError::Invalid("a claims query has no path"))?;
        let path = ClaimPath::from_pointer(path)
            .map_err(|_| DcqlError::Invalid("a claims query has a bad path"))?;
        let values = match object.get("values") {
            None => None,
            Some(v) => {
                let items = array(v, "a claims query has bad values")?;
                if items
                    .iter()
                    .any(|i| !(i.is_string() || i.is_i64() || i.is_u64() || i.is_boolean()))
                {
                    return Err(DcqlError::Invalid(
                        "claims query values must be strings, integers or booleans",
                    ));
                }
                Some(items.clone())
            }
        };
        Ok(Self { id, path, values })
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        if let Some(id) = &self.id {
            object.insert("id".into(), Value::String(id.clone()));
        }
        object.insert("path".into(), path_pointer(&self.path));
        if let Some(values) = &self.values {
            object.insert("values".into(), Value::Array(values.clone()));
        }
        Value::Object(object)
    }
}

/// The claims path pointer (JSON array) of `path`.
pub fn path_pointer(path: &ClaimPath) -> Value {
    Value::Array(
        path.0
            .iter()
            .map(|segment| match segment {
                PathSegment::Key(k) => Value::String(k.clone()),
                PathSegment::Index(i) => Value::from(*i),
                PathSegment::AllElements => Value::Null,
            })
            .collect(),
    )
}

impl CredentialQuery {
    fn parse(value: &Value) -> Result<Self, DcqlError> {
        let object = value
            .as_object()
            .ok_or(DcqlError::Invalid("a credential query is not an object"))?;
        let id = match object.get("id") {
            Some(Value::String(s)) if is_valid_id(s) => s.clone(),
            _ => return Err(DcqlError::Invalid("a credential query has no valid id")),
        };
        match object.get("format") {
            Some(Value::String(f)) if f == SD_JWT_VC_FORMAT => {}
            Some(Value::String(f)) => return Err(DcqlError::UnsupportedFormat(f.clone())),
            _ => return Err(DcqlError::Invalid("a credential query has no format")),
        }
        let meta = object
            .get("meta")
            .and_then(Value::as_object)
            .ok_or(DcqlError::Invalid("a credential query has no meta object"))?;
        // §B.3.5: `vct_values` is REQUIRED for dc+sd-jwt.
        let vct_values = array(
            meta.get("vct_values")
                .ok_or(DcqlError::Invalid("meta has no vct_values"))?,
            "meta.vct_values must be a non-empty array",
        )?
        .iter()
        .map(|v| {
            v.as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or(DcqlError::Invalid("meta.vct_values must hold strings"))
        })
        .collect::<Result<Vec<_>, _>>()?;
        let claims = match object.get("claims") {
            None => Vec::new(),
            Some(v) => array(v, "claims must be a non-empty array")?
                .iter()
                .map(ClaimsQuery::parse)
                .collect::<Result<Vec<_>, _>>()?,
        };
        let mut ids: Vec<&str> = Vec::new();
        for claim in &claims {
            if let Some(id) = &claim.id {
                if ids.contains(&id.as_str()) {
                    return Err(DcqlError::Invalid("two claims queries have the same id"));
                }
                ids.push(id);
            }
        }
        let claim_sets = match object.get("claim_sets") {
            None => None,
            Some(_) if claims.is_empty() => {
                return Err(DcqlError::Invalid("claim_sets without claims"))
            }
            Some(v) => {
                let sets = array(v, "claim_sets must be a non-empty array")?
                    .iter()
                    .map(|set| id_list(set, "a claim set must be a non-empty array of ids"))
                    .collect::<Result<Vec<_>, _>>()?;
                if sets.iter().flatten().any(|id| !ids.contains(&id.as_str())) {
                    return Err(DcqlError::Invalid("a claim set names an unknown claim id"));
                }
                Some(sets)
            }
        };
        if claim_sets.is_some() && claims.iter().any(|c| c.id.is_none()) {
            return Err(DcqlError::Invalid(
                "claims need ids when claim_sets is present",
            ));
        }
        Ok(Self {
            id,
            vct_values,
            multiple: optional_bool(object, "multiple", false, "multiple must be a boolean")?,
            require_holder_binding: optional_bool(
                object,
                "require_cryptographic_holder_binding",
                true,
                "require_cryptographic_holder_binding must be a boolean",
            )?,
            claims,
            claim_sets,
        })
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("id".into(), Value::String(self.id.clone()));
        object.insert("format".into(), Value::String(SD_JWT_VC_FORMAT.into()));
        object.insert("meta".into(), json!({ "vct_values": self.vct_values }));
        if self.multiple {
            object.insert("multiple".into(), Value::Bool(true));
        }
        if !self.require_holder_binding {
            object.insert(
                "require_cryptographic_holder_binding".into(),
                Value::Bool(false),
            );
        }
        if !self.claims.is_empty() {
            object.insert(
                "claims".into(),
                Value::Array(self.claims.iter().map(ClaimsQuery::to_value).collect()),
            );
        }
        if let Some(sets) = &self.claim_sets {
            object.insert("claim_sets".into(), json!(sets));
        }
        Value::Object(object)
    }

    /// Whether a credential of type `vct` may answer this query.
    pub fn accepts_vct(&self, vct: &str) -> bool {
        self.vct_values.iter().any(|v| v == vct)
    }

    /// The claims a credential with (processed) payload `claims` must disclose to answer this
    /// query (§6.4.1): every claim when there are no `claim_sets`, else the first claim set it
    /// can satisfy. A claim whose `values` the credential's value does not match counts as
    /// missing (§6.4.1, "treated the same as if it did not exist").
    pub fn select(
        &self,
        vct: &str,
        claims: &Map<String, Value>,
    ) -> Result<Vec<ClaimPath>, DcqlError> {
        if !self.accepts_vct(vct) {
            return Err(DcqlError::WrongType);
        }
        let present = |query: &ClaimsQuery| {
            let found = resolve(claims, &query.path.0);
            !found.is_empty()
                && query
                    .values
                    .as_ref()
                    .is_none_or(|wanted| found.iter().any(|v| wanted.contains(v)))
        };
        match &self.claim_sets {
            None => {
                if let Some(missing) = self.claims.iter().find(|q| !present(q)) {
                    return Err(DcqlError::ClaimMissing(missing.path.to_string()));
                }
                Ok(self.claims.iter().map(|q| q.path.clone()).collect())
            }
            Some(sets) => {
                let by_id = |id: &str| self.claims.iter().find(|q| q.id.as_deref() == Some(id));
                for set in sets {
                    let queries: Vec<&ClaimsQuery> =
                        set.iter().filter_map(|id| by_id(id)).collect();
                    if queries.iter().all(|q| present(q)) {
                        return Ok(queries.iter().map(|q| q.path.clone()).collect());
                    }
                }
                // None can be met: name the first claim of the most preferred set that is missing.
                let missing = sets
                    .first()
                    .and_then(|set| set.iter().filter_map(|id| by_id(id)).find(|q| !present(q)))
                    .map(|q| q.path.to_string())
                    .unwrap_or_default();
                Err(DcqlError::ClaimMissing(missing))
            }
        }
    }
}

/// The values a claims path pointer selects in `root` (§7.1.1); empty when it selects nothing
/// or meets a value of the wrong kind.
pub fn resolve<'a>(root: &'a Map<String, Value>, path: &[PathSegment]) -> Vec<&'a Value> {
    let Some((PathSegment::Key(first), rest)) = path.split_first() else {
        return Vec::new();
    };
    let mut selected: Vec<&Value> = root.get(first).into_iter().collect();
    for segment in rest {
        let mut next = Vec::new();
        for value in selected {
            match (segment, value) {
                (PathSegment::Key(k), Value::Object(o)) => next.extend(o.get(k)),
                (PathSegment::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                (PathSegment::AllElements, Value::Array(a)) => next.extend(a.iter()),
                _ => return Vec::new(),
            }
        }
        selected = next;
    }
    selected
}

impl DcqlQuery {
    /// Reads and checks a query (§6): unknown members are ignored, as §6 requires.
    pub fn parse(value: &Value) -> Result<Self, DcqlError> {
        let object = value
            .as_object()
            .ok_or(DcqlError::Invalid("the query is not an object"))?;
        let credentials = array(
            object
                .get("credentials")
                .ok_or(DcqlError::Invalid("the query has no credentials"))?,
            "credentials must be a non-empty array",
        )?
        .iter()
        .map(CredentialQuery::parse)
        .collect::<Result<Vec<_>, _>>()?;
        for (i, query) in credentials.iter().enumerate() {
            if credentials[..i].iter().any(|q| q.id == query.id) {
                return Err(DcqlError::Invalid(
                    "two credential queries have the same id",
                ));
            }
        }
        let credential_sets = match object.get("credential_sets") {
            None => None,
            Some(v) => Some(
                array(v, "credential_sets must be a non-empty array")?
                    .iter()
                    .map(|set| {
                        let set = set
                            .as_object()
                            .ok_or(DcqlError::Invalid("a credential set is not an object"))?;
                        let options = array(
                            set.get("options")
                                .ok_or(DcqlError::Invalid("a credential set has no options"))?,
                            "options must be a non-empty array",
                        )?
                        .iter()
                        .map(|o| id_list(o, "an option must be a non-empty array of ids"))
                        .collect::<Result<Vec<_>, _>>()?;
                        if options
                            .iter()
                            .flatten()
                            .any(|id| !credentials.iter().any(|q| &q.id == id))
                        {
                            return Err(DcqlError::Invalid(
                                "a credential set names an unknown credential query",
                            ));
                        }
                        Ok(CredentialSetQuery {
                            options,
                            required: optional_bool(
                                set,
                                "required",
                                true,
                                "required must be a boolean",
                            )?,
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        Ok(Self {
            credentials,
            credential_sets,
        })
    }

    /// The query as JSON.
    pub fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert(
            "credentials".into(),
            Value::Array(
                self.credentials
                    .iter()
                    .map(CredentialQuery::to_value)
                    .collect(),
            ),
        );
        if let Some(sets) = &self.credential_sets {
            object.insert(
                "credential_sets".into(),
                Value::Array(
                    sets.iter()
                        .map(|s| json!({"options": s.options, "required": s.required}))
                        .collect(),
                ),
            );
        }
        Value::Object(object)
    }

    /// A query for one SD-JWT VC (`id`) of one of `vcts`, disclosing `claims`.
    pub fn single(id: &str, vcts: &[&str], claims: &[ClaimPath]) -> Self {
        Self {
            credentials: vec![CredentialQuery {
                id: id.to_owned(),
                vct_values: vcts.iter().map(|&v| v.to_owned()).collect(),
                multiple: false,
                require_holder_binding: true,
                claims: claims
                    .iter()
                    .map(|path| ClaimsQuery {
                        id: None,
                        path: path.clone(),
                        values: None,
                    })
                    .collect(),
                claim_sets: None,
            }],
            credential_sets: None,
        }
    }

    /// The credential query with this `id`.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|q| q.id == id)
    }

    /// Whether answers for the credential query ids `answered` satisfy the query (§6.4.2):
    /// every query when there are no `credential_sets`, else one option of every required set.
    pub fn is_satisfied_by(&self, answered: &[&str]) -> bool {
        match &self.credential_sets {
            None => self
                .credentials
                .iter()
                .all(|q| answered.contains(&q.id.as_str())),
            Some(sets) => sets.iter().filter(|s| s.required).all(|s| {
                s.options
                    .iter()
                    .any(|option| option.iter().all(|id| answered.contains(&id.as_str())))
            }),
        }
    }
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claims() -> Map<String, Value> {
        let Value::Object(map) = json!({
            "given_name": "Minji", "family_name": "Kim", "position": "Deputy Director",
            "organization": {"name": "Ministry of Transport", "code": "MOT"},
            "access_zones": ["HQ-1", "HQ-2"], "clearance": 2
        }) else {
            unreachable!()
        };
        map
    }

    /// §D (the simple example of §6.5): one SD-JWT VC with three claims.
    #[test]
    fn spec_simple_example_parses_and_round_trips() {
        let query = json!({
          "credentials": [{
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
              {"path": ["last_name"]},
              {"path": ["first_name"]},
              {"path": ["address", "street_address"]}
            ]
          }]
        });
        let parsed = DcqlQuery::parse(&query).expect("spec example");
        assert_eq!(parsed.credentials[0].claims.len(), 3);
        assert_eq!(
            parsed.credentials[0].claims[2].path.to_string(),
            "address/street_address"
        );
        assert_eq!(parsed.to_value(), query);
        assert_eq!(DcqlQuery::parse(&parsed.to_value()), Ok(parsed));
    }

    #[test]
    fn select_returns_every_claim_or_names_the_missing_one() {
        let paths: Vec<ClaimPath> = ["given_name", "organization/name", "position"]
            .iter()
            .filter_map(|p| ClaimPath::parse(p).ok())
            .collect();
        let query = DcqlQuery::single("worker_id", &["urn:t"], &paths);
        let q = &query.credentials[0];
        assert_eq!(q.select("urn:t", &claims()), Ok(paths.clone()));
        assert_eq!(q.select("urn:other", &claims()), Err(DcqlError::WrongType));
        let mut without = claims();
        without.remove("position");
        assert_eq!(
            q.select("urn:t", &without),
            Err(DcqlError::ClaimMissing("position".into()))
        );
    }

    #[test]
    fn claim_sets_pick_the_first_option_that_is_met_and_values_must_match() {
        let query = DcqlQuery::parse(&json!({"credentials": [{
            "id": "w", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:t"]},
            "claims": [
                {"id": "a", "path": ["employee_number"]},
                {"id": "b", "path": ["given_name"]},
                {"id": "c", "path": ["clearance"], "values": [3, 4]},
                {"id": "d", "path": ["access_zones", null], "values": ["HQ-2"]}
            ],
            "claim_sets": [["a"], ["c"], ["b", "d"]]
        }]}))
        .expect("valid");
        let q = &query.credentials[0];
        let picked = q.select("urn:t", &claims()).expect("third set");
        let picked: Vec<String> = picked.iter().map(ToString::to_string).collect();
        assert_eq!(picked, ["given_name", "access_zones/*"]);
    }

    #[test]
    fn malformed_queries_are_refused_with_the_rule() {
        let base = |cred: Value| json!({"credentials": [cred]});
        let cases = [
            (json!({}), "the query has no credentials"),
            (
                json!({"credentials": []}),
                "credentials must be a non-empty array",
            ),
            (
                base(json!({"id": "a b", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]}})),
                "a credential query has no valid id",
            ),
            (
                base(json!({"id": "a", "format": "dc+sd-jwt", "meta": {}})),
                "meta has no vct_values",
            ),
            (
                base(json!({"id": "a", "format": "dc+sd-jwt"})),
                "a credential query has no meta object",
            ),
            (
                base(
                    json!({"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]},
                "claims": [{"path": []}]}),
                ),
                "a claims query has a bad path",
            ),
            (
                base(
                    json!({"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]},
                "claims": [{"path": ["x"], "values": [{"o": 1}]}]}),
                ),
                "claims query values must be strings, integers or booleans",
            ),
            (
                base(
                    json!({"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]},
                "claims": [{"id": "p", "path": ["x"]}], "claim_sets": [["q"]]}),
                ),
                "a claim set names an unknown claim id",
            ),
            (
                json!({"credentials": [
                {"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["x"]}},
                {"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["y"]}}]}),
                "two credential queries have the same id",
            ),
        ];
        for (query, rule) in cases {
            assert_eq!(
                DcqlQuery::parse(&query),
                Err(DcqlError::Invalid(rule)),
                "{query}"
            );
        }
        assert_eq!(
            DcqlQuery::parse(&base(json!({"id": "m", "format": "mso_mdoc", "meta": {}}))),
            Err(DcqlError::UnsupportedFormat("mso_mdoc".into()))
        );
    }

    #[test]
    fn credential_sets_decide_which_answers_satisfy() {
        let query = DcqlQuery::parse(&json!({
            "credentials": [
                {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["a"]}},
                {"id": "worker", "format": "dc+sd-jwt", "meta": {"vct_values": ["b"]}},
                {"id": "pass", "format": "dc+sd-jwt", "meta": {"vct_values": ["c"]}}
            ],
            "credential_sets": [
                {"options": [["worker"], ["pass"]]},
                {"options": [["pid"]], "required": false}
            ]
        }))
        .expect("valid");
        assert!(query.is_satisfied_by(&["pass"]));
        assert!(query.is_satisfied_by(&["worker", "pid"]));
        assert!(!query.is_satisfied_by(&["pid"]));
        let plain = DcqlQuery::single("w", &["b"], &[]);
        assert!(plain.is_satisfied_by(&["w"]));
        assert!(!plain.is_satisfied_by(&[]));
    }

    /// §7.4's examples of claims path pointers, on §7.4's credential.
    #[test]
    fn spec_claims_path_pointer_examples() {
        let Value::Object(credential) = json!({
          "name": "Arthur Dent",
          "address": {"street_address": "42 Market Street", "locality": "Milliways", "postal_code": "12345"},
          "degrees": [
            {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
            {"type": "Master of Science", "university": "University of Betelgeuse"}
          ],
          "nationalities": ["British", "Betelgeusian"]
        }) else {
            unreachable!()
        };
        let at = |pointer: Value| {
            let path = ClaimPath::from_pointer(&pointer).expect("pointer");
            resolve(&credential, &path.0)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(at(json!(["name"])), [json!("Arthur Dent")]);
        assert_eq!(
            at(json!(["address", "street_address"])),
            [json!("42 Market Street")]
        );
        assert_eq!(
            at(json!(["degrees", null, "type"])),
            [json!("Bachelor of Science"), json!("Master of Science")]
        );
        assert_eq!(at(json!(["nationalities", 1])), [json!("Betelgeusian")]);
        assert!(
            at(json!(["name", "first"])).is_empty(),
            "a key into a string is an error"
        );
        assert!(at(json!(["nationalities", 5])).is_empty());
    }
}
