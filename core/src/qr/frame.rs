//! The GV1 binary frame: a compact presentation split into parts, each stored losslessly.
//!
//! See the module documentation of [`crate::qr`] for the layout.

use super::compress;
use super::dict::DICT_V1;
use super::{QrError, MAX_PARTS, MAX_PRESENTATION_LEN};
use crate::b64;

/// The frame's version byte for GV1.
pub(crate) const VERSION: u8 = 1;

/// The largest inflated body a valid frame can have: every byte of a maximal presentation plus
/// the per-part overhead (kind byte and a varint of at most 3 bytes).
pub(crate) const MAX_BODY_LEN: usize = MAX_PRESENTATION_LEN + MAX_PARTS * 4;

/// Content kind: the part's text, verbatim (UTF-8).
pub(crate) const TEXT: u8 = 0;
/// Content kind: canonical base64url-no-pad; the decoded bytes are in the compressed body.
pub(crate) const B64_BODY: u8 = 1;
/// Content kind: canonical base64url-no-pad; the decoded bytes are in the raw tail.
pub(crate) const B64_TAIL: u8 = 2;
/// Separator codes in bits 2-3 of the kind byte: what follows the part.
pub(crate) const SEP_END: u8 = 0;
/// Followed by `.`.
pub(crate) const SEP_DOT: u8 = 1;
/// Followed by `~`.
pub(crate) const SEP_TILDE: u8 = 2;

/// Encodes a presentation as a GV1 frame (version byte, zlib body, raw tail).
pub(crate) fn encode(compact: &str) -> Result<Vec<u8>, QrError> {
    if compact.len() > MAX_PRESENTATION_LEN {
        return Err(QrError::InputTooLarge {
            len: compact.len(),
            max: MAX_PRESENTATION_LEN,
        });
    }
    let mut body = Vec::with_capacity(compact.len());
    let mut tail = Vec::new();
    let mut parts = 0usize;
    let mut rest = compact;
    loop {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(QrError::TooManyParts { max: MAX_PARTS });
        }
        let (field, sep, next) = match rest.find(['.', '~']) {
            Some(i) => {
                let sep = if rest.as_bytes()[i] == b'.' {
                    SEP_DOT
                } else {
                    SEP_TILDE
                };
                (&rest[..i], sep, Some(&rest[i + 1..]))
            }
            None => (rest, SEP_END, None),
        };
        let (content, bytes) = classify(field);
        body.push(content | sep << 2);
        push_varint(&mut body, bytes.len());
        match content {
            B64_TAIL => tail.extend_from_slice(&bytes),
            _ => body.extend_from_slice(&bytes),
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    let mut frame = vec![VERSION];
    frame.extend_from_slice(&compress::compress(&body, DICT_V1)?);
    frame.extend_from_slice(&tail);
    Ok(frame)
}

/// Chooses how to store one field: decoded if it is canonical base64url-no-pad (it re-encodes to
/// the same text), in the body if the decoded bytes are UTF-8 (JSON), in the tail otherwise
/// (signatures); anything else, and the empty field, as text.
fn classify(field: &str) -> (u8, Vec<u8>) {
    if !field.is_empty() {
        if let Some(bytes) = b64::decode(field) {
            // `b64::decode` is already strict; the re-encoding makes losslessness local.
            if b64::encode(&bytes) == field {
                let kind = if std::str::from_utf8(&bytes).is_ok() {
                    B64_BODY
                } else {
                    B64_TAIL
                };
                return (kind, bytes);
            }
        }
    }
    (TEXT, field.as_bytes().to_vec())
}

/// Decodes a GV1 frame back to the presentation text.
pub(crate) fn decode(frame: &[u8]) -> Result<String, QrError> {
    let (&version, zlib) = frame.split_first().ok_or(QrError::Truncated)?;
    if version != VERSION {
        return Err(QrError::UnsupportedVersion { version });
    }
    let (body, used) = compress::decompress_bounded(zlib, DICT_V1, MAX_BODY_LEN)?;
    let mut body = Reader {
        data: &body,
        pos: 0,
    };
    let mut tail = Reader {
        data: &zlib[used..],
        pos: 0,
    };
    let mut out = String::new();
    for _ in 0..MAX_PARTS {
        let kind = body.byte()?;
        let (content, sep) = (kind & 0b11, kind >> 2);
        let len = body.varint()?;
        match content {
            TEXT => {
                let text =
                    std::str::from_utf8(body.take(len)?).map_err(|_| QrError::InvalidUtf8)?;
                if text.contains(['.', '~']) {
                    return Err(QrError::MalformedFrame("separator inside a text part"));
                }
                out.push_str(text);
            }
            B64_BODY => out.push_str(&b64::encode(body.take(len)?)),
            B64_TAIL => out.push_str(&b64::encode(tail.take(len)?)),
            _ => return Err(QrError::MalformedFrame("unknown part kind")),
        }
        if out.len() > MAX_PRESENTATION_LEN {
            return Err(QrError::OutputTooLarge {
                max: MAX_PRESENTATION_LEN,
            });
        }
        match sep {
            SEP_END => {
                if body.pos != body.data.len() || tail.pos != tail.data.len() {
                    return Err(QrError::TrailingData);
                }
                return Ok(out);
            }
            SEP_DOT => out.push('.'),
            SEP_TILDE => out.push('~'),
            _ => return Err(QrError::MalformedFrame("unknown separator")),
        }
    }
    Err(QrError::TooManyParts { max: MAX_PARTS })
}

/// Appends `n` as an unsigned LEB128 varint.
pub(crate) fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        // Masked to 7 bits, so the cast keeps the value.
        out.push((n & 0x7F) as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A cursor over a byte slice whose reads fail with [`QrError::Truncated`] at the end.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, QrError> {
        let b = *self.data.get(self.pos).ok_or(QrError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], QrError> {
        let end = self.pos.checked_add(len).ok_or(QrError::Truncated)?;
        let slice = self.data.get(self.pos..end).ok_or(QrError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// A minimal LEB128 varint of at most 3 bytes (values below 2^21).
    fn varint(&mut self) -> Result<usize, QrError> {
        let mut n = 0usize;
        for i in 0..3 {
            let b = self.byte()?;
            n |= usize::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(QrError::MalformedFrame("overlong varint"));
                }
                return Ok(n);
            }
        }
        Err(QrError::MalformedFrame("varint longer than 3 bytes"))
    }
}
