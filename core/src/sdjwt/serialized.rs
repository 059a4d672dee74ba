//! Splitting a presentation into its parts: compact `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]` (RFC 9901 §4)
//! or the JWS JSON serialization (§8), which is turned into the equivalent compact form (the form
//! `sd_hash` is computed over, §8.1).

use serde_json::Value;

use super::error::VerifyError;
use super::policy::Limits;
use crate::json;

/// A presentation split into parts, all borrowed from (or rebuilt as) compact text.
#[derive(Clone, Debug)]
pub(crate) struct Parts {
    /// The compact text the parts come from.
    pub(crate) compact: String,
    /// Byte length of `<JWT>~<D1>~…~<Dn>~`: the `sd_hash` input.
    pub(crate) sd_jwt_len: usize,
    /// Number of disclosures.
    pub(crate) disclosure_count: usize,
    /// Whether a KB-JWT follows the last `~`.
    pub(crate) has_kb: bool,
}

impl Parts {
    pub(crate) fn issuer_jwt(&self) -> &str {
        self.compact.split('~').next().unwrap_or_default()
    }

    pub(crate) fn disclosures(&self) -> impl Iterator<Item = &str> {
        self.compact[..self.sd_jwt_len]
            .split('~')
            .skip(1)
            .take(self.disclosure_count)
    }

    pub(crate) fn sd_jwt(&self) -> &str {
        &self.compact[..self.sd_jwt_len]
    }

    pub(crate) fn kb_jwt(&self) -> Option<&str> {
        self.has_kb.then(|| &self.compact[self.sd_jwt_len..])
    }
}

/// Splits a presentation, enforcing the size limits. Leading and trailing ASCII whitespace is
/// ignored (scanners and terminals add it); anything else must be exact.
pub(crate) fn split(input: &str, limits: &Limits) -> Result<Parts, VerifyError> {
    if input.len() > limits.max_presentation_bytes {
        return Err(VerifyError::TooLarge {
            max: limits.max_presentation_bytes,
        });
    }
    let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
    // Converted once, not recursively: the compact text is then held to the base64url alphabet.
    let converted;
    let text = if trimmed.starts_with('{') {
        converted = from_json(trimmed, limits)?;
        converted.as_str()
    } else {
        trimmed
    };
    let Some(last_tilde) = text.rfind('~') else {
        return Err(VerifyError::Malformed("no `~` separator"));
    };
    let sd_jwt_len = last_tilde + 1;
    let disclosure_count = text[..last_tilde].matches('~').count();
    if disclosure_count > limits.max_disclosures {
        return Err(VerifyError::TooManyDisclosures {
            max: limits.max_disclosures,
        });
    }
    if text[..sd_jwt_len].contains("~~") || text.starts_with('~') {
        return Err(VerifyError::Malformed("empty part"));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    {
        return Err(VerifyError::Malformed("character outside base64url"));
    }
    Ok(Parts {
        compact: text.to_owned(),
        sd_jwt_len,
        disclosure_count,
        has_kb: sd_jwt_len < text.len(),
    })
}

/// Turns a flattened or general JWS JSON serialization (RFC 9901 §8) into compact form. In the
/// general form the disclosures and KB-JWT are taken from the first signature's header and that
/// signature is the one verified.
fn from_json(text: &str, limits: &Limits) -> Result<String, VerifyError> {
    let object = json::parse_object(text.as_bytes(), limits.max_json_depth)
        .map_err(|_| VerifyError::Malformed("JSON serialization is not a JSON object"))?;
    let field = |obj: &serde_json::Map<String, Value>, name: &'static str| {
        let text = obj
            .get(name)
            .and_then(Value::as_str)
            .ok_or(VerifyError::Malformed("JSON serialization lacks a member"))?;
        single_part(text, &['.', '~']).map(str::to_owned)
    };
    let payload = field(&object, "payload")?;
    let signature_holder = match object.get("signatures") {
        Some(Value::Array(signatures)) => {
            signatures
                .first()
                .and_then(Value::as_object)
                .ok_or(VerifyError::Malformed(
                    "JSON serialization has no signature",
                ))?
        }
        Some(_) => return Err(VerifyError::Malformed("`signatures` is not an array")),
        None => &object,
    };
    let protected = field(signature_holder, "protected")?;
    let signature = field(signature_holder, "signature")?;
    let header = match signature_holder.get("header") {
        None => None,
        Some(Value::Object(header)) => Some(header),
        Some(_) => return Err(VerifyError::Malformed("`header` is not an object")),
    };
    let mut compact = format!("{protected}.{payload}.{signature}~");
    if let Some(disclosures) = header.and_then(|h| h.get("disclosures")) {
        let Value::Array(disclosures) = disclosures else {
            return Err(VerifyError::Malformed("`disclosures` is not an array"));
        };
        for d in disclosures {
            let d = d
                .as_str()
                .ok_or(VerifyError::Malformed("a disclosure is not a string"))?;
            let d = single_part(d, &['.', '~'])?;
            compact.push_str(d);
            compact.push('~');
        }
    }
    if let Some(kb) = header.and_then(|h| h.get("kb_jwt")) {
        let kb = kb
            .as_str()
            .ok_or(VerifyError::Malformed("`kb_jwt` is not a string"))?;
        compact.push_str(single_part(kb, &['~'])?);
    }
    Ok(compact)
}

/// A JSON member must stay one part of the compact form it is turned into: a `~` (or a `.` in a
/// JWS part or disclosure) would splice in parts its JSON structure does not show.
fn single_part<'a>(text: &'a str, separators: &[char]) -> Result<&'a str, VerifyError> {
    if text.contains(separators) {
        return Err(VerifyError::Malformed(
            "a JSON serialization member holds a separator",
        ));
    }
    Ok(text)
}
