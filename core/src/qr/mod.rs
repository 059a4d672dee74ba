//! Gate QR transport: a compact SD-JWT presentation as a dense, alphanumeric QR payload.
//!
//! Modelled on the EU Digital COVID Certificate (`HC1:` + Base45 + zlib): a staff member's phone
//! shows `GV1:` + Base45(frame); the gate scans it and gets the presentation back byte for byte.
//! The gate's own code, for challenge mode, is a [`GateChallenge`] (`GVC1:`, see [`challenge`]).
//!
//! # GV1 format (version 1)
//!
//! ```text
//! payload = "GV1:" Base45(frame)                    ; RFC 9285, upper case, QR alphanumeric set
//! frame   = 0x01 zlib tail                          ; 0x01: the version byte
//! zlib    = RFC 1950 stream, preset dictionary DICT_V1 (78 F9, DICTID, deflate, Adler-32),
//!           inflating to `body` (at most 16 KiB + 2 KiB)
//! body    = part+                                   ; the last part has separator END
//! part    = kind:u8 len:varint data                 ; data present unless content = B64_TAIL
//! kind    = content | separator << 2                ; other bits must be 0
//!   content   0 TEXT      data = the field's text, verbatim UTF-8
//!             1 B64_BODY  data = base64url-decoded bytes (JSON: headers, payloads, disclosures)
//!             2 B64_TAIL  data in `tail` (binary: signatures)
//!   separator 0 END, 1 '.', 2 '~' : the character that follows the field
//! varint  = unsigned LEB128, minimal, at most 3 bytes
//! tail    = the B64_TAIL parts' bytes, concatenated in part order, nothing after them
//! ```
//!
//! The presentation is cut at every `.` and `~` into fields. A field is stored decoded (kinds 1
//! and 2) only if it is canonical base64url without padding, checked by re-encoding the decoded
//! bytes; UTF-8 results go into the compressed body, others (signatures, incompressible) raw into
//! the tail. Measured over the 30 spec vectors while designing: raw signatures save ~4% against
//! compressing them too, the dictionary ~8%, and the frame is ~25% smaller than plain zlib of the
//! compact text (`examples/qr_sizes.rs` prints per-presentation sizes). Any other
//! field (empty, padded, `+/`, non-zero trailing bits, stray characters, JSON serialization)
//! is TEXT. So `decode_payload(&encode_presentation(s)?) == s` for every string, compact or not,
//! that `encode_presentation` accepts: it refuses only strings over [`MAX_PRESENTATION_LEN`]
//! bytes or [`MAX_PARTS`] fields, or whose payload would exceed [`MAX_PAYLOAD_LEN`] characters.
//!
//! The dictionary (`DICT_V1` in `qr/dict.rs`) is part of version 1 and frozen: changing it
//! needs a new version byte and prefix.
//!
//! # Decoding rules
//!
//! - Surrounding ASCII whitespace is ignored (scanners append line ends). Space is a Base45 digit,
//!   but never the last one: the most significant digit of a group is at most 32 (`W`), so no
//!   valid payload ends with a space and trimming cannot cut data.
//! - The prefix must be upper case: QR alphanumeric mode has no lower case, and a lower-cased
//!   payload is not Base45 anyway. A `GV<n>:` prefix with another `n` is
//!   [`QrError::UnsupportedVersion`], anything else [`QrError::WrongPrefix`].
//! - Strict Base45; the payload text is limited to [`MAX_PAYLOAD_LEN`] characters.
//! - Inflation writes into a fixed buffer of the limit and stops there (decompression bombs fail
//!   fast with [`QrError::OutputTooLarge`]); nothing is allocated from a length read from input.
//! - The Adler-32 covers the body; tail bytes are not checksummed here: a changed signature byte
//!   decodes to a different presentation, which the signature check rejects. The QR code's own
//!   Reed-Solomon code corrects or detects scanning errors before this layer.
//! - Every error is a distinct [`QrError`] variant; none contains input bytes.

mod base45;
pub mod challenge;
mod compress;
mod dict;
mod error;
mod frame;
mod render;

// The public interface is:
pub use challenge::{decode_challenge, encode_challenge, GateChallenge};
pub use error::{ChallengeError, QrError};
pub use render::{render, DataMode, Ecc, QrCode, MAX_PNG_SIDE};

/// The prefix of a presentation payload.
pub const PREFIX: &str = "GV1:";
/// The longest presentation [`encode_presentation`] accepts and [`decode_payload`] returns, in
/// bytes.
pub const MAX_PRESENTATION_LEN: usize = 16 * 1024;
/// The most `.`/`~`-separated fields a presentation may have.
pub const MAX_PARTS: usize = 512;
/// The longest payload text [`decode_payload`] reads, in characters after trimming (a version 40
/// QR code holds at most 4,296 alphanumeric characters).
pub const MAX_PAYLOAD_LEN: usize = 8 * 1024;

/// Encodes a presentation (normally compact SD-JWT: `<JWT>~<disclosure>~...~[<KB-JWT>]`) as a
/// `GV1:` payload of QR alphanumeric characters. Lossless for every string within the limits.
///
/// Errors only over the limits: [`QrError::InputTooLarge`] above [`MAX_PRESENTATION_LEN`] bytes,
/// [`QrError::TooManyParts`] above [`MAX_PARTS`] fields, [`QrError::OutputTooLarge`] if the payload
/// would exceed [`MAX_PAYLOAD_LEN`] characters (incompressible text; no QR code holds it anyway).
pub fn encode_presentation(compact: &str) -> Result<String, QrError> {
    let frame = frame::encode(compact)?;
    let payload = format!("{PREFIX}{}", base45::encode(&frame));
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(QrError::OutputTooLarge {
            max: MAX_PAYLOAD_LEN,
        });
    }
    Ok(payload)
}

/// Decodes a scanned `GV1:` payload back to the exact presentation text. See the module
/// documentation for what is accepted; never panics, and work and memory are bounded.
pub fn decode_payload(text: &str) -> Result<String, QrError> {
    let body = split_prefix(text, "GV", 1)?;
    let frame = base45::decode(body).ok_or(QrError::InvalidBase45)?;
    frame::decode(&frame)
}

/// Trims `text`, checks its length and the prefix `{name}{version}:`, and returns what follows.
fn split_prefix<'a>(text: &'a str, name: &str, version: u8) -> Result<&'a str, QrError> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.len() > MAX_PAYLOAD_LEN {
        return Err(QrError::InputTooLarge {
            len: text.len(),
            max: MAX_PAYLOAD_LEN,
        });
    }
    let exact = format!("{name}{version}:");
    if let Some(body) = text.strip_prefix(exact.as_str()) {
        return Ok(body);
    }
    // Another version of the same prefix: `{name}` then 1-3 digits (no leading zero) then `:`.
    let after_name = text.strip_prefix(name).ok_or(QrError::WrongPrefix)?;
    let digits = after_name.bytes().take_while(u8::is_ascii_digit).count();
    let other_version = (1..=3).contains(&digits)
        && !after_name.starts_with('0')
        && after_name.as_bytes().get(digits) == Some(&b':');
    if !other_version {
        return Err(QrError::WrongPrefix);
    }
    let n = after_name[..digits]
        .parse::<u16>()
        .map_err(|_| QrError::WrongPrefix)?;
    Err(QrError::UnsupportedVersion {
        version: u8::try_from(n).unwrap_or(u8::MAX),
    })
}

#[cfg(test)]
mod tests;
