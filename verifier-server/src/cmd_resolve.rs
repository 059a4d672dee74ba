//! `govid-verifier resolve <did> [--offline]`: print the keys a DID may sign credentials with.

use std::time::Duration;

use govid_core::did::{
    did_web_to_url, offline_document, parse_did_url, DidDocument, DidError,
    DEFAULT_MAX_DOCUMENT_BYTES, DEFAULT_MAX_DOCUMENT_DEPTH,
};
use serde_json::{json, Value};

use crate::fetch::{get_bounded, FetchError};

/// Print the keys a DID may sign credentials with, as a JWKS
///
/// Output (stdout): a JWK Set `{"keys": [...]}` of the DID's assertion methods (the keys that may
/// sign credentials) that are Ed25519 or P-256, each JWK with `kid` set to the verification
/// method's DID URL (`did:key:z…#z…`, `did:jwk:…#0`, `did:web:…#key-1`). Key agreement and other
/// keys are not listed.
///
/// did:key and did:jwk resolve offline. did:web fetches `https://…/did.json` (rustls, webpki
/// roots, HTTPS only, 64 KiB limit, --timeout seconds); with --offline it prints only the URL it
/// would fetch. Resolving shows what a DID says; it does not make the DID trusted: a gate trusts
/// only the issuer DIDs it is configured with.
///
/// Exit status: 0 on success, 1 for an invalid or unresolvable DID (one line on stderr),
/// 2 for usage errors.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub(crate) struct ResolveArgs {
    /// The DID to resolve: did:key, did:jwk or did:web.
    did: String,
    /// Do not use the network: for did:web, print the document's URL instead of fetching it.
    #[arg(long)]
    offline: bool,
    /// Timeout in seconds for fetching a did:web document.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    timeout: u64,
}

/// What `resolve` prints on success.
#[derive(Debug, PartialEq)]
enum Output {
    /// The JWKS of the assertion keys.
    Keys(Value),
    /// `--offline` for did:web: the URL that would be fetched.
    Url(String),
}

/// The JWK Set of a document's assertion methods, `kid` = method id.
fn jwks(document: &DidDocument) -> Value {
    let keys: Vec<Value> = document
        .assertion_methods()
        .map(|method| {
            let mut jwk = method.key.to_jwk();
            jwk["kid"] = Value::String(method.id.clone());
            jwk
        })
        .collect();
    json!({ "keys": keys })
}

/// Fetches a did:web document over HTTPS with a size limit.
fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let limit = DEFAULT_MAX_DOCUMENT_BYTES as u64;
    let accept = "application/did+json, application/json";
    get_bounded(url, limit, timeout, accept, true).map_err(|e| match e {
        FetchError::Request(e) => format!("could not fetch {url}: {e}"),
        FetchError::Read(e) => format!("could not read {url}: {e}"),
        FetchError::TooLarge(limit) => {
            format!("{url}: DID document is larger than {limit} bytes")
        }
    })
}

fn resolve(args: &ResolveArgs) -> Result<Output, String> {
    let did = args.did.as_str();
    let invalid = |e: DidError| format!("invalid DID: {e}");
    let url = parse_did_url(did).map_err(invalid)?;
    if url.fragment.is_some() {
        return Err("invalid DID: a DID is expected, not a DID URL (drop the #fragment)".into());
    }
    let document = match url.method {
        "web" => {
            let location = did_web_to_url(did).map_err(invalid)?;
            if args.offline {
                return Ok(Output::Url(location));
            }
            let body = fetch(&location, Duration::from_secs(args.timeout))?;
            DidDocument::parse(did, &body, DEFAULT_MAX_DOCUMENT_DEPTH)
                .map_err(|e| format!("{location}: {e}"))?
        }
        _ => {
            let value = offline_document(did).map_err(invalid)?;
            DidDocument::from_value(did, &value).map_err(invalid)?
        }
    };
    Ok(Output::Keys(jwks(&document)))
}

/// Runs `resolve`; returns the process exit status.
pub(crate) fn run(args: ResolveArgs) -> u8 {
    match resolve(&args) {
        Ok(Output::Url(url)) => {
            println!("{url}");
            0
        }
        Ok(Output::Keys(keys)) => match serde_json::to_string_pretty(&keys) {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(e) => {
                eprintln!("govid-verifier resolve: {e}");
                1
            }
        },
        Err(message) => {
            // One line: error texts never contain newlines, but a server's reason might.
            eprintln!("govid-verifier resolve: {}", message.replace('\n', " "));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(did: &str, offline: bool) -> ResolveArgs {
        ResolveArgs {
            did: did.to_owned(),
            offline,
            timeout: 5,
        }
    }

    #[test]
    fn did_key_prints_its_jwk_with_the_method_id() {
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let out = resolve(&args(did, true)).unwrap_or_else(|e| panic!("{e}"));
        let kid = format!("{did}#{}", &did["did:key:".len()..]);
        assert_eq!(
            out,
            Output::Keys(json!({"keys": [{
                "kty": "OKP", "crv": "Ed25519",
                "x": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik", "kid": kid
            }]}))
        );
    }

    #[test]
    fn did_web_offline_prints_the_url() {
        let out = resolve(&args("did:web:example.com%3A3000:user:alice", true));
        assert_eq!(
            out,
            Ok(Output::Url(
                "https://example.com:3000/user/alice/did.json".into()
            ))
        );
    }

    #[test]
    fn invalid_dids_are_one_line_errors() {
        for did in [
            "did:key:6Mk",
            "did:web:127.0.0.1",
            "did:jwk:e30",
            "nope",
            "did:example:1",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#x",
        ] {
            let message = resolve(&args(did, true)).err().unwrap_or_default();
            assert!(message.starts_with("invalid DID: "), "{did}: {message}");
            assert!(!message.contains('\n'));
        }
    }
}
