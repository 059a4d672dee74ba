//! One bounded HTTP(S) GET, used by `resolve` (did:web documents) and by the gate's refresher
//! (did:web documents and status lists): a global timeout, at most 3 redirects, and a body limit
//! enforced while reading, so an oversized answer is never held in memory whole.

use std::io::Read as _;
use std::time::Duration;

/// Why a GET gave no body; each caller words it for its own output.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// The request failed (connection, TLS, HTTP status, timeout).
    Request(ureq::Error),
    /// The body could not be read.
    Read(std::io::Error),
    /// The body is larger than the limit, in bytes.
    TooLarge(u64),
}

/// GETs `url` with `Accept: accept`, reading at most `limit` bytes of body. `https_only` refuses
/// plain `http://` (and redirects to it).
pub(crate) fn get_bounded(
    url: &str,
    limit: u64,
    timeout: Duration,
    accept: &str,
    https_only: bool,
) -> Result<Vec<u8>, FetchError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .https_only(https_only)
        .max_redirects(3)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", accept)
        .call()
        .map_err(FetchError::Request)?;
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(FetchError::Read)?;
    if body.len() as u64 > limit {
        return Err(FetchError::TooLarge(limit));
    }
    Ok(body)
}
