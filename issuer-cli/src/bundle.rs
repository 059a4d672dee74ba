//! The offline trust bundle `publish` writes for gates (format: core `trust::bundle`).

use govid_core::credential::WORKER_ID_VCT;
use govid_core::jose::{sign_compact, Signer, SoftwareSigner};
use serde_json::{json, Map, Value};

use crate::error::CliResult;
use crate::issuer::Issuer;
use crate::keys;

/// Signs the bundle: this issuer, all its keys, and the status list tokens just made.
pub(crate) fn build(
    issuer: &Issuer,
    seq: u64,
    iat: u64,
    max_staleness: u64,
    tokens: &[(String, String, String, usize)],
    operator: &SoftwareSigner,
) -> CliResult<String> {
    let keys: Vec<Value> = keys::all_keys(&issuer.conn)?
        .iter()
        .map(|k| {
            let mut jwk = k.public.to_jwk();
            if let Value::Object(map) = &mut jwk {
                map.insert("kid".to_owned(), Value::String(k.kid.clone()));
            }
            jwk
        })
        .collect();
    let lists: Vec<Value> = tokens
        .iter()
        .map(|(uri, _, token, _)| json!({"uri": uri, "token": token}))
        .collect();
    let payload = json!({
        "v": 1, "iat": iat, "seq": seq, "max_staleness": max_staleness,
        "issuers": [{
            "iss": issuer.did, "display_name": issuer.name, "keys": keys,
            "vct": [WORKER_ID_VCT], "status_lists": lists,
        }],
    });
    let mut header = Map::new();
    header.insert(
        "typ".to_owned(),
        Value::String("govid-trust-bundle+jwt".to_owned()),
    );
    header.insert(
        "kid".to_owned(),
        Value::String(operator.public_key().thumbprint()),
    );
    let payload = match payload {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Ok(sign_compact(header, &payload, operator)?)
}
