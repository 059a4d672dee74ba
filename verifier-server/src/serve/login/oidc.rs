//! The OpenID Connect bridge: an OpenID Provider (OpenID Connect Core 1.0, authorization code
//! flow with PKCE, RFC 7636 S256 only) whose users log in with the worker ID.
//!
//! Written here, not taken from a crate: the Rust OIDC crates are clients (`openidconnect`,
//! whose types could describe a provider but bring `oauth2` and an HTTP client) or OAuth 2
//! servers without OpenID Connect (`oxide-auth`, unreleased since 2023). The provider part is
//! small: discovery, a JWKS, one-time codes bound to the client, its `redirect_uri` and the PKCE
//! challenge, an ID token signed ES256 with the login key (core's JWS), and userinfo. It is
//! tested against an unmodified client, the npm package `openid-client`.
//!
//! `sub` is pairwise by default (§8.1): HMAC-SHA-256 under the service's pairwise secret of
//! the client id, the credential issuer and the employee number, so two applications cannot
//! join their users by `sub`; a client configured with `subject = "employee_number"` gets the
//! employee number itself.

use std::collections::HashMap;
use std::sync::Mutex;

use govid_core::jose::{sign_compact, Signer};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::config::{Client, LoginConfig, Subject};
use crate::serve::decide::select;
use crate::serve::{random_token, secrets_equal};

/// How long an authorization code lives, in seconds.
pub(crate) const CODE_LIFETIME_SECS: u64 = 60;

/// How long an access token (for userinfo) and an ID token live, in seconds.
pub(crate) const TOKEN_LIFETIME_SECS: u64 = 300;

/// Most codes and tokens held at once (each expires within minutes).
const MAX_GRANTS: usize = 100_000;

/// A code handed to the client's redirect URI.
struct Code {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    claims: Map<String, Value>,
    sub: String,
    auth_time: u64,
    expires: u64,
    /// Set when redeemed; a second redemption revokes what the first issued (RFC 6749 §4.1.2).
    redeemed_token: Option<[u8; 32]>,
}

/// An access token for userinfo.
struct Token {
    claims: Map<String, Value>,
    sub: String,
    expires: u64,
}

/// Why the token endpoint refused (RFC 6749 §5.2).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// 400 `invalid_request`.
    InvalidRequest(&'static str),
    /// 401 `invalid_client`.
    InvalidClient,
    /// 400 `invalid_grant`.
    InvalidGrant(&'static str),
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
}

impl TokenError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    pub(crate) fn description(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(d) | TokenError::InvalidGrant(d) => d,
            TokenError::InvalidClient => "client authentication failed",
            TokenError::UnsupportedGrantType => "only authorization_code is supported",
        }
    }
}

/// What the token endpoint received (form parameters and client authentication).
pub(crate) struct TokenRequest<'a> {
    pub(crate) grant_type: Option<&'a str>,
    pub(crate) code: Option<&'a str>,
    pub(crate) redirect_uri: Option<&'a str>,
    pub(crate) code_verifier: Option<&'a str>,
    /// From HTTP Basic, or the form's `client_id`.
    pub(crate) client_id: Option<&'a str>,
    /// From HTTP Basic, or the form's `client_secret`.
    pub(crate) client_secret: Option<&'a str>,
}

#[derive(Default)]
struct Grants {
    codes: HashMap<[u8; 32], Code>,
    tokens: HashMap<[u8; 32], Token>,
}

impl Grants {
    fn prune(&mut self, now: u64) {
        self.codes.retain(|_, c| c.expires >= now);
        self.tokens.retain(|_, t| t.expires >= now);
    }
}

/// The provider's state: codes and tokens (stored by their SHA-256, never in the clear).
pub(crate) struct Provider {
    pairwise: [u8; 32],
    grants: Mutex<Grants>,
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let ok_chars = verifier
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    (43..=128).contains(&verifier.len())
        && ok_chars
        && secrets_equal(
            &govid_core::b64::encode(Sha256::digest(verifier.as_bytes())),
            challenge,
        )
}

/// HMAC-SHA-256 (RFC 2104, the `hmac` crate as the issuer uses it), for pairwise subjects.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> Option<[u8; 32]> {
    use hmac::Mac as _;
    let mut mac = <hmac::Hmac<Sha256> as hmac::Mac>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().into())
}

impl Provider {
    pub(crate) fn new(pairwise: [u8; 32]) -> Self {
        Self {
            pairwise,
            grants: Mutex::new(Grants::default()),
        }
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.grants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `sub` of the person with `employee_number` (from `issuer`) for `client`; `None` only
    /// if HMAC refused the key (it takes any length).
    pub(crate) fn subject(
        &self,
        client: &Client,
        issuer: &str,
        employee_number: &str,
    ) -> Option<String> {
        match client.subject {
            Subject::EmployeeNumber => Some(employee_number.to_owned()),
            Subject::Pairwise => {
                let mut message = Vec::new();
                for part in [
                    "govid-pairwise-v1",
                    &client.client_id,
                    issuer,
                    employee_number,
                ] {
                    message.extend_from_slice(&(part.len() as u64).to_be_bytes());
                    message.extend_from_slice(part.as_bytes());
                }
                hmac_sha256(&self.pairwise, &message).map(govid_core::b64::encode)
            }
        }
    }

    /// A one-time code for a finished login; `None` when the provider is full.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn issue_code(
        &self,
        client: &Client,
        redirect_uri: &str,
        code_challenge: &str,
        nonce: Option<String>,
        disclosed: &Map<String, Value>,
        issuer: &str,
        now: u64,
    ) -> Option<String> {
        let employee_number = disclosed
            .get("employee_number")
            .and_then(Value::as_str)?
            .to_owned();
        let claims = select(disclosed, &client.claims);
        let sub = self.subject(client, issuer, &employee_number)?;
        let code = random_token(32);
        let mut grants = self.grants();
        grants.prune(now);
        if grants.codes.len() >= MAX_GRANTS {
            return None;
        }
        grants.codes.insert(
            digest(&code),
            Code {
                client_id: client.client_id.clone(),
                redirect_uri: redirect_uri.to_owned(),
                code_challenge: code_challenge.to_owned(),
                nonce,
                claims,
                sub,
                auth_time: now,
                expires: now + CODE_LIFETIME_SECS,
                redeemed_token: None,
            },
        );
        Some(code)
    }

    /// The token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6): the token response JSON.
    pub(crate) fn token(
        &self,
        config: &LoginConfig,
        request: &TokenRequest<'_>,
        now: u64,
    ) -> Result<Value, TokenError> {
        match request.grant_type {
            Some("authorization_code") => {}
            Some(_) => return Err(TokenError::UnsupportedGrantType),
            None => return Err(TokenError::InvalidRequest("grant_type is missing")),
        }
        let client_id = request.client_id.ok_or(TokenError::InvalidClient)?;
        let client = config.client(client_id).ok_or(TokenError::InvalidClient)?;
        match (&client.secret, request.client_secret) {
            (Some(secret), Some(given)) if secrets_equal(secret, given) => {}
            (None, None) => {}
            _ => return Err(TokenError::InvalidClient),
        }
        let code = request
            .code
            .ok_or(TokenError::InvalidRequest("code is missing"))?;
        let verifier = request.code_verifier.ok_or(TokenError::InvalidRequest(
            "code_verifier is missing (PKCE is required)",
        ))?;
        let mut grants = self.grants();
        grants.prune(now);
        let key = digest(code);
        let redeemed = grants
            .codes
            .get(&key)
            .ok_or(TokenError::InvalidGrant("the code is unknown or expired"))?
            .redeemed_token;
        if let Some(token) = redeemed {
            // A code used twice: revoke the token the first use got.
            grants.tokens.remove(&token);
            grants.codes.remove(&key);
            return Err(TokenError::InvalidGrant("the code was already used"));
        }
        let access_token = random_token(32);
        let token_key = digest(&access_token);
        let Some(grant) = grants.codes.get_mut(&key) else {
            return Err(TokenError::InvalidGrant("the code is unknown or expired"));
        };
        if grant.client_id != client.client_id {
            return Err(TokenError::InvalidGrant(
                "the code was issued to another client",
            ));
        }
        if request.redirect_uri != Some(grant.redirect_uri.as_str()) {
            return Err(TokenError::InvalidGrant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        if !pkce_matches(verifier, &grant.code_challenge) {
            return Err(TokenError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        grant.redeemed_token = Some(token_key);
        let mut id_claims = Map::new();
        id_claims.insert("iss".into(), json!(config.public_url));
        id_claims.insert("sub".into(), json!(grant.sub));
        id_claims.insert("aud".into(), json!(client.client_id));
        id_claims.insert("iat".into(), json!(now));
        id_claims.insert("exp".into(), json!(now + TOKEN_LIFETIME_SECS));
        id_claims.insert("auth_time".into(), json!(grant.auth_time));
        if let Some(nonce) = &grant.nonce {
            id_claims.insert("nonce".into(), json!(nonce));
        }
        // The worker ID was presented with a key held by the phone (RFC 8176 `amr` `hwk`:
        // proof of possession of a hardware-secured key).
        id_claims.insert("amr".into(), json!(["hwk"]));
        for (name, value) in &grant.claims {
            id_claims
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
        let token = Token {
            claims: grant.claims.clone(),
            sub: grant.sub.clone(),
            expires: now + TOKEN_LIFETIME_SECS,
        };
        grants.tokens.insert(token_key, token);
        drop(grants);
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        let id_token = sign_compact(header, &id_claims, config.signer.as_ref())
            .map_err(|_| TokenError::InvalidGrant("the ID token could not be signed"))?;
        Ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECS,
            "id_token": id_token,
            "scope": "openid",
        }))
    }

    /// Userinfo (OpenID Connect Core §5.3) for a bearer token.
    pub(crate) fn userinfo(&self, access_token: &str, now: u64) -> Option<Value> {
        let grants = self.grants();
        let token = grants
            .tokens
            .get(&digest(access_token))
            .filter(|t| t.expires >= now)?;
        let mut claims = token.claims.clone();
        claims.insert("sub".into(), json!(token.sub));
        Some(Value::Object(claims))
    }
}

/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3).
pub(crate) fn discovery(config: &LoginConfig) -> Value {
    let base = &config.public_url;
    let mut claims: Vec<String> = [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "amr",
    ]
    .map(str::to_owned)
    .to_vec();
    for path in &config.claims {
        if let Some(govid_core::sdjwt::PathSegment::Key(top)) = path.0.first() {
            if !claims.contains(top) {
                claims.push(top.clone());
            }
        }
    }
    json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid"],
        "claims_supported": claims,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// `/jwks`: the login key's public half.
pub(crate) fn jwks(config: &LoginConfig) -> Value {
    let mut jwk = config.signer.public_key().to_jwk();
    if let Value::Object(map) = &mut jwk {
        map.insert("kid".into(), json!(config.signer.kid));
        map.insert("use".into(), json!("sig"));
        map.insert("alg".into(), json!("ES256"));
    }
    json!({ "keys": [jwk] })
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B's example.
    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches("short", challenge));
    }

    /// RFC 4231 test case 2 shape: HMAC-SHA-256 agrees with a known value (key padded to 32).
    #[test]
    fn hmac_sha256_matches_rfc_4231_case_1() {
        // Case 1: key = 0x0b * 20 (here zero-padded to 32 bytes, which HMAC does anyway).
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        let mac = hmac_sha256(&key, b"Hi There").expect("any key length");
        assert_eq!(
            hex(&mac),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
