//! The wallet library's [`HttpClient`], implemented with ureq (rustls, webpki roots), as an
//! Android app implements it with OkHttp: timeouts, no redirects, bounded bodies. The library
//! decides which URLs may be fetched (https, or http on loopback only) before calling `send`.
//! HTTPS trusts the Mozilla roots (webpki-roots), or only the certificates of `--ca FILE`.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use govid_ffi::{HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse};

/// The whole exchange (connect, send, read) must finish within this.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Connecting must succeed within this (a host that is down fails fast).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// HTTP for the wallet: environment proxies for remote hosts, direct to loopback.
pub(crate) struct UreqHttp {
    remote: ureq::Agent,
    direct: ureq::Agent,
}

/// The largest `--ca` file read, in bytes.
const MAX_CA_FILE: u64 = 1024 * 1024;

/// The root certificates of `--ca FILE`: every certificate of a PEM file.
fn read_ca(path: &Path) -> Result<ureq::tls::RootCerts, String> {
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE + 1).read_to_end(&mut pem))
        .map_err(|e| format!("--ca {}: {e}", path.display()))?;
    if pem.len() as u64 > MAX_CA_FILE {
        return Err(format!("--ca {}: larger than 1 MiB", path.display()));
    }
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(format!("--ca {}: {e}", path.display())),
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "--ca {}: no PEM certificate in the file",
            path.display()
        ));
    }
    Ok(ureq::tls::RootCerts::new_with_certs(&certs))
}

impl UreqHttp {
    /// The client. With `ca`, HTTPS trusts only the certificates of that PEM file (a pilot's
    /// own CA, a test certificate) instead of the built-in web roots.
    pub(crate) fn new(ca: Option<&Path>) -> Result<Self, String> {
        let roots = match ca {
            Some(path) => read_ca(path)?,
            None => ureq::tls::RootCerts::WebPki,
        };
        let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
        let config = |proxy: Option<ureq::Proxy>| {
            ureq::Agent::config_builder()
                .tls_config(tls.clone())
                .timeout_global(Some(TIMEOUT))
                .timeout_connect(Some(CONNECT_TIMEOUT))
                .http_status_as_error(false)
                // The library reads 3xx as an unexpected status: nothing is followed.
                .max_redirects(0)
                .proxy(proxy)
                .user_agent(concat!("govid-wallet/", env!("CARGO_PKG_VERSION")))
                .build()
                .new_agent()
        };
        Ok(Self {
            remote: config(ureq::Proxy::try_from_env()),
            direct: config(None),
        })
    }

    fn agent(&self, url: &str) -> &ureq::Agent {
        if is_loopback_url(url) {
            &self.direct
        } else {
            &self.remote
        }
    }

    /// `GET url`, for the files the CLI itself fetches (an issuer's JWK Set): https, or http on
    /// loopback. Returns the body of a 200 answer, at most `max` bytes.
    pub(crate) fn get_file(&self, url: &str, max: u64) -> Result<Vec<u8>, String> {
        if !(url.starts_with("https://") || (url.starts_with("http://") && is_loopback_url(url))) {
            return Err("only https URLs (or http on this machine) are fetched".to_owned());
        }
        let response = self
            .send(HttpRequest {
                method: "GET".to_owned(),
                url: url.to_owned(),
                headers: vec![HttpHeader {
                    name: "Accept".to_owned(),
                    value: "application/json".to_owned(),
                }],
                body: Vec::new(),
            })
            .map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("HTTP status {}", response.status));
        }
        if response.body.len() as u64 > max {
            return Err(format!("larger than {max} bytes"));
        }
        Ok(response.body)
    }
}

impl HttpClient for UreqHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let network = |e: &dyn std::fmt::Display| HttpError::Network {
            reason: e.to_string(),
        };
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for h in &request.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        let agent = self.agent(&request.url);
        let sent = if request.method == "GET" {
            agent.run(builder.body(()).map_err(|e| network(&e))?)
        } else {
            agent.run(builder.body(request.body).map_err(|e| network(&e))?)
        };
        let mut response = sent.map_err(|e| network(&e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some(HttpHeader {
                    name: name.as_str().to_owned(),
                    value: value.to_str().ok()?.to_owned(),
                })
            })
            .collect();
        // One byte over the library's limit, so that it sees (and refuses) a larger body.
        let mut body = Vec::new();
        response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(govid_ffi::MAX_HTTP_RESPONSE_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|e| network(&e))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// Whether `url` is `http(s)://` to 127.0.0.0/8, `[::1]` or `localhost`.
pub(crate) fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_url;

    #[test]
    fn loopback_urls_are_told_apart_from_remote_ones() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://127.9.9.9",
            "http://localhost/a",
            "http://[::1]:99/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://hr.example/",
            "http://127.0.0.1.example/",
            "http://10.0.0.1/",
            "ftp://127.0.0.1/",
            "http://127.0.0.1@hr.example/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
