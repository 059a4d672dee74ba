//! Connecting to govid's PostgreSQL (the gates' fleet store, the issuer's database): the URL,
//! and TLS on rustls with the ring provider (as the gate's HTTPS), through
//! `tokio-postgres-rustls` (which also gives SCRAM its `tls-server-end-point` channel binding).
//!
//! Errors are phrased without the name of the setting that holds the URL (`[store] url`,
//! `--db`): the caller puts it in front. They never repeat the URL (it may hold a password).
//!
//! The URL's `sslmode` says what is required, with libpq's names:
//!
//! - `verify-full` (the default): TLS, the server's certificate chained to `sslrootcert` and
//!   naming the host of the URL. The only mode that stops an attacker on the path.
//! - `verify-ca`: TLS, the chain checked, the host name not.
//! - `require`: TLS, the certificate not checked (as libpq, checked as `verify-ca` when
//!   `sslrootcert` is given): protects against a passive listener only.
//! - `disable`: plain TCP (a database on this machine, or a trusted private network).
//!
//! `prefer` and `allow`, which fall back to plain text when TLS fails (a fallback an attacker
//! can force), are refused. `sslrootcert=FILE` is a PEM file of the CA certificates to trust
//! (a private CA); `sslrootcert=system` trusts the public web's CAs (Mozilla's list, built in).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS, the certificate not checked (unless `sslrootcert` is given).
    Require,
    /// TLS, the chain checked, not the host name.
    VerifyCa,
    /// TLS, the chain and the host name checked (the default).
    VerifyFull,
}

impl SslMode {
    /// The mode's name in a URL.
    pub fn word(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Which CA certificates to trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// None given (`require` without `sslrootcert`: nothing is checked).
    None,
    /// `sslrootcert=FILE`.
    File(PathBuf),
    /// `sslrootcert=system`.
    System,
}

/// The TLS settings taken out of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgTls {
    /// What is required of the connection.
    pub mode: SslMode,
    /// Whom to trust.
    pub roots: Roots,
}

/// Splits `sslmode` and `sslrootcert` out of a `postgres://` URL: the URL without them (for
/// tokio-postgres, which knows neither `verify-*` nor `sslrootcert`) and the TLS settings.
/// Errors never repeat the URL (it may hold a password).
pub fn split(url: &str) -> Result<(String, PgTls), String> {
    // The query starts at the first `?` after the user info (a password may hold a `?` only
    // percent-encoded, but be safe).
    let after_at = url.rfind('@').map_or(0, |i| i + 1);
    let (base, query) = match url[after_at..].find('?') {
        Some(i) => (&url[..after_at + i], &url[after_at + i + 1..]),
        None => (url, ""),
    };
    let mut mode = None;
    let mut roots = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                mode = Some(match decode(value).as_deref() {
                    Some("disable") => SslMode::Disable,
                    Some("require") => SslMode::Require,
                    Some("verify-ca") => SslMode::VerifyCa,
                    Some("verify-full") => SslMode::VerifyFull,
                    Some(weak @ ("prefer" | "allow")) => {
                        return Err(format!(
                            "url: sslmode={weak} is refused: it falls back to plain text \
                             when TLS fails, which an attacker on the path can force; use \
                             verify-full (the default), verify-ca, require or disable"
                        ))
                    }
                    _ => {
                        return Err("url: sslmode must be disable, require, verify-ca \
                                    or verify-full"
                            .to_owned())
                    }
                });
            }
            "sslrootcert" => {
                let value = decode(value).ok_or("url: sslrootcert is not percent-encoded text")?;
                roots = Some(match value.as_str() {
                    "" => return Err("url: sslrootcert is empty".to_owned()),
                    "system" => Roots::System,
                    path => Roots::File(PathBuf::from(path)),
                });
            }
            _ => rest.push(pair),
        }
    }
    let mode = mode.unwrap_or(SslMode::VerifyFull);
    let roots = roots.unwrap_or(Roots::None);
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && roots == Roots::None {
        return Err(format!(
            "url: sslmode={} (the default: the server's certificate is checked) needs \
             sslrootcert=FILE (a PEM file of the CA that signed the database's certificate) or \
             sslrootcert=system (the public web's CAs); sslmode=disable for a database reached \
             without TLS",
            mode.word()
        ));
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, PgTls { mode, roots }))
}

/// The connection settings and TLS connector for a `postgres://` URL (`sslmode` as above),
/// with `application_name` and a connect timeout. Connects nothing yet.
pub fn config(
    url: &str,
    application_name: &str,
    connect_timeout: std::time::Duration,
) -> Result<
    (
        tokio_postgres::Config,
        PgTls,
        tokio_postgres_rustls::MakeRustlsConnect,
    ),
    String,
> {
    let (rest, tls) = split(url)?;
    let mut config: tokio_postgres::Config = rest
        .parse()
        .map_err(|e| format!("url: not a PostgreSQL URL: {e}"))?;
    config.ssl_mode(if tls.mode == SslMode::Disable {
        tokio_postgres::config::SslMode::Disable
    } else {
        tokio_postgres::config::SslMode::Require
    });
    let connector = connector(&tls)?;
    config.connect_timeout(connect_timeout);
    config.application_name(application_name);
    Ok((config, tls, connector))
}

/// Percent-decoding of a query value (`None`: a bad escape or not UTF-8).
fn decode(text: &str) -> Option<String> {
    govid_core::url::percent_decode(text).ok()
}

/// The connector for `tls` (for `disable` too: tokio-postgres then never uses it).
pub fn connector(tls: &PgTls) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match &tls.roots {
        Roots::None => None,
        Roots::System => Some(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        Roots::File(path) => Some(read_roots(path)?),
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = match (tls.mode, roots) {
        (SslMode::VerifyFull, Some(roots)) => builder.with_root_certificates(roots),
        (SslMode::VerifyCa | SslMode::Require, Some(roots)) => {
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("TLS: {e}"))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(inner)))
        }
        (SslMode::Require | SslMode::Disable, None) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider))),
        (SslMode::Disable, Some(roots)) => builder.with_root_certificates(roots),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err("TLS: no sslrootcert to verify against".to_owned())
        }
    }
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Reads the CA certificates of `sslrootcert`.
fn read_roots(path: &std::path::Path) -> Result<RootCertStore, String> {
    let what = |e: &dyn std::fmt::Display| format!("sslrootcert {}: {e}", path.display());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| what(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| what(&e))?;
    if certs.is_empty() {
        return Err(what(&"no PEM certificate in it"));
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| what(&e))?;
    }
    Ok(roots)
}

/// `verify-ca`: the chain is checked, the name is not.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without `sslrootcert` (libpq's meaning): any certificate; the handshake's
/// signatures are still checked, so the session is encrypted to whoever holds that key.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> String {
        match split(url) {
            Err(e) => e,
            Ok(got) => panic!("accepted: {got:?}"),
        }
    }

    #[test]
    fn the_default_is_verify_full_and_needs_a_root() {
        let err = refused("postgres://gate:hunter2@db.example/govid");
        assert!(err.contains("sslmode=verify-full (the default"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let (url, tls) =
            split("postgres://gate:hunter2@db.example/govid?sslrootcert=%2Fetc%2Fca%20x.pem")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url, "postgres://gate:hunter2@db.example/govid");
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.roots, Roots::File("/etc/ca x.pem".into()));
    }

    #[test]
    fn other_parameters_stay_and_each_mode_parses() {
        let (url, tls) =
            split("postgresql://g@db/govid?application_name=x&sslmode=require&connect_timeout=3")
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            url,
            "postgresql://g@db/govid?application_name=x&connect_timeout=3"
        );
        assert_eq!(
            tls,
            PgTls {
                mode: SslMode::Require,
                roots: Roots::None
            }
        );
        let mode = |q: &str| split(&format!("postgres://g@db/x?{q}")).map(|(_, t)| t.mode);
        assert_eq!(mode("sslmode=disable"), Ok(SslMode::Disable));
        assert_eq!(
            mode("sslmode=verify-ca&sslrootcert=system"),
            Ok(SslMode::VerifyCa)
        );
        assert_eq!(
            split("postgres://g@db/x?sslrootcert=system").map(|(_, t)| t.roots),
            Ok(Roots::System)
        );
    }

    #[test]
    fn fallback_modes_and_unknown_modes_are_refused() {
        for weak in ["prefer", "allow"] {
            let err = refused(&format!("postgres://g:pw@db/x?sslmode={weak}"));
            assert!(err.contains(&format!("sslmode={weak} is refused")), "{err}");
        }
        let err = refused("postgres://g@db/x?sslmode=maybe");
        assert!(err.contains("sslmode must be"), "{err}");
        let err = refused("postgres://g@db/x?sslmode=disable&sslrootcert=");
        assert!(err.contains("sslrootcert is empty"), "{err}");
        let err = refused("postgres://g@db/x?sslmode=disable&sslrootcert=%zz");
        assert!(err.contains("not percent-encoded"), "{err}");
    }

    #[test]
    fn a_missing_or_empty_root_file_is_named() {
        let tls = PgTls {
            mode: SslMode::VerifyFull,
            roots: Roots::File("/nonexistent/ca.pem".into()),
        };
        match connector(&tls) {
            Err(e) => assert!(e.contains("sslrootcert /nonexistent/ca.pem"), "{e}"),
            Ok(_) => panic!("connector without a CA file"),
        }
        let dir = std::env::temp_dir().join(format!("govid-pgtls-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let empty = dir.join("empty.pem");
        let _ = std::fs::write(&empty, "not a certificate\n");
        let tls = PgTls {
            mode: SslMode::VerifyFull,
            roots: Roots::File(empty),
        };
        match connector(&tls) {
            Err(e) => assert!(e.contains("no PEM certificate"), "{e}"),
            Ok(_) => panic!("connector without a certificate"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
