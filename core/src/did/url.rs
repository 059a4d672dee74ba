//! DID and DID URL syntax (DID Core §3.1, §3.2), restricted to what govid uses: a DID with an
//! optional fragment. Paths and queries are refused.

use super::DidError;

/// Longest DID or DID URL accepted, in bytes. A P-256 did:jwk is about 180 bytes.
pub const MAX_DID_LENGTH: usize = 2048;

/// A parsed DID URL `did:<method>:<method-specific-id>[#<fragment>]`, borrowing its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DidUrl<'a> {
    /// The DID, without the fragment.
    pub did: &'a str,
    /// The method name (`key`, `jwk`, `web`, ...).
    pub method: &'a str,
    /// Everything after `did:<method>:`.
    pub method_specific_id: &'a str,
    /// The fragment without `#`, if any (never empty).
    pub fragment: Option<&'a str>,
}

/// Whether `bytes[i..]` starts with a valid percent-encoding `%XX`.
pub(crate) fn pct_encoded_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i) == Some(&b'%')
        && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}

/// Checks that every byte is allowed by `allowed` or starts a valid `%XX`.
fn all_chars(text: &str, allowed: impl Fn(u8) -> bool) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if !pct_encoded_at(bytes, i) {
                return false;
            }
            i += 3;
        } else if allowed(bytes[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// DID Core `idchar` (without `pct-encoded`, checked separately).
fn is_idchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

/// RFC 3986 `fragment` characters (without `pct-encoded`).
fn is_fragment_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'/'
                | b'?'
        )
}

/// Parses a DID or a DID URL with a fragment. Refuses paths, queries, empty fragments and
/// anything longer than [`MAX_DID_LENGTH`].
pub fn parse_did_url(text: &str) -> Result<DidUrl<'_>, DidError> {
    if text.len() > MAX_DID_LENGTH {
        return Err(DidError::Syntax("longer than the limit"));
    }
    if !text.starts_with("did:") {
        return Err(DidError::Syntax("does not start with `did:`"));
    }
    let (did, fragment) = match text.split_once('#') {
        Some((did, fragment)) => (did, Some(fragment)),
        None => (text, None),
    };
    if did.contains(['/', '?']) {
        return Err(DidError::DidUrl("paths and queries are not supported"));
    }
    let rest = &did["did:".len()..];
    let Some((method, msid)) = rest.split_once(':') else {
        return Err(DidError::Syntax("no method-specific id"));
    };
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(DidError::Syntax(
            "method name is not lowercase letters and digits",
        ));
    }
    if msid.is_empty() || msid.ends_with(':') {
        return Err(DidError::Syntax("empty method-specific id"));
    }
    if !all_chars(msid, |b| is_idchar(b) || b == b':') {
        return Err(DidError::Syntax(
            "method-specific id has a character outside DID syntax",
        ));
    }
    if let Some(fragment) = fragment {
        if fragment.is_empty() {
            return Err(DidError::DidUrl("empty fragment"));
        }
        if !all_chars(fragment, is_fragment_char) {
            return Err(DidError::DidUrl(
                "fragment has a character outside RFC 3986",
            ));
        }
    }
    Ok(DidUrl {
        did,
        method,
        method_specific_id: msid,
        fragment,
    })
}

/// Parses a DID (no fragment).
pub(crate) fn parse_did(text: &str) -> Result<DidUrl<'_>, DidError> {
    let url = parse_did_url(text)?;
    if url.fragment.is_some() {
        return Err(DidError::DidUrl("a DID is expected, not a DID URL"));
    }
    Ok(url)
}

/// Parses a DID of one method, giving its method-specific id.
pub(crate) fn parse_did_of_method<'a>(
    text: &'a str,
    method: &'static str,
) -> Result<&'a str, DidError> {
    let url = parse_did(text)?;
    if url.method != method {
        return Err(DidError::WrongMethod(method));
    }
    Ok(url.method_specific_id)
}

/// Whether `fragment` is a valid DID URL fragment (for fragments govid writes itself).
pub(crate) fn is_valid_fragment(fragment: &str) -> bool {
    !fragment.is_empty() && all_chars(fragment, is_fragment_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dids_and_fragments() {
        let url = parse_did_url("did:web:example.com:user#key-1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.did, "did:web:example.com:user");
        assert_eq!(url.method, "web");
        assert_eq!(url.method_specific_id, "example.com:user");
        assert_eq!(url.fragment, Some("key-1"));
        let url = parse_did_url("did:example:a%20b").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.fragment, None);
    }

    #[test]
    fn refuses_malformed_dids() {
        let syntax = |t: &str| matches!(parse_did_url(t), Err(DidError::Syntax(_)));
        assert!(syntax("dix:key:z"));
        assert!(syntax("DID:key:z"));
        assert!(syntax("did:key"));
        assert!(syntax("did::z"));
        assert!(syntax("did:Key:z"));
        assert!(syntax("did:key:"));
        assert!(syntax("did:web:example.com:"));
        assert!(syntax("did:web:exa mple.com"));
        assert!(syntax("did:web:a%2"));
        assert!(syntax("did:web:a%zz"));
        assert!(syntax("did:web:[::1]"));
        assert!(syntax(&format!("did:web:{}", "a".repeat(MAX_DID_LENGTH))));
        let url = |t: &str| matches!(parse_did_url(t), Err(DidError::DidUrl(_)));
        assert!(url("did:web:example.com/path"));
        assert!(url("did:web:example.com?service=x"));
        assert!(url("did:web:example.com#"));
        assert!(url("did:web:example.com#a#b"));
        assert!(url("did:web:example.com#a b"));
        assert_eq!(
            parse_did("did:key:z#z"),
            Err(DidError::DidUrl("a DID is expected, not a DID URL"))
        );
        assert_eq!(
            parse_did_of_method("did:jwk:e", "key"),
            Err(DidError::WrongMethod("key"))
        );
    }
}
