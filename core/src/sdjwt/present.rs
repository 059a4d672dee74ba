//! The holder: receive an issued SD-JWT (RFC 9901 §7.2), choose what to disclose, present.

use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::error::VerifyError;
use super::kb::{create_kb_jwt, KbRequest};
use super::path::ClaimPath;
use super::policy::VerifyPolicy;
use super::reveal::Placement;
use super::verify::{check_sd_jwt, path_present};
use super::SdAlg;
use crate::jose::{PublicKey, SignError, Signer};
use crate::trust::IssuerResolver;

/// Why a presentation could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// A requested claim is not in the credential.
    #[error("the credential has no claim `{0}`")]
    NoSuchClaim(String),
    /// The holder's signer failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// An SD-JWT held by its holder: checked against its issuer, with all disclosures and where
/// each one belongs.
#[derive(Clone, Debug)]
pub struct HeldSdJwt {
    jwt: String,
    sd_alg: SdAlg,
    disclosures: Vec<Disclosure>,
    placements: Vec<Placement>,
    claims: Map<String, Value>,
    issuer_key: PublicKey,
}

impl HeldSdJwt {
    /// Checks an issued SD-JWT as a holder must (RFC 9901 §7.2): the §7.1 checks under `policy`,
    /// and no KB-JWT may be attached.
    pub fn receive(
        issued: &str,
        policy: &VerifyPolicy,
        issuers: &dyn IssuerResolver,
        now: u64,
    ) -> Result<Self, VerifyError> {
        let checked = check_sd_jwt(
            issued,
            policy,
            issuers,
            &crate::jose::VerifyEverySignature,
            now,
        )?;
        if checked.parts.kb_jwt().is_some() {
            return Err(VerifyError::KbUnexpected);
        }
        Ok(Self {
            jwt: checked.parts.issuer_jwt().to_owned(),
            sd_alg: checked.sd_alg,
            disclosures: checked.disclosures,
            placements: checked.placements,
            claims: checked.payload,
            issuer_key: checked.issuer_key,
        })
    }

    /// Every claim, all disclosures applied (what the holder may show itself).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The key that signed the credential.
    pub fn issuer_key(&self) -> &PublicKey {
        &self.issuer_key
    }

    /// The issued form, `<JWT>~<D1>~…~<Dn>~`, for storage.
    pub fn issued(&self) -> String {
        self.assemble(|_| true)
    }

    /// The paths of the selectively disclosable claims.
    pub fn disclosable_paths(&self) -> Vec<ClaimPath> {
        use super::path::{PathElem, PathSegment};
        self.placements
            .iter()
            .map(|p| {
                ClaimPath(
                    p.location
                        .iter()
                        .map(|e| match e {
                            PathElem::Key(k) => PathSegment::Key(k.clone()),
                            PathElem::Index(i) => PathSegment::Index(*i),
                        })
                        .collect(),
                )
            })
            .collect()
    }

    /// Which disclosures a selection needs: for each path, the disclosures on the way to it and
    /// everything below it. Every path must name a claim the credential has.
    fn selected(&self, paths: &[ClaimPath]) -> Result<Vec<bool>, PresentError> {
        for path in paths {
            if !path_present(&self.claims, path) {
                return Err(PresentError::NoSuchClaim(path.to_string()));
            }
        }
        Ok(self
            .placements
            .iter()
            .map(|p| {
                paths
                    .iter()
                    .any(|path| path.leads_through(&p.location) || path.covers(&p.location))
            })
            .collect())
    }

    fn assemble(&self, keep: impl Fn(usize) -> bool) -> String {
        let mut out = self.jwt.clone();
        out.push('~');
        for (i, d) in self.disclosures.iter().enumerate() {
            if keep(i) {
                out.push_str(d.as_str());
                out.push('~');
            }
        }
        out
    }

    /// Builds a presentation disclosing `paths`, with a KB-JWT when `key_binding` is given.
    pub fn present(
        &self,
        paths: &[ClaimPath],
        key_binding: Option<(&KbRequest, &dyn Signer)>,
    ) -> Result<String, PresentError> {
        let selected = self.selected(paths)?;
        let mut out = self.assemble(|i| selected[i]);
        if let Some((request, holder)) = key_binding {
            let kb = create_kb_jwt(&out, self.sd_alg, request, holder)?;
            out.push_str(&kb);
        }
        Ok(out)
    }
}
