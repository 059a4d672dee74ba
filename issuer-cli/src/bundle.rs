//! The offline trust bundle `publish` writes for gates, made with core's `trust::bundle`.

use govid_core::credential::GATE_VCTS;
use govid_core::jose::{Signer, SoftwareSigner};
use govid_core::trust::{BundleIssuer, TrustBundle, TrustBundleBuilder};

use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::keys;

/// Signs the bundle: this issuer, the credential types it issues (the worker ID and the gate
/// pass, [`GATE_VCTS`]), all its keys (current and retired), and the status list tokens just made; then loads it back, as a gate would, before it is written.
pub(crate) fn build(
    issuer: &Issuer,
    seq: u64,
    iat: u64,
    max_staleness: u64,
    tokens: &[(String, String, String, usize)],
    operator: &SoftwareSigner,
) -> CliResult<String> {
    let mut entry = BundleIssuer::new(issuer.did.clone(), issuer.name.clone());
    for vct in GATE_VCTS {
        entry = entry.vct(vct);
    }
    for k in keys::all_keys(&issuer.conn)? {
        entry = entry.key(k.public, Some(k.kid));
    }
    for (uri, _, token, _) in tokens {
        entry = entry.status_list(uri.clone(), token.clone());
    }
    let text = TrustBundleBuilder::new(seq, iat, max_staleness)
        .issuer(entry)
        .sign(operator)?;
    TrustBundle::load(&text, &operator.public_key(), None).map_err(|e| {
        CliError::new(
            "bundle",
            format!("the trust bundle just made does not load: {e}"),
        )
    })?;
    Ok(text)
}
