//! `enroll`: bind a phone key to a staff member, from the key proof the phone made.

use std::io::Read;
use std::path::Path;

use crate::db::{params, Connection, OptionalExtension};
use govid_core::enrollment::{verify_key_proof, ProofError, ProofWindow, MAX_PROOF_LEN};
use serde_json::json;

use crate::audit;
use crate::clock;
use crate::cmd::offer::code_hash;
use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::keys::IssuerSigner;
use crate::output::Report;
use crate::store;

/// What an accepted proof did.
pub(crate) struct Enrolled {
    pub(crate) employee_number: String,
    pub(crate) thumbprint: String,
    /// Current IDs still bound to the previous phone key.
    pub(crate) old_key_ids: i64,
}

fn proof_error(e: &ProofError) -> CliError {
    let message = match e {
        ProofError::Stale => "the key proof is too old: ask the staff member to scan the code \
                              again and send a new proof"
            .to_owned(),
        ProofError::Future => {
            "the key proof is dated in the future: the phone's clock is wrong".to_owned()
        }
        ProofError::Audience => {
            "the key proof was made for another issuer (its `aud` is not this issuer's DID)"
                .to_owned()
        }
        other => format!("the key proof is invalid: {other}"),
    };
    CliError::new(e.rule(), message)
}

/// Checks `proof` and binds its key, in the caller's transaction (the offer is marked used in
/// the same transaction, so a code works once even with concurrent enrollments).
pub(crate) fn accept_proof(
    tx: &Connection,
    signer: &IssuerSigner,
    issuer_did: &str,
    proof: &str,
    now: u64,
    audit_it: bool,
) -> CliResult<Enrolled> {
    let checked = verify_key_proof(proof, issuer_did, now, ProofWindow::default())
        .map_err(|e| proof_error(&e))?;
    let hash = code_hash(&checked.code);
    type OfferRow = (i64, String, i64, Option<i64>, Option<i64>);
    let offer: Option<OfferRow> = tx
        .query_row(
            "SELECT id, employee_number, expires_at, used_at, cancelled_at FROM offers
             WHERE code_sha256 = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((offer_id, employee_number, expires_at, used_at, cancelled_at)) = offer else {
        return Err(CliError::new(
            "unknown_code",
            "the enrollment code in the key proof is not one this office issued",
        ));
    };
    if used_at.is_some() {
        return Err(CliError::new(
            "code_used",
            format!("this enrollment code was already used ({employee_number}); make a new one with `govid-issuer offer {employee_number}`"),
        ));
    }
    if cancelled_at.is_some() {
        return Err(CliError::new(
            "code_cancelled",
            format!("this enrollment code was replaced by a newer one for {employee_number}; use the newest code"),
        ));
    }
    if now as i64 >= expires_at {
        return Err(CliError::new(
            "code_expired",
            format!("this enrollment code expired on {}; make a new one with `govid-issuer offer {employee_number}`",
                clock::timestamp(expires_at as u64)),
        ));
    }
    let state: String = tx.query_row(
        "SELECT state FROM staff WHERE employee_number = ?1",
        [&employee_number],
        |r| r.get(0),
    )?;
    if state != "active" {
        return Err(CliError::new(
            "not_active",
            format!("{employee_number} is {state}; enrollment refused"),
        ));
    }
    let thumbprint = checked.holder_key.thumbprint();
    let other: Option<String> = tx
        .query_row(
            "SELECT employee_number FROM staff WHERE holder_thumbprint = ?1",
            [&thumbprint],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = other.filter(|o| *o != employee_number) {
        return Err(CliError::new(
            "key_in_use",
            format!("this phone key is already enrolled for {other}; each person needs their own phone key"),
        ));
    }
    tx.execute(
        "UPDATE offers SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
        params![offer_id, now as i64],
    )?;
    tx.execute(
        "UPDATE staff SET holder_jwk = ?2, holder_thumbprint = ?3, enrolled_at = ?4, updated_at = ?4
         WHERE employee_number = ?1",
        params![employee_number, checked.holder_key.to_jwk().to_string(), thumbprint, now as i64],
    )?;
    let old_key_ids: i64 = tx.query_row(
        "SELECT COUNT(*) FROM credentials WHERE employee_number = ?1 AND superseded_at IS NULL
           AND status != 1 AND expires_at > ?2",
        params![employee_number, now as i64],
        |r| r.get(0),
    )?;
    if audit_it {
        audit::append(
            tx,
            signer,
            now,
            "enroll",
            &json!({"employee_number": employee_number, "holder_key": thumbprint}),
        )?;
    }
    Ok(Enrolled {
        employee_number,
        thumbprint,
        old_key_ids,
    })
}

pub(crate) fn run(dir: &Path, proof_path: &Path) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let mut text = String::new();
    let read = if proof_path == Path::new("-") {
        std::io::stdin()
            .take(MAX_PROOF_LEN as u64 + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(proof_path)
            .and_then(|f| f.take(MAX_PROOF_LEN as u64 + 1).read_to_string(&mut text))
    };
    read.map_err(|e| CliError::io("cannot read key proof", proof_path, &e))?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let did = issuer.did.clone();
    let tx = store::write_tx(&mut issuer.conn)?;
    let done = accept_proof(&tx, &signer, &did, &text, now, true)?;
    tx.commit()?;
    let mut message = format!(
        "Enrolled the phone of {} (key {}).\nNext: govid-issuer issue {}",
        done.employee_number, done.thumbprint, done.employee_number
    );
    if done.old_key_ids > 0 {
        message.push_str(" --reissue   (their current ID is bound to their previous phone)");
    }
    Ok(Report::new(
        json!({"employee_number": done.employee_number, "holder_key_thumbprint": done.thumbprint,
               "ids_bound_to_previous_key": done.old_key_ids}),
        message,
    ))
}
