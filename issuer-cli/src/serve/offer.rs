//! The OpenID4VCI offer `offer` makes next to each enrollment code: a pre-authorized code (in
//! the offer object at `<public URL>/offers/<id>`) and a 6-digit PIN for the token request's
//! `tx_code`, given to the staff member by a second channel.

use std::path::Path;

use crate::db::{params, Connection, OptionalExtension};
use govid_core::oid4vci::offer::{offer_uri_by_reference, CredentialOffer, TxCode};
use govid_core::oid4vci::CONFIGURATIONS;

use super::secret;
use crate::error::CliResult;

/// Wrong PINs after which an offer is dead.
pub(crate) const MAX_WRONG_PINS: i64 = 5;

/// The `meta` key of the public URL `serve` was last started with.
pub(crate) const PUBLIC_URL_KEY: &str = "vci_public_url";

/// What the staff member is told about the PIN.
pub(crate) const TX_CODE_DESCRIPTION: &str =
    "Enter the 6-digit PIN HR gave you separately from this code.";

/// A new offer, as `offer` prints it. The PIN is shown once and never stored in clear.
pub(crate) struct NewOffer {
    pub(crate) employee_number: String,
    pub(crate) offer_uri: String,
    pub(crate) tx_code: String,
    pub(crate) expires_at: u64,
}

/// The public URL: `--public-url`, else the one `serve` stored; without a trailing slash.
pub(crate) fn public_url(conn: &Connection, given: Option<&str>) -> CliResult<Option<String>> {
    if let Some(url) = given {
        return Ok(Some(url.trim_end_matches('/').to_owned()));
    }
    Ok(conn
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [PUBLIC_URL_KEY],
            |r| r.get::<_, String>(0),
        )
        .optional()?)
}

/// Records an OpenID4VCI offer next to enrollment offer `offer_id`, in the caller's
/// transaction. The person's earlier offers are cancelled, redeemed ones too: a new offer is
/// HR's answer to a lost or replaced phone, so the access tokens of the old one stop working at
/// the credential endpoint (`credential_request_denied`) and only the new offer's phone key
/// receives (a reissue, as `issue --reissue`: its first credential request supersedes and
/// revokes the person's earlier IDs).
pub(crate) fn create(
    tx: &Connection,
    public_url: &str,
    offer_id: i64,
    employee_number: &str,
    now: u64,
    expires_at: u64,
) -> CliResult<NewOffer> {
    tx.execute(
        "UPDATE vci_offers SET cancelled_at = ?2 WHERE employee_number = ?1
           AND dead_at IS NULL AND cancelled_at IS NULL",
        params![employee_number, now as i64],
    )?;
    let reference = secret::random_token()?;
    let code = secret::code_of(&reference);
    let pin = secret::random_pin()?;
    tx.execute(
        "INSERT INTO vci_offers(offer_id, employee_number, ref_sha256, code_sha256, pin_sha256,
           created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            offer_id,
            employee_number,
            secret::hash("offer-ref", &[&reference]),
            secret::hash("pre-authorized-code", &[&code]),
            secret::hash("tx-code", &[&code, &pin]),
            now as i64,
            expires_at as i64
        ],
    )?;
    Ok(NewOffer {
        employee_number: employee_number.to_owned(),
        offer_uri: offer_uri_by_reference(&format!("{public_url}/offers/{reference}")),
        tx_code: pin,
        expires_at,
    })
}

/// The offer object served at `/offers/<reference>` until the offer expires, also once it was
/// redeemed, replaced or ended by wrong PINs: the wallet then learns why at the token endpoint
/// (`invalid_grant` with the reason), instead of a bare 404. The object holds nothing the
/// reference does not already give (the pre-authorized code is derived from it).
pub(crate) fn offer_object(
    conn: &Connection,
    public_url: &str,
    reference: &str,
    now: u64,
) -> CliResult<Option<serde_json::Value>> {
    let live: Option<i64> = conn
        .query_row(
            "SELECT id FROM vci_offers WHERE ref_sha256 = ?1 AND expires_at > ?2",
            params![secret::hash("offer-ref", &[reference]), now as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(live.map(|_| {
        CredentialOffer {
            credential_issuer: public_url.to_owned(),
            credential_configuration_ids: CONFIGURATIONS.iter().map(|c| (*c).to_owned()).collect(),
            pre_authorized_code: secret::code_of(reference),
            tx_code: Some(TxCode {
                input_mode: "numeric".to_owned(),
                length: Some(6),
                description: Some(TX_CODE_DESCRIPTION.to_owned()),
            }),
        }
        .to_json()
    }))
}

/// The id of the enrollment offer `offer` just made for `employee_number`.
pub(crate) fn latest_offer_id(tx: &Connection, employee_number: &str) -> CliResult<i64> {
    Ok(tx.query_row(
        "SELECT MAX(id) FROM offers WHERE employee_number = ?1",
        [employee_number],
        |r| r.get(0),
    )?)
}

/// Where the QR image of an offer URI goes: next to the enrollment QR.
pub(crate) fn qr_path(out: &Path, employee_number: &str) -> std::path::PathBuf {
    out.join(format!("{employee_number}.openid4vci.png"))
}

/// `offer`'s OpenID4VCI part: an offer next to each new enrollment code, if the public URL is
/// known (`None` otherwise: `offer` then says how to enable it).
pub(crate) fn for_offers(
    tx: &Connection,
    public_url: Option<&str>,
    made: &[(String, String)],
    now: u64,
    expires_at: u64,
) -> CliResult<Option<Vec<NewOffer>>> {
    let Some(url) = self::public_url(tx, public_url)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(made.len());
    for (n, _) in made {
        let offer_id = latest_offer_id(tx, n)?;
        out.push(create(tx, &url, offer_id, n, now, expires_at)?);
    }
    Ok(Some(out))
}

/// Adds person `n`'s OpenID4VCI offer to `offer`'s JSON item and text.
pub(crate) fn report(
    item: &mut serde_json::Value,
    text: &mut String,
    vci: Option<&[NewOffer]>,
    n: &str,
    out: &Path,
) -> CliResult<()> {
    use std::fmt::Write as _;
    let Some(vci) = vci else {
        return Ok(());
    };
    let Some(offer) = vci.iter().find(|o| o.employee_number == n) else {
        return Ok(());
    };
    let png = qr_path(out, n);
    crate::fsutil::replace(&png, &crate::cmd::offer::qr_png(&offer.offer_uri)?, 0o600)?;
    let _ = writeln!(
        text,
        "  {:<14} OpenID4VCI offer: {}   QR: {}\n  {:<14} PIN (give it separately, e.g. by phone): {}",
        "", offer.offer_uri, png.display(), "", offer.tx_code
    );
    item["openid4vci"] = serde_json::json!({
        "offer_uri": offer.offer_uri,
        "tx_code": offer.tx_code,
        "expires_at": offer.expires_at,
        "qr_png": png,
    });
    Ok(())
}

/// The closing advice of `offer`'s text.
pub(crate) fn report_end(text: &mut String, enabled: bool) {
    if !enabled {
        text.push_str(
            "\nTo also make OpenID4VCI offers (phones receive their IDs directly), run \
             `govid-issuer serve --public-url URL ...` once, or pass --public-url URL.",
        );
    }
}
