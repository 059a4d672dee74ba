//! Time as the core sees it: seconds since the Unix epoch, always passed in.

use serde::{Deserialize as _, Deserializer};
use serde_json::Value;

/// A source of the current time. Core never reads the system clock itself; the CLI, the server and
/// the wallet pass a clock in (tests pass a fixed one).
pub trait Clock: Send + Sync {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> u64;
}

/// A clock that always says the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// The latest NumericDate [`numeric_date`] accepts: 9999-12-31T23:59:59Z, the last second with a
/// four-digit year. Anything later is refused as malformed rather than read as "never".
pub const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Reads a JWT NumericDate (RFC 7519 §2: seconds since the epoch, a fraction allowed, as in
/// `1735689600.123456`) as whole seconds. Every time claim the core reads goes through here:
/// `iat`, `nbf` and `exp` of issuer JWTs, KB-JWTs, key proofs, status list tokens, trust bundles
/// and gate challenges.
///
/// The rounding rule is floor: the fraction is dropped. The `now` it is compared with is whole
/// seconds as well. For `exp` floor is the conservative side (a token expires up to a second
/// early); for `iat` and `nbf` it errs by under a second, inside any clock-skew leeway.
///
/// Returns `None` for anything but a number from 0 to [`MAX_NUMERIC_DATE`] (a string, a negative
/// number, a number beyond year 9999); each caller maps that to its own malformed-claim error.
pub fn numeric_date(value: &Value) -> Option<u64> {
    if let Some(seconds) = value.as_u64() {
        return (seconds <= MAX_NUMERIC_DATE).then_some(seconds);
    }
    let f = value.as_f64()?;
    // The range check keeps the cast exact; NaN (which JSON cannot carry anyway) fails it too.
    // Precision is not an issue: below 2^38, an f64 resolves microseconds.
    (0.0..=MAX_NUMERIC_DATE as f64)
        .contains(&f.floor())
        .then_some(f.floor() as u64)
}

/// [`numeric_date`] for serde's `deserialize_with`, on fields of whole seconds.
pub(crate) fn deserialize_numeric_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    numeric_date(&value).ok_or_else(|| {
        serde::de::Error::custom(format_args!(
            "expected a NumericDate from 0 to {MAX_NUMERIC_DATE}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn whole_and_fractional_seconds_are_read_as_their_floor() {
        assert_eq!(numeric_date(&json!(1_735_689_600)), Some(1_735_689_600));
        assert_eq!(
            numeric_date(&json!(1_735_689_600.123_456)),
            Some(1_735_689_600)
        );
        assert_eq!(
            numeric_date(&json!(1_735_689_600.999_999)),
            Some(1_735_689_600)
        );
        assert_eq!(numeric_date(&json!(0)), Some(0));
        assert_eq!(numeric_date(&json!(0.5)), Some(0));
        assert_eq!(numeric_date(&json!(-0.0)), Some(0));
        assert_eq!(numeric_date(&json!(1e9)), Some(1_000_000_000));
        assert_eq!(
            numeric_date(&json!(MAX_NUMERIC_DATE)),
            Some(MAX_NUMERIC_DATE)
        );
        assert_eq!(
            numeric_date(&json!(MAX_NUMERIC_DATE as f64 + 0.5)),
            Some(MAX_NUMERIC_DATE)
        );
    }

    #[test]
    fn negative_huge_and_non_numbers_are_refused() {
        for value in [
            json!(-1),
            json!(-0.5),
            json!(-1e300),
            json!(MAX_NUMERIC_DATE + 1),
            json!(MAX_NUMERIC_DATE as f64 + 1.0),
            json!(u64::MAX),
            json!(1e300),
            json!(f64::MAX),
            json!("1735689600"),
            json!(true),
            json!(null),
            json!([1_735_689_600]),
            json!({"t": 1_735_689_600}),
        ] {
            assert_eq!(numeric_date(&value), None, "{value}");
        }
    }
}
