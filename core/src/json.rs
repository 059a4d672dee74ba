//! Bounded JSON parsing for untrusted input.
//!
//! serde_json already stops at 128 levels of nesting; govid applies its own, smaller limit before
//! parsing so that deeply nested input fails fast with a clear error.

use serde_json::{Map, Value};

/// Why untrusted bytes were not accepted as a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The bytes are not valid JSON (or not UTF-8).
    #[error("not valid JSON")]
    Syntax,
    /// Valid JSON, but not an object where an object is required.
    #[error("not a JSON object")]
    NotAnObject,
    /// Nested deeper than the limit.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The limit that was exceeded.
        max: usize,
    },
}

/// Nesting depth of JSON text, counting `[` and `{` outside strings. Stops counting once `max`
/// is passed, so this is linear and never recurses.
fn depth_exceeds(bytes: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string to its closing quote, stepping over each escaped byte.
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

/// Parses any JSON value, refusing nesting deeper than `max_depth`.
pub fn parse_value(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    if depth_exceeds(bytes, max_depth) {
        return Err(JsonError::TooDeep { max: max_depth });
    }
    serde_json::from_slice(bytes).map_err(|_| JsonError::Syntax)
}

/// The compact JSON of `map` with every object's members in name order (recursively).
///
/// The workspace builds serde_json with `preserve_order` (josekit requires it), so a `Map`
/// keeps insertion order. What core signs is written in name order instead, so that the bytes
/// of a credential, a KB-JWT or a trust bundle do not depend on how a map was filled (and stay
/// those of earlier releases, whose maps were sorted).
pub fn to_sorted_vec(map: &Map<String, Value>) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = Value::Object(map.clone());
    value.sort_all_objects();
    serde_json::to_vec(&value)
}

/// Parses a JSON object, refusing nesting deeper than `max_depth`.
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    match parse_value(bytes, max_depth)? {
        Value::Object(map) => Ok(map),
        _ => Err(JsonError::NotAnObject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_counts_only_outside_strings() {
        assert!(parse_object(br#"{"a":"[[[[[[[[[[[["}"#, 2).is_ok());
        // Escaped quotes do not end a string; an escaped backslash before a quote does.
        assert!(parse_object(br#"{"a":"\"[[[[\\","b":1}"#, 1).is_ok());
        assert_eq!(
            parse_object(br#"{"a":"x\\","b":[[1]]}"#, 2),
            Err(JsonError::TooDeep { max: 2 })
        );
        assert_eq!(parse_value(br#""\"#, 0), Err(JsonError::Syntax));
        assert_eq!(
            parse_object(br#"{"a":[[1]]}"#, 2),
            Err(JsonError::TooDeep { max: 2 })
        );
        assert_eq!(parse_object(b"[1]", 4), Err(JsonError::NotAnObject));
        assert_eq!(parse_object(b"{", 4), Err(JsonError::Syntax));
        let bomb = "[".repeat(100_000);
        assert_eq!(
            parse_value(bomb.as_bytes(), 32),
            Err(JsonError::TooDeep { max: 32 })
        );
    }
}
