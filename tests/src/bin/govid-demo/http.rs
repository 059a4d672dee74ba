//! The phones' HTTP stack for `receive_offer`: the library's `HttpClient` on ureq, as an app
//! gives it OkHttp or URLSession (timeouts, no redirects, bounded bodies, no proxies: the demo's
//! issuer is on loopback).
//!
//! The issuer service limits requests per client IP (5 a second after a burst of 20), and all
//! 20 demo phones share 127.0.0.1: a `429 Too Many Requests` (answered before the request is
//! handled, so nothing was used up) is sent again after its `Retry-After`.

use std::io::Read;
use std::time::Duration;

/// How many times one request is sent again after a 429.
const MAX_RETRIES: u32 = 60;
/// The longest `Retry-After` waited for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

use govid_ffi::{HttpClient, HttpError, HttpHeader, HttpRequest, HttpResponse};

pub(crate) struct UreqHttp {
    agent: ureq::Agent,
}

impl UreqHttp {
    pub(crate) fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .build()
            .into();
        Self { agent }
    }
}

impl HttpClient for UreqHttp {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut tries = 0;
        loop {
            let response = self.send_once(&request)?;
            if response.status != 429 || tries == MAX_RETRIES {
                return Ok(response);
            }
            tries += 1;
            let wait = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("retry-after"))
                .and_then(|h| h.value.trim().parse::<u64>().ok())
                .map_or(Duration::from_secs(1), Duration::from_secs)
                .min(MAX_RETRY_AFTER);
            std::thread::sleep(wait);
        }
    }
}

impl UreqHttp {
    fn send_once(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let network = |e: &dyn std::fmt::Display| HttpError::Network {
            reason: e.to_string(),
        };
        let mut builder = ureq::http::Request::builder()
            .method(request.method.as_str())
            .uri(request.url.as_str());
        for h in &request.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        let sent = if request.method == "GET" {
            self.agent.run(builder.body(()).map_err(|e| network(&e))?)
        } else {
            self.agent.run(
                builder
                    .body(request.body.clone())
                    .map_err(|e| network(&e))?,
            )
        };
        let mut response = sent.map_err(|e| network(&e))?;
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
            status: response.status().as_u16(),
            headers,
            body,
        })
    }
}
