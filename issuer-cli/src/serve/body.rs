//! A response body that reports when it was sent whole.
//!
//! The credential endpoint records a credential as delivered only once hyper has taken the
//! whole response from this body (it asks for the next frame after writing the last one to the
//! connection). If the connection breaks first, or the process dies, the body is dropped
//! unreported: the credential stays "issued, not delivered", and the wallet's retry with the
//! same access token (and a fresh proof) gets it again.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

/// The body: its bytes, then the report.
pub(crate) struct ReportingBody {
    data: Option<Bytes>,
    len: u64,
    sent: Option<oneshot::Sender<()>>,
}

impl ReportingBody {
    /// `data`, reporting on `sent` once taken whole.
    pub(crate) fn new(data: Vec<u8>, sent: oneshot::Sender<()>) -> Self {
        Self {
            len: data.len() as u64,
            data: Some(Bytes::from(data)),
            sent: Some(sent),
        }
    }
}

impl Body for ReportingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if let Some(data) = self.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(sent) = self.sent.take() {
            let _ = sent.send(());
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        // Not before the report: hyper polls once more after the data, which sends it.
        self.data.is_none() && self.sent.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        // No exact length: with one, hyper ends the body after the last byte without polling
        // again, and the report would never be sent. The response goes chunked.
        let mut hint = SizeHint::new();
        hint.set_lower(self.len);
        hint
    }
}
