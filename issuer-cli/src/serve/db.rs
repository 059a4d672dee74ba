//! The service's database steps. Each state change runs inside a job of the group-commit
//! [`super::writer`] (so it is on disk before the request is answered, and shares its fsync with
//! the other requests of its batch); lookups run on a read connection. The CLI may run on the
//! same directory at the same time: it takes turns with whole batches.

use crate::db::{params, Connection, OptionalExtension};
use serde_json::json;

use super::error::ApiError;
use super::offer::MAX_WRONG_PINS;
use super::secret;
use super::AppState;
use crate::audit;
use crate::cmd::issue::{issue_one, IssuerRef};
use crate::store::Cached;

/// Seconds an access token lasts.
pub(crate) const TOKEN_SECS: u64 = 300;

fn sql(e: crate::db::Error) -> ApiError {
    ApiError::from(crate::error::CliError::from(e))
}

/// An access token as stored.
pub(crate) struct Token {
    pub(crate) vci_offer_id: i64,
    pub(crate) jkt: Option<String>,
}

/// The token request's grant check and, if it passes, a new access token (returned in clear,
/// stored hashed). In a writer job: the inner `Err` is the answer to a refused grant, with the
/// wrong-PIN count (and a dead offer) kept.
pub(crate) fn redeem(
    state: &AppState,
    tx: &Connection,
    code: &str,
    pin: &str,
    jkt: Option<&str>,
    now: u64,
) -> Result<Result<String, ApiError>, ApiError> {
    type Row = (
        i64,
        String,
        String,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let row: Option<Row> = tx
        .cached_row(
            "SELECT v.id, v.employee_number, v.pin_sha256, v.wrong_pins, v.expires_at,
               v.redeemed_at, v.dead_at, v.cancelled_at, o.used_at
             FROM vci_offers v JOIN offers o ON o.id = v.offer_id WHERE v.code_sha256 = ?1",
            [secret::hash("pre-authorized-code", &[code])],
            |r| Row::try_from(r),
        )
        .optional()
        .map_err(sql)?;
    let Some((id, n, pin_hash, wrong, expires_at, redeemed, dead, cancelled, gve1_used)) = row
    else {
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            "unknown pre-authorized code",
        )));
    };
    if dead.is_some() {
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            "offer is no longer usable",
        )));
    }
    if redeemed.is_some() || gve1_used.is_some() {
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            "pre-authorized code already used",
        )));
    }
    if cancelled.is_some() {
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            "offer was replaced by a newer one",
        )));
    }
    if now as i64 >= expires_at {
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            "pre-authorized code expired",
        )));
    }
    if secret::hash("tx-code", &[code, pin]) != pin_hash {
        let wrong = wrong + 1;
        let died = wrong >= MAX_WRONG_PINS;
        tx.cached_exec(
            "UPDATE vci_offers SET wrong_pins = ?2, dead_at = CASE WHEN ?3 THEN ?4 ELSE dead_at END WHERE id = ?1",
            params![id, wrong, died, now as i64],
        )
        .map_err(sql)?;
        if died {
            audit::append(
                tx,
                &state.signer,
                now,
                "vci_offer_dead",
                &json!({"employee_number": n, "vci_offer": id, "wrong_tx_codes": wrong}),
            )?;
        }
        let left = MAX_WRONG_PINS - wrong;
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            if died {
                "wrong transaction code; 0 tries left; offer is no longer usable".to_owned()
            } else {
                format!("wrong transaction code; {left} tries left")
            },
        )));
    }
    let active: bool = tx
        .cached_row(
            "SELECT state = 'active' FROM staff WHERE employee_number = ?1",
            [&n],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if !active {
        return Ok(Err(ApiError::bad(
            "invalid_grant",
            "offer is no longer usable",
        )));
    }
    let token = secret::random_token()?;
    tx.cached_exec(
        "UPDATE vci_offers SET redeemed_at = ?2 WHERE id = ?1",
        params![id, now as i64],
    )
    .map_err(sql)?;
    tx.cached_exec(
        "INSERT INTO vci_tokens(token_sha256, vci_offer_id, jkt, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![secret::hash("access-token", &[&token]), id, jkt, (now + TOKEN_SECS) as i64],
    )
    .map_err(sql)?;
    audit::append(
        tx,
        &state.signer,
        now,
        "vci_redeem",
        &json!({"employee_number": n, "vci_offer": id, "dpop": jkt.is_some()}),
    )?;
    Ok(Ok(token))
}

/// The stored token, if known and unexpired (on a read connection: a token is handed out only
/// once its batch committed).
pub(crate) fn token(conn: &Connection, token: &str, now: u64) -> Result<Option<Token>, ApiError> {
    conn.prepare_cached(
        "SELECT vci_offer_id, jkt FROM vci_tokens WHERE token_sha256 = ?1 AND expires_at > ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row(
            params![secret::hash("access-token", &[token]), now as i64],
            |r| {
                Ok(Token {
                    vci_offer_id: r.get(0)?,
                    jkt: r.get(1)?,
                })
            },
        )
        .optional()
    })
    .map_err(sql)
}

/// A DPoP proof's `jti` that passed the proof check, to be remembered until the proof could no
/// longer pass the `iat` check (RFC 9449 §11.1).
#[derive(Clone, Debug)]
pub(crate) struct Jti {
    /// SHA-256 of the proof key's thumbprint and the `jti`.
    pub(crate) hash: String,
    /// Unix seconds: the proof's `iat` plus the window. Part of the stored key (with the hash),
    /// so the used ids sit in expiry order; a replayed proof carries the same `iat`.
    pub(crate) until: u64,
}

impl Jti {
    /// The `jti` of a proof by the key with thumbprint `jkt`.
    pub(crate) fn new(jkt: &str, jti: &str, until: u64) -> Self {
        Self {
            hash: secret::hash("dpop-jti", &[jkt, jti]),
            until,
        }
    }
}

/// Remembers `jti`; `false` if it was seen already (by this or any instance, before or after a
/// restart, until it expires).
pub(crate) fn use_jti(tx: &Connection, jti: &Jti) -> Result<bool, ApiError> {
    let added = tx
        .prepare_cached(
            "INSERT INTO vci_used_jtis(expires_at, jti_sha256) VALUES (?1, ?2)
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![jti.until as i64, jti.hash]))
        .map_err(sql)?;
    Ok(added == 1)
}

/// Marks the (MAC-checked) `nonce`, which expires at `expires`, as used; `false` if it was used
/// already.
pub(crate) fn use_nonce(tx: &Connection, nonce: &str, expires: u64) -> Result<bool, ApiError> {
    let added = tx
        .prepare_cached(
            "INSERT INTO vci_used_nonces(expires_at, nonce_sha256) VALUES (?1, ?2)
             ON CONFLICT DO NOTHING",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![expires as i64, secret::hash("c-nonce", &[nonce])])
        })
        .map_err(sql)?;
    Ok(added == 1)
}

/// A credential ready to send: its text and the delivery row that records it.
pub(crate) struct Prepared {
    pub(crate) credential: String,
    pub(crate) delivery_id: i64,
    pub(crate) notification_id: String,
}

/// Binds `holder` (the first proof's key) to the offer's staff member if no key is bound yet
/// (their enrollment), issues their credentials if this offer has not yet (exactly as `issue`),
/// and records the delivery of `configuration` as prepared.
///
/// In a writer job; an `Err` leaves nothing of it (the caller's savepoint is rolled back).
pub(crate) fn prepare(
    state: &AppState,
    tx: &Connection,
    token: &Token,
    configuration: &str,
    holder: &govid_core::jose::PublicKey,
    now: u64,
) -> Result<Prepared, ApiError> {
    let denied = |d: &str| ApiError::bad("credential_request_denied", d);
    type Row = (
        i64,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    let (offer_id, n, bound, credential, cancelled, gve1_used): Row = tx
        .cached_row(
            "SELECT v.offer_id, v.employee_number, v.holder_thumbprint, v.credential_id,
               v.cancelled_at, o.used_at
             FROM vci_offers v JOIN offers o ON o.id = v.offer_id WHERE v.id = ?1",
            [token.vci_offer_id],
            |r| Row::try_from(r),
        )
        .map_err(sql)?;
    if cancelled.is_some() {
        return Err(denied("offer was replaced by a newer one"));
    }
    let state_now: String = tx
        .cached_row(
            "SELECT state FROM staff WHERE employee_number = ?1",
            [&n],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if state_now != "active" {
        return Err(denied("staff member is not active"));
    }
    let thumbprint = holder.thumbprint();
    match &bound {
        Some(b) if *b != thumbprint => {
            return Err(denied(
                "another phone key is already bound to this offer; ask HR for a new offer",
            ))
        }
        Some(_) => {}
        None if gve1_used.is_some() => {
            // The offer's `GVE1:` code enrolled a phone (`enroll`) after this token was
            // redeemed: only that phone's key may receive.
            let enrolled: Option<String> = tx
                .cached_row(
                    "SELECT holder_thumbprint FROM staff WHERE employee_number = ?1",
                    [&n],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if enrolled.as_deref() != Some(thumbprint.as_str()) {
                return Err(denied(
                    "this offer's enrollment code enrolled another phone key; ask HR for a new offer",
                ));
            }
            tx.cached_exec(
                "UPDATE vci_offers SET holder_thumbprint = ?2 WHERE id = ?1",
                params![token.vci_offer_id, thumbprint],
            )
            .map_err(sql)?;
        }
        None => {
            let other: Option<String> = tx
                .cached_row(
                    "SELECT employee_number FROM staff WHERE holder_thumbprint = ?1",
                    [&thumbprint],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql)?;
            if other.is_some_and(|o| o != n) {
                return Err(denied(
                    "this phone key is enrolled for another staff member",
                ));
            }
            tx.cached_exec(
                "UPDATE staff SET holder_jwk = ?2, holder_thumbprint = ?3, enrolled_at = ?4,
                   updated_at = ?4 WHERE employee_number = ?1",
                params![n, holder.to_jwk().to_string(), thumbprint, now as i64],
            )
            .map_err(sql)?;
            tx.cached_exec(
                "UPDATE offers SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL",
                params![offer_id, now as i64],
            )
            .map_err(sql)?;
            tx.cached_exec(
                "UPDATE vci_offers SET holder_thumbprint = ?2 WHERE id = ?1",
                params![token.vci_offer_id, thumbprint],
            )
            .map_err(sql)?;
            audit::append(
                tx,
                &state.signer,
                now,
                "enroll",
                &json!({"employee_number": n, "holder_key": thumbprint, "via": "openid4vci"}),
            )?;
        }
    }
    let credential_id = match credential {
        Some(id) => id,
        None => {
            let issuer = IssuerRef {
                did: &state.did,
                status_base: &state.status_base,
                list_capacity: state.list_capacity,
            };
            let mut cache = state
                .list_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(id) = issue_one(
                tx,
                &issuer,
                &state.signer,
                &n,
                (now, state.max_days),
                &mut cache,
            )?
            else {
                return Err(denied(
                    "no ID can be issued to this staff member (contract ended?)",
                ));
            };
            tx.cached_exec(
                "UPDATE vci_offers SET credential_id = ?2 WHERE id = ?1",
                params![token.vci_offer_id, id],
            )
            .map_err(sql)?;
            id
        }
    };
    let table = if configuration == govid_core::oid4vci::GATE_PASS_CONFIGURATION {
        "gate_pass_texts"
    } else {
        "credential_texts"
    };
    let (text, status): (String, i64) = tx
        .cached_row(
            &format!(
                "SELECT t.sd_jwt, c.status FROM {table} t JOIN credentials c ON c.id = t.credential_id
                 WHERE t.credential_id = ?1"
            ),
            [credential_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sql)?;
    if status != 0 {
        return Err(denied("this ID has been suspended or revoked"));
    }
    let notification_id = secret::random_token()?;
    let notification_hash = secret::hash("notification-id", &[&notification_id]);
    tx.cached_exec(
        "INSERT INTO vci_deliveries(vci_offer_id, credential_id, configuration,
           notification_sha256, prepared_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(vci_offer_id, configuration) DO UPDATE SET
           notification_sha256 = excluded.notification_sha256, prepared_at = excluded.prepared_at",
        params![
            token.vci_offer_id,
            credential_id,
            configuration,
            notification_hash,
            now as i64
        ],
    )
    .map_err(sql)?;
    let delivery_id: i64 = tx
        .cached_row(
            "SELECT id FROM vci_deliveries WHERE vci_offer_id = ?1 AND configuration = ?2",
            params![token.vci_offer_id, configuration],
            |r| r.get(0),
        )
        .map_err(sql)?;
    super::fault::pause("credential:issued-uncommitted");
    Ok(Prepared {
        credential: text,
        delivery_id,
        notification_id,
    })
}

/// Records that delivery `id` was sent whole (the first time only). In a writer job.
pub(crate) fn delivered(
    state: &AppState,
    tx: &Connection,
    id: i64,
    now: u64,
) -> Result<(), ApiError> {
    let changed = tx
        .execute(
            "UPDATE vci_deliveries SET delivered_at = ?2 WHERE id = ?1 AND delivered_at IS NULL",
            params![id, now as i64],
        )
        .map_err(sql)?;
    if changed == 1 {
        let (n, credential_id, configuration): (String, i64, String) = tx
            .cached_row(
                "SELECT v.employee_number, d.credential_id, d.configuration FROM vci_deliveries d
                 JOIN vci_offers v ON v.id = d.vci_offer_id WHERE d.id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(sql)?;
        audit::append(
            tx,
            &state.signer,
            now,
            "vci_deliver",
            &json!({"employee_number": n, "credential_id": credential_id,
                    "configuration": configuration}),
        )?;
    }
    Ok(())
}

/// Records a wallet's notification; `false` if `notification_id` is not one of this offer's.
/// In a writer job.
pub(crate) fn notify(
    state: &AppState,
    tx: &Connection,
    token: &Token,
    notification_id: &str,
    event: &str,
    now: u64,
) -> Result<bool, ApiError> {
    let row: Option<(i64, String, i64, String)> = tx
        .cached_row(
            "SELECT d.id, v.employee_number, d.credential_id, d.configuration FROM vci_deliveries d
             JOIN vci_offers v ON v.id = d.vci_offer_id
             WHERE d.notification_sha256 = ?1 AND d.vci_offer_id = ?2",
            params![
                secret::hash("notification-id", &[notification_id]),
                token.vci_offer_id
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(sql)?;
    let Some((id, n, credential_id, configuration)) = row else {
        return Ok(false);
    };
    tx.cached_exec(
        "UPDATE vci_deliveries SET event = ?2, event_at = ?3 WHERE id = ?1",
        params![id, event, now as i64],
    )
    .map_err(sql)?;
    audit::append(
        tx,
        &state.signer,
        now,
        "vci_notification",
        &json!({"employee_number": n, "credential_id": credential_id,
                "configuration": configuration, "event": event}),
    )?;
    Ok(true)
}

/// `staff show`'s line for a credential `serve` issued to a phone: received (the response was
/// sent whole), or issued but not delivered (the request broke off, or the service stopped,
/// before the response went out: the phone's retry with its access token gets the same
/// credential, or a new offer a reissue).
pub(crate) fn delivery_note(
    conn: &Connection,
    credential_id: i64,
) -> crate::error::CliResult<Option<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT configuration, prepared_at, delivered_at, event FROM vci_deliveries
         WHERE credential_id = ?1 ORDER BY configuration DESC",
    )?;
    let rows = stmt
        .query_map([credential_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let parts: Vec<String> = rows
        .iter()
        .map(|(c, prepared, delivered, event)| {
            let what = if c == "gate_pass" {
                "gate pass"
            } else {
                "worker ID"
            };
            let Some(at) = delivered else {
                return format!(
                    "{what} issued for the phone at {}, not delivered yet",
                    crate::clock::timestamp(*prepared as u64)
                );
            };
            let confirmed = match event.as_deref() {
                Some("credential_accepted") => " (the wallet confirmed it)",
                Some("credential_deleted") => " (the holder deleted it)",
                Some("credential_failure") => " (the wallet reported a failure)",
                _ => "",
            };
            format!(
                "{what} received on phone at {}{confirmed}",
                crate::clock::timestamp(*at as u64)
            )
        })
        .collect();
    Ok(Some(parts.join("; ")))
}
