//! `[login]` and `[[login.client]]`: the login service's part of the config file.

use std::path::{Path, PathBuf};

use govid_core::credential::WORKER_ID_VCT;
use govid_core::jose::{Algorithm, Signer, SoftwareSigner, WithKeyId};
use govid_core::oid4vp::DID_CLIENT_ID_PREFIX;
use govid_core::sdjwt::ClaimPath;
use govid_core::url::HttpUrl;
use serde::Deserialize;

/// `[login]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginSection {
    /// The origin every login URL is under (`https://login.ministry.example`).
    pub(crate) public_url: Option<String>,
    /// The verifier's DID (`did:web:…`); its document is served from `public_url`.
    pub(crate) did: Option<String>,
    /// The private P-256 JWK that signs request objects and ID tokens (mode 0600).
    pub(crate) signing_key: Option<PathBuf>,
    /// The name shown on the login page and sent to the wallet (`client_name`).
    pub(crate) name: Option<String>,
    /// The claims asked of the worker ID (slash form).
    pub(crate) claims: Option<Vec<String>>,
    /// Credential types accepted (default: the worker ID).
    pub(crate) accepted_vct: Option<Vec<String>>,
    /// How long a login request lives, in seconds (default 120).
    pub(crate) request_lifetime_secs: Option<u64>,
    /// Most login requests outstanding at once (default 10,000).
    pub(crate) max_pending: Option<usize>,
    /// The secret behind pairwise subject identifiers (default: `login-pairwise.secret` beside
    /// the signing key, made on first start, mode 0600).
    pub(crate) pairwise_secret_file: Option<PathBuf>,
    /// OpenID Connect clients.
    #[serde(default)]
    pub(crate) client: Vec<ClientSection>,
}

/// `[[login.client]]` as written.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientSection {
    pub(crate) client_id: Option<String>,
    /// `client_secret_basic` / `client_secret_post`; absent: a public client (PKCE only).
    pub(crate) client_secret: Option<String>,
    #[serde(default)]
    pub(crate) redirect_uris: Vec<String>,
    /// `pairwise` (default) or `employee_number`.
    pub(crate) subject: Option<String>,
    /// The claims this client receives (default: all of `[login] claims`).
    pub(crate) claims: Option<Vec<String>>,
}

impl std::fmt::Debug for ClientSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSection")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[elided]"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

impl LoginSection {
    /// Makes relative paths relative to the config file's directory.
    pub(crate) fn rebase(&mut self, base: &Path) {
        for path in [&mut self.signing_key, &mut self.pairwise_secret_file]
            .into_iter()
            .flatten()
        {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
}

/// What a client's `sub` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    /// HMAC of the issuer and employee number, keyed per client (OpenID Connect Core §8.1).
    Pairwise,
    /// The employee number itself (for applications whose accounts are keyed by it).
    EmployeeNumber,
}

/// A registered OpenID Connect client.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) client_id: String,
    pub(crate) secret: Option<String>,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) subject: Subject,
    pub(crate) claims: Vec<ClaimPath>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("confidential", &self.secret.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The checked `[login]` configuration.
#[derive(Clone)]
pub(crate) struct LoginConfig {
    /// Origin, without a trailing slash.
    pub(crate) public_url: String,
    pub(crate) did: String,
    /// `decentralized_identifier:<did>`: the `client_id` and the KB-JWT `aud`.
    pub(crate) client_id: String,
    /// Signs request objects and ID tokens; its `kid` is `<did>#login-key`.
    pub(crate) signer: std::sync::Arc<WithKeyId<SoftwareSigner>>,
    pub(crate) name: String,
    pub(crate) claims: Vec<ClaimPath>,
    pub(crate) accepted_vct: Vec<String>,
    pub(crate) request_lifetime_secs: u64,
    pub(crate) max_pending: usize,
    pub(crate) pairwise_secret_file: PathBuf,
    pub(crate) clients: Vec<Client>,
}

impl std::fmt::Debug for LoginConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginConfig")
            .field("public_url", &self.public_url)
            .field("did", &self.did)
            .field("claims", &self.claims.len())
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

/// The verification method fragment of the login key in the verifier's DID document.
pub(crate) const KEY_FRAGMENT: &str = "login-key";

fn parse_claims(list: &[String], what: &str) -> Result<Vec<ClaimPath>, String> {
    list.iter()
        .map(|c| ClaimPath::parse(c.trim()).map_err(|e| format!("{what}: `{c}`: {e}")))
        .collect()
}

/// Reads the signing key: a private P-256 JWK, not readable by others. A missing file is made
/// (a new key, mode 0600): the verifier's DID document is served from it, so nothing else needs
/// to know it in advance.
fn read_signing_key(path: &Path) -> Result<SoftwareSigner, String> {
    if !path.exists() {
        let key = SoftwareSigner::generate(Algorithm::ES256, &mut rand_core::OsRng);
        crate::serve::gatelog::write_private(path, key.to_private_jwk().to_string().as_bytes())?;
        tracing::info!(path = %path.display(), "login: made a new signing key");
        return Ok(key);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(format!(
                "{}: the login signing key is readable by others (chmod 600 it)",
                path.display()
            ));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let jwk: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| format!("{}: not a JSON Web Key", path.display()))?;
    let signer =
        SoftwareSigner::from_private_jwk(&jwk).map_err(|e| format!("{}: {e}", path.display()))?;
    if signer.algorithm() != Algorithm::ES256 {
        return Err(format!(
            "{}: the login signing key must be P-256 (ES256: HAIP 1.0 and every OpenID \
             Connect client support it)",
            path.display()
        ));
    }
    Ok(signer)
}

impl LoginConfig {
    /// Checks `[login]`.
    pub(crate) fn from_section(section: LoginSection) -> Result<Self, String> {
        let public_url = section
            .public_url
            .ok_or("[login] public_url is required")?
            .trim_end_matches('/')
            .to_owned();
        let parsed = HttpUrl::parse(&public_url)
            .map_err(|e| format!("[login] public_url `{public_url}`: {e}"))?;
        if !parsed.path.is_empty() || parsed.query.is_some() {
            return Err("[login] public_url must be an origin (no path)".to_owned());
        }
        let did = section.did.ok_or("[login] did is required (did:web:…)")?;
        let client_id = format!("{DID_CLIENT_ID_PREFIX}{did}");
        let authority = govid_core::oid4vp::request::did_web_authority(&did)
            .map_err(|_| format!("[login] did `{did}` is not a did:web DID"))?;
        if authority != parsed.authority {
            return Err(format!(
                "[login] did `{did}` is not on public_url's host `{}`: wallets send the \
                 response only to the DID's host",
                parsed.authority
            ));
        }
        let key_path = section
            .signing_key
            .ok_or("[login] signing_key is required (a private P-256 JWK)")?;
        let key = read_signing_key(&key_path)?;
        let signer = std::sync::Arc::new(WithKeyId {
            signer: key,
            kid: format!("{did}#{KEY_FRAGMENT}"),
        });
        let claims = parse_claims(
            &section.claims.unwrap_or_else(|| {
                [
                    "given_name",
                    "family_name",
                    "organization/name",
                    "position",
                    "employee_number",
                ]
                .map(str::to_owned)
                .to_vec()
            }),
            "[login] claims",
        )?;
        if claims.is_empty() {
            return Err("[login] claims: ask for at least one claim".to_owned());
        }
        let employee_number = ClaimPath::key("employee_number");
        let mut clients: Vec<Client> = Vec::new();
        for (i, c) in section.client.into_iter().enumerate() {
            let client_id = c
                .client_id
                .filter(|id| !id.trim().is_empty())
                .ok_or(format!(
                    "[[login.client]] #{}: client_id is required",
                    i + 1
                ))?;
            if clients.iter().any(|k| k.client_id == client_id) {
                return Err(format!("[[login.client]] `{client_id}` appears twice"));
            }
            if c.redirect_uris.is_empty() {
                return Err(format!(
                    "[[login.client]] `{client_id}`: redirect_uris is required"
                ));
            }
            for uri in &c.redirect_uris {
                HttpUrl::parse(uri).map_err(|e| {
                    format!("[[login.client]] `{client_id}`: redirect_uri `{uri}`: {e}")
                })?;
            }
            if c.client_secret.as_ref().is_some_and(|s| s.len() < 16) {
                return Err(format!(
                    "[[login.client]] `{client_id}`: client_secret shorter than 16 characters"
                ));
            }
            let subject = match c.subject.as_deref().unwrap_or("pairwise") {
                "pairwise" => Subject::Pairwise,
                "employee_number" => Subject::EmployeeNumber,
                other => {
                    return Err(format!(
                        "[[login.client]] `{client_id}`: subject `{other}` (pairwise, \
                         employee_number)"
                    ))
                }
            };
            let client_claims = match c.claims {
                None => claims.clone(),
                Some(list) => {
                    let list = parse_claims(&list, "[[login.client]] claims")?;
                    if let Some(extra) = list.iter().find(|c| !claims.contains(c)) {
                        return Err(format!(
                            "[[login.client]] `{client_id}`: claim `{extra}` is not one [login] \
                             claims asks for"
                        ));
                    }
                    list
                }
            };
            clients.push(Client {
                client_id,
                secret: c.client_secret,
                redirect_uris: c.redirect_uris,
                subject,
                claims: client_claims,
            });
        }
        if !clients.is_empty() && !claims.contains(&employee_number) {
            return Err(
                "[login] claims must include employee_number when clients are registered: the \
                 subject identifier is derived from it"
                    .to_owned(),
            );
        }
        let pairwise_secret_file = section.pairwise_secret_file.unwrap_or_else(|| {
            key_path
                .parent()
                .unwrap_or(Path::new("."))
                .join("login-pairwise.secret")
        });
        Ok(Self {
            public_url,
            did,
            client_id,
            signer,
            name: section
                .name
                .unwrap_or_else(|| "govid login".to_owned())
                .chars()
                .take(100)
                .collect(),
            claims,
            accepted_vct: section
                .accepted_vct
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| vec![WORKER_ID_VCT.to_owned()]),
            request_lifetime_secs: section.request_lifetime_secs.unwrap_or(120).clamp(30, 600),
            max_pending: section.max_pending.unwrap_or(10_000).clamp(1, 1_000_000),
            pairwise_secret_file,
            clients,
        })
    }

    /// The client registered as `client_id`.
    pub(crate) fn client(&self, client_id: &str) -> Option<&Client> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}

#[cfg(test)]
// Tests: a panic is the failure report.
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::serve::config::FileConfig;

    const EXAMPLE: &str = include_str!("../../../examples/login.toml");

    /// The sample config parses, and so does every commented-out setting in it.
    #[test]
    fn the_example_parses_with_every_commented_setting() {
        let parsed: FileConfig = toml::from_str(EXAMPLE).unwrap();
        let login = parsed.login.unwrap();
        assert_eq!(login.client.len(), 1);
        let uncommented: String = EXAMPLE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let all: FileConfig = toml::from_str(&uncommented).unwrap();
        let login = all.login.unwrap();
        assert!(login.accepted_vct.is_some() && login.max_pending.is_some());
        assert!(login.client[0].claims.is_some());
    }

    fn section(dir: &Path) -> LoginSection {
        LoginSection {
            public_url: Some("https://login.mot.example".into()),
            did: Some("did:web:login.mot.example".into()),
            signing_key: Some(dir.join("key.jwk")),
            ..LoginSection::default()
        }
    }

    /// A directory of its own, removed at the end of the test.
    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("govid-login-{name}-"))
            .tempdir()
            .unwrap()
    }

    #[test]
    fn a_missing_key_is_made_private_and_then_read_back() {
        let tmp = temp_dir("key");
        let dir = tmp.path();
        let first = LoginConfig::from_section(section(dir)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join("key.jwk"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = LoginConfig::from_section(section(dir)).unwrap();
        assert_eq!(first.signer.public_key(), second.signer.public_key());
        assert_eq!(
            first.client_id,
            "decentralized_identifier:did:web:login.mot.example"
        );
        assert_eq!(first.signer.kid, "did:web:login.mot.example#login-key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.join("key.jwk"), std::fs::Permissions::from_mode(0o644))
                .unwrap();
            let err = LoginConfig::from_section(section(dir)).err().unwrap();
            assert!(err.contains("readable by others"), "{err}");
        }
    }

    #[test]
    fn misconfigurations_are_refused_with_what_to_fix() {
        let tmp = temp_dir("bad");
        let dir = tmp.path();
        let refused = |edit: &dyn Fn(&mut LoginSection)| {
            let mut s = section(dir);
            edit(&mut s);
            LoginConfig::from_section(s).err().unwrap()
        };
        assert!(
            refused(&|s| s.did = Some("did:web:elsewhere.example".into()))
                .contains("is not on public_url's host")
        );
        assert!(
            refused(&|s| s.public_url = Some("http://login.mot.example".into()))
                .contains("plain http is refused")
        );
        assert!(
            refused(&|s| s.public_url = Some("https://login.mot.example/app".into()))
                .contains("must be an origin")
        );
        let client = |claims: Option<Vec<String>>| ClientSection {
            client_id: Some("app".into()),
            redirect_uris: vec!["https://app.mot.example/cb".into()],
            claims,
            ..ClientSection::default()
        };
        assert!(refused(&|s| {
            s.claims = Some(vec!["given_name".into()]);
            s.client = vec![client(None)];
        })
        .contains("must include employee_number"));
        assert!(
            refused(&|s| s.client = vec![client(Some(vec!["birthdate".into()]))])
                .contains("is not one [login] claims asks for")
        );
        assert!(refused(&|s| s.client = vec![client(None), client(None)]).contains("appears twice"));
        assert!(refused(&|s| {
            let mut c = client(None);
            c.client_secret = Some("short".into());
            s.client = vec![c];
        })
        .contains("shorter than 16"));
    }
}
