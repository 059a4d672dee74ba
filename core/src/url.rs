//! The little URL handling OpenID4VCI and OpenID4VP need, without a URL crate (the `url` crate
//! brings the ICU crates, too much for the phone library): splitting absolute `http(s)` URLs,
//! the https-or-loopback rule, well-known URLs, query parameters and form encoding.

/// An absolute `https://` (or loopback `http://`) URL split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl {
    /// `https` or `http` (lowercased).
    pub scheme: String,
    /// `host[:port]` as written (host lowercased).
    pub authority: String,
    /// The host alone, lowercased (`[::1]` keeps its brackets).
    pub host: String,
    /// The path, `""` or starting with `/`.
    pub path: String,
    /// The query without `?`, if any.
    pub query: Option<String>,
}

/// Loopback hosts on which plain `http://` is allowed (for tests and local interop only).
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

impl HttpUrl {
    /// Parses an absolute URL and applies the transport rule: `https://` anywhere, `http://`
    /// only on a loopback host (OpenID4VCI 1.0 §13.9 "TLS Requirements"; RFC 9449 and RFC 8414
    /// assume TLS). No user info, no fragment, no whitespace or control characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > 2048 {
            return Err("URL longer than 2048 characters".to_owned());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("URL contains whitespace or control characters".to_owned());
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| "not an absolute URL".to_owned())?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(format!("scheme `{scheme}` is not https"));
        }
        if rest.contains('#') {
            return Err("URL has a fragment".to_owned());
        }
        let (before_query, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q.to_owned())),
            None => (rest, None),
        };
        let (authority, path) = match before_query.find('/') {
            Some(i) => (&before_query[..i], &before_query[i..]),
            None => (before_query, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err("URL has no host, or has user info".to_owned());
        }
        let authority = authority.to_ascii_lowercase();
        let host = if authority.starts_with('[') {
            match authority.find(']') {
                Some(i) => authority[..=i].to_owned(),
                None => return Err("malformed IPv6 host".to_owned()),
            }
        } else {
            authority.split(':').next().unwrap_or_default().to_owned()
        };
        if let Some(port) = authority[host.len()..].strip_prefix(':') {
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err("malformed port".to_owned());
            }
        } else if authority.len() != host.len() {
            return Err("malformed host".to_owned());
        }
        if host.is_empty() {
            return Err("URL has no host".to_owned());
        }
        if scheme == "http" && !LOOPBACK_HOSTS.contains(&host.as_str()) {
            return Err(
                "plain http is refused except on loopback (127.0.0.1, localhost, [::1]): use https"
                    .to_owned(),
            );
        }
        Ok(Self {
            scheme,
            authority,
            host,
            path: path.to_owned(),
            query,
        })
    }

    /// `scheme://authority`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }

    /// The URL without query (RFC 9449 §4.2: `htu` has no query and no fragment).
    pub fn without_query(&self) -> String {
        format!("{}{}", self.origin(), self.path)
    }

    /// The well-known URL for `suffix` (`openid-credential-issuer`, `oauth-authorization-server`)
    /// of this identifier: `/.well-known/<suffix>` inserted between the host and the path
    /// (OpenID4VCI 1.0 §12.2.2, RFC 8414 §3.1), a terminating `/` of the path dropped.
    pub fn well_known(&self, suffix: &str) -> String {
        let path = self.path.strip_suffix('/').unwrap_or(&self.path);
        format!("{}/.well-known/{suffix}{path}", self.origin())
    }
}

/// The query parameters of `query` (`a=b&c=d`), percent- and `+`-decoded.
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one component (`+` is a space).
pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| "malformed percent-encoding".to_owned())?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "percent-encoded text is not UTF-8".to_owned())
}

/// `application/x-www-form-urlencoded` encoding of one component (WHATWG URL: unreserved
/// `*-._` and alphanumerics as is, space as `+`, everything else `%XX`).
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A form body from name/value pairs.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", form_encode(n), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        let u =
            HttpUrl::parse("https://Issuer.Example/tenant?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.origin(), "https://issuer.example");
        assert_eq!(u.path, "/tenant");
        assert_eq!(u.without_query(), "https://issuer.example/tenant");
        assert_eq!(
            u.well_known("openid-credential-issuer"),
            "https://issuer.example/.well-known/openid-credential-issuer/tenant"
        );
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://[::1]:9/",
        ] {
            assert!(HttpUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example",
            "http://127.0.0.1.evil.example",
            "ftp://issuer.example",
            "https://user@issuer.example",
            "https://issuer.example/#frag",
            "https://",
            "https://issuer.example:80x",
            "issuer.example",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
        let root = HttpUrl::parse("http://127.0.0.1:9/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            root.well_known("oauth-authorization-server"),
            "http://127.0.0.1:9/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn form_round_trip() {
        let body = form_body(&[("grant_type", "urn:a b"), ("tx_code", "12&3=4%")]);
        assert_eq!(body, "grant_type=urn%3Aa+b&tx_code=12%263%3D4%25");
        let pairs = query_pairs(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pairs[1], ("tx_code".to_owned(), "12&3=4%".to_owned()));
        assert!(percent_decode("%zz").is_err());
    }
}
