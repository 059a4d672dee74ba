//! Claim paths: which claim a holder discloses or a gate asks for.
//!
//! Two spellings, one meaning: the slash form `organization/code`, `access_zones/*`,
//! `access_zones/0`, and the OpenID4VP/DCQL claims-path-pointer form
//! `["organization", "code"]`, `["access_zones", null]`, `["access_zones", 0]`.

use std::fmt;

use serde_json::Value;

/// One step of a [`ClaimPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// An object member by name.
    Key(String),
    /// An array element by position.
    Index(usize),
    /// Every element of an array.
    AllElements,
}

/// A path to a claim in the (processed) credential payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClaimPath(pub Vec<PathSegment>);

/// Why a claim path was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty.
    #[error("claim path is empty")]
    Empty,
    /// A segment is empty (`a//b`) or of a type a path cannot hold.
    #[error("claim path has an invalid segment")]
    BadSegment,
}

impl ClaimPath {
    /// Parses the slash form: `*` is every element, a decimal number an index, anything else a
    /// member name.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        text.split('/')
            .map(|seg| match seg {
                "" => Err(PathError::BadSegment),
                "*" => Ok(PathSegment::AllElements),
                s if s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 9 => s
                    .parse()
                    .map(PathSegment::Index)
                    .map_err(|_| PathError::BadSegment),
                s => Ok(PathSegment::Key(s.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ClaimPath)
    }

    /// Parses the DCQL claims-path-pointer form (a JSON array of strings, null and integers).
    pub fn from_pointer(value: &Value) -> Result<Self, PathError> {
        let Value::Array(items) = value else {
            return Err(PathError::BadSegment);
        };
        if items.is_empty() {
            return Err(PathError::Empty);
        }
        items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(PathSegment::Key(s.clone())),
                Value::Null => Ok(PathSegment::AllElements),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|n| usize::try_from(n).ok())
                    .map(PathSegment::Index)
                    .ok_or(PathError::BadSegment),
                _ => Err(PathError::BadSegment),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ClaimPath)
    }

    /// A single-member path.
    pub fn key(name: &str) -> Self {
        ClaimPath(vec![PathSegment::Key(name.to_owned())])
    }

    /// Whether the concrete location `location` lies on this path up to `location`'s length
    /// (so `location` is this path's target, an ancestor of it, or — when `location` is longer —
    /// never; see [`ClaimPath::covers`]).
    pub(crate) fn leads_through(&self, location: &[PathElem]) -> bool {
        location.len() <= self.0.len() && location.iter().zip(&self.0).all(|(e, s)| s.matches(e))
    }

    /// Whether `location` is this path's target or lies below it.
    pub(crate) fn covers(&self, location: &[PathElem]) -> bool {
        location.len() >= self.0.len() && self.0.iter().zip(location).all(|(s, e)| s.matches(e))
    }
}

impl PathSegment {
    fn matches(&self, elem: &PathElem) -> bool {
        match (self, elem) {
            (PathSegment::Key(k), PathElem::Key(e)) => k == e,
            (PathSegment::Index(i), PathElem::Index(e)) => i == e,
            (PathSegment::AllElements, PathElem::Index(_)) => true,
            _ => false,
        }
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            match seg {
                PathSegment::Key(k) => f.write_str(k)?,
                PathSegment::Index(i) => write!(f, "{i}")?,
                PathSegment::AllElements => f.write_str("*")?,
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for ClaimPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A concrete location in a payload: member name or array position.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum PathElem {
    /// An object member.
    Key(String),
    /// An array position.
    Index(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_agree() {
        let a = ClaimPath::parse("access_zones/*").unwrap_or_else(|e| panic!("{e}"));
        let b = ClaimPath::from_pointer(&json!(["access_zones", null]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "access_zones/*");
        assert_eq!(
            ClaimPath::parse("a/0").map(|p| p.0),
            Ok(vec![PathSegment::Key("a".into()), PathSegment::Index(0)])
        );
        assert_eq!(ClaimPath::parse(""), Err(PathError::Empty));
        assert_eq!(ClaimPath::parse("a//b"), Err(PathError::BadSegment));
        assert_eq!(
            ClaimPath::from_pointer(&json!([true])),
            Err(PathError::BadSegment)
        );
        assert_eq!(ClaimPath::from_pointer(&json!([])), Err(PathError::Empty));
    }
}
