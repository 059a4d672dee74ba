//! The gate pass: a lean SD-JWT VC issued alongside the worker ID, shown at building gates.
//!
//! A gate QR code carries the whole issuer JWT however little is disclosed, and the worker ID's
//! issuer JWT holds a digest for every claim it has: 32 incompressible bytes each. The gate pass
//! holds only what gates ask for, so its `entry` presentation fits a much smaller QR code
//! (BENCHMARKS.md, "Gate QR sizes"). It shares the worker ID's holder key and status
//! list entry: revoking the worker ID revokes the pass, and the pass says nothing the ID does not.

use rand_core::{CryptoRng, RngCore};
use serde_json::json;

use super::worker::{check, envelope, issue_credential, WORKER_ID_VCT};
use super::{CompactIssuer, CompactParams, CredentialError, WorkerClaims, WorkerIdParams};
use crate::jose::Signer;
use crate::sdjwt::{push_json_str, ClaimNode, Decoys, IssuedSdJwt};

/// The `vct` of a govid gate pass, version 1.
pub const GATE_PASS_VCT: &str = "https://govid.example/vct/worker-gate-pass/v1";

/// The credential types a gate accepts ([`super::gate_policy`]): the worker ID and the gate pass.
/// A trust bundle should allow both for an issuer that issues passes.
pub const GATE_VCTS: [&str; 2] = [WORKER_ID_VCT, GATE_PASS_VCT];

/// How many digests every gate pass carries at the top level: one per claim a pass can hold
/// (`given_name`, `family_name`, `organization`, `clearance`, `access_zones`), decoys standing in
/// for absent ones. Every pass looks the same, whichever optional claims its holder has.
pub const GATE_PASS_DIGESTS: usize = 5;

/// Issues a gate pass: an SD-JWT VC of type [`GATE_PASS_VCT`] with the gate claims of `claims`,
/// each selectively disclosable: `given_name`, `family_name`, `organization` (`name` and `code`
/// in one disclosure: every gate profile asks for both), and when present `clearance` and
/// `access_zones` (its elements disclosable one by one, as in the worker ID). Disclosed, they
/// read exactly as the worker ID's claims ([`super::WorkerView`] reads both).
///
/// `params` are the worker ID's: the same holder key and status entry. `params.decoys` is not
/// used: instead of a random number of decoys, the top level is padded to exactly
/// [`GATE_PASS_DIGESTS`] digests, which hides which optional claims exist at a fixed size.
pub fn issue_gate_pass(
    claims: &WorkerClaims,
    params: &WorkerIdParams<'_>,
    signer: &dyn Signer,
    rng: &mut (impl CryptoRng + RngCore),
) -> Result<IssuedSdJwt, CredentialError> {
    let tree = gate_pass_tree(claims, params);
    let padding = GATE_PASS_DIGESTS.saturating_sub(top_level_disclosable(&tree));
    let decoys = Decoys {
        min: padding,
        max: padding,
    };
    issue_credential(claims, params, &tree, decoys, signer, rng)
}

/// The gate pass's claim tree. Only its top level has disclosable members, so only the top level
/// gets decoys.
fn gate_pass_tree(claims: &WorkerClaims, params: &WorkerIdParams<'_>) -> ClaimNode {
    let organization = json!({
        "name": claims.organization.name,
        "code": claims.organization.code,
    });
    let mut root = envelope(params, GATE_PASS_VCT)
        .sd("given_name", claims.given_name.as_str())
        .sd("family_name", claims.family_name.as_str())
        .sd("organization", organization);
    if let Some(clearance) = &claims.clearance {
        root = root.sd("clearance", clearance.as_str());
    }
    claims.sd_access_zones(root)
}

impl CompactIssuer<'_> {
    /// Issues a gate pass: the same credential as [`issue_gate_pass`], as compact text.
    /// `params.decoys` is not used (the top level is padded to [`GATE_PASS_DIGESTS`]).
    pub fn gate_pass(
        &mut self,
        claims: &WorkerClaims,
        params: &CompactParams<'_>,
        rng: &mut (impl CryptoRng + RngCore),
    ) -> Result<String, CredentialError> {
        check(claims, params.validity)?;
        self.start();
        self.sd_str("given_name", &claims.given_name, rng);
        self.sd_str("family_name", &claims.family_name, rng);
        // `organization` in one disclosure, its members in `serde_json::Map` order (sorted).
        self.value.clear();
        self.value.extend_from_slice(b"{\"code\":");
        push_json_str(&mut self.value, &claims.organization.code);
        self.value.extend_from_slice(b",\"name\":");
        push_json_str(&mut self.value, &claims.organization.name);
        self.value.push(b'}');
        let digest = self.sd.property("organization", &self.value, rng);
        self.digests.push(digest);
        if let Some(clearance) = &claims.clearance {
            self.sd_str("clearance", clearance, rng);
        }
        self.sd_access_zones(&claims.access_zones, rng);
        let padding = GATE_PASS_DIGESTS.saturating_sub(self.digests.len());
        let decoys = Decoys {
            min: padding,
            max: padding,
        };
        self.sd.decoys(decoys, &mut self.digests, rng);
        self.finish(params, GATE_PASS_VCT)
    }
}

fn top_level_disclosable(tree: &ClaimNode) -> usize {
    match tree {
        ClaimNode::Object(members) => members.iter().filter(|m| m.disclosable).count(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Organization, Validity};
    use crate::jose::{PublicKey, SoftwareSigner};

    #[test]
    fn a_pass_with_every_gate_claim_needs_no_padding() {
        let holder: PublicKey =
            SoftwareSigner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[7; 32])).public_key();
        let params = WorkerIdParams {
            issuer: "did:web:hr.ministry.example",
            holder_key: &holder,
            validity: Validity {
                issued_at: 1,
                not_before: 1,
                expires_at: 2,
            },
            status: None,
            decoys: Decoys::NONE,
        };
        let org = Organization {
            name: "Ministry of Transport".into(),
            code: "MOT".into(),
        };
        let mut claims = WorkerClaims::new("Amira", "Haddad", "E-1", org);
        assert_eq!(top_level_disclosable(&gate_pass_tree(&claims, &params)), 3);
        claims.clearance = Some("B".into());
        claims.access_zones = vec!["HQ-A".into()];
        let tree = gate_pass_tree(&claims, &params);
        assert_eq!(top_level_disclosable(&tree), GATE_PASS_DIGESTS);
    }
}
