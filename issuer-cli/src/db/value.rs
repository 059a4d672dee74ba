//! Values in and out of the issuer database: SQLite's four storage classes, which the issuer's
//! columns use (integers, text, blobs, NULL), as one type for both engines.

/// A value as bound or read, borrowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    /// NULL.
    Null,
    /// An integer (also a boolean: 0 or 1).
    Integer(i64),
    /// A real (only read: the issuer stores none).
    Real(f64),
    /// UTF-8 text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl<'a> From<rusqlite::types::ValueRef<'a>> for ValueRef<'a> {
    fn from(v: rusqlite::types::ValueRef<'a>) -> Self {
        use rusqlite::types::ValueRef as V;
        match v {
            V::Null => ValueRef::Null,
            V::Integer(i) => ValueRef::Integer(i),
            V::Real(f) => ValueRef::Real(f),
            // Text the issuer wrote is UTF-8; text that is not (an edit behind its back) reads
            // as a blob, which asking for a String refuses.
            V::Text(t) => std::str::from_utf8(t).map_or(ValueRef::Blob(t), ValueRef::Text),
            V::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl rusqlite::ToSql for ValueRef<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as V};
        Ok(ToSqlOutput::Borrowed(match *self {
            ValueRef::Null => V::Null,
            ValueRef::Integer(i) => V::Integer(i),
            ValueRef::Real(f) => V::Real(f),
            ValueRef::Text(t) => V::Text(t.as_bytes()),
            ValueRef::Blob(b) => V::Blob(b),
        }))
    }
}

/// A Rust value that can be bound as a parameter.
pub trait ToSql {
    /// The value to bind.
    fn to_value(&self) -> ValueRef<'_>;
}

macro_rules! to_sql_int {
    ($($t:ty),+) => {$(
        impl ToSql for $t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Integer(i64::from(*self))
            }
        }
    )+};
}
to_sql_int!(i64, i32, u32, u16, u8, bool);

impl ToSql for usize {
    fn to_value(&self) -> ValueRef<'_> {
        // Counts and indices of the issuer fit (a status list holds at most 2^24 entries).
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToSql for u64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToSql for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToSql for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToSql for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

impl<T: ToSql> ToSql for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        self.as_ref().map_or(ValueRef::Null, ToSql::to_value)
    }
}

/// A Rust value that a column can be read as; `Err` names the type asked for.
pub trait FromSql: Sized {
    /// The value, or what was asked for.
    fn from_sql(v: ValueRef<'_>) -> Result<Self, &'static str>;
}

macro_rules! from_sql_int {
    ($($t:ty),+) => {$(
        impl FromSql for $t {
            fn from_sql(v: ValueRef<'_>) -> Result<Self, &'static str> {
                match v {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| stringify!($t)),
                    _ => Err(stringify!($t)),
                }
            }
        }
    )+};
}
from_sql_int!(i64, i32, u32, u64, usize, u8);

impl FromSql for bool {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Integer(i) => Ok(i != 0),
            _ => Err("a boolean"),
        }
    }
}

impl FromSql for String {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Text(t) => Ok(t.to_owned()),
            _ => Err("text"),
        }
    }
}

impl FromSql for Vec<u8> {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            _ => Err("a blob"),
        }
    }
}

impl<T: FromSql> FromSql for Option<T> {
    fn from_sql(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_sql(v).map(Some),
        }
    }
}

/// A statement's parameters: positional (`params![…]`, `[a, b]`, `[]`) or named
/// (`named_params! {":a": …}`).
pub trait Params {
    /// The parameters, each with its name if named.
    fn each(&self) -> Vec<(Option<&str>, ValueRef<'_>)>;
}

impl Params for &[&dyn ToSql] {
    fn each(&self) -> Vec<(Option<&str>, ValueRef<'_>)> {
        self.iter().map(|p| (None, p.to_value())).collect()
    }
}

impl Params for &[(&str, &dyn ToSql)] {
    fn each(&self) -> Vec<(Option<&str>, ValueRef<'_>)> {
        self.iter().map(|(n, p)| (Some(*n), p.to_value())).collect()
    }
}

impl Params for [&dyn ToSql; 0] {
    fn each(&self) -> Vec<(Option<&str>, ValueRef<'_>)> {
        Vec::new()
    }
}

macro_rules! params_array {
    ($($n:literal),+) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn each(&self) -> Vec<(Option<&str>, ValueRef<'_>)> {
                self.iter().map(|p| (None, p.to_value())).collect()
            }
        }
    )+};
}
params_array!(1, 2, 3, 4, 5, 6, 7, 8);

/// Binds `params` to a SQLite statement.
pub(crate) fn bind_sqlite<P: Params>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: &P,
) -> rusqlite::Result<()> {
    let each = params.each();
    let expected = stmt.parameter_count();
    // Named parameters bind by name (one may appear several times); positional ones must all
    // be given.
    if each.first().is_some_and(|(name, _)| name.is_none()) && each.len() != expected
        || each.is_empty() && expected != 0
    {
        return Err(rusqlite::Error::InvalidParameterCount(each.len(), expected));
    }
    for (i, (name, value)) in each.into_iter().enumerate() {
        match name {
            Some(name) => match stmt.parameter_index(name)? {
                Some(at) => stmt.raw_bind_parameter(at, value)?,
                None => return Err(rusqlite::Error::InvalidParameterName(name.to_owned())),
            },
            None => stmt.raw_bind_parameter(i + 1, value)?,
        }
    }
    Ok(())
}
