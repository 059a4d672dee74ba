//! Log entries: what the issuer's transparency log records, and their canonical bytes.
//!
//! An entry is binary, not JSON, so that there is exactly one encoding of each entry and any
//! language can rebuild it from the published artifact without a canonical-JSON library:
//!
//! ```text
//! entry   = version:u8 (= 1)  type:u8  field*
//! string  = length:u16 (big-endian)  UTF-8 bytes
//! u64     = 8 bytes, big-endian
//! sha256  = 32 bytes
//!
//! type 1  issuer key, init     kid:string alg:string thumbprint:string valid_from:u64
//! type 2  issuer key, rotate   kid:string alg:string thumbprint:string valid_from:u64
//!                              previous_thumbprint:string
//! type 3  DID document         did:string sha256
//! type 4  Status List Token    uri:string iat:u64 sha256
//! type 5  trust bundle         seq:u64 sha256
//! ```
//!
//! Fields come in the order listed and nothing follows the last one, so each entry has exactly
//! one encoding; [`Entry::from_bytes`] refuses anything else. Thumbprints are RFC 7638 (base64url
//! SHA-256 of the public JWK); `valid_from` and `iat` are Unix seconds; the hashes are of the
//! exact bytes published. No entry names a person: the log records keys, documents and lists.
//! A new field or meaning gets a new type (or version), never a change to an existing one.

use std::fmt;

/// The encoding version, the first byte of every entry.
pub const ENTRY_VERSION: u8 = 1;

/// The largest entry accepted: entry bundles length-prefix entries with a u16.
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// How a key entered the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    /// The issuer's first key.
    Init,
    /// A key replacing `previous_thumbprint` for new signatures (the old one stays valid for
    /// what it signed).
    Rotate {
        /// RFC 7638 thumbprint of the key retired by this one.
        previous_thumbprint: String,
    },
}

/// An issuer signing key as logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    /// Init or rotation.
    pub event: KeyEvent,
    /// The key's `kid` (a DID URL).
    pub kid: String,
    /// The JOSE algorithm (`EdDSA`, `ES256`).
    pub alg: String,
    /// RFC 7638 thumbprint of the public JWK.
    pub thumbprint: String,
    /// Unix time from which the key signs.
    pub valid_from: u64,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// An issuer key event.
    Key(KeyEntry),
    /// A DID document as published.
    DidDocument {
        /// The issuer's DID.
        did: String,
        /// SHA-256 of the published document's bytes.
        sha256: [u8; 32],
    },
    /// A Status List Token as published.
    StatusList {
        /// The list's URI (the token's `sub`).
        uri: String,
        /// The token's `iat`.
        iat: u64,
        /// SHA-256 of the token (the compact JWS bytes).
        sha256: [u8; 32],
    },
    /// A signed trust bundle as published.
    TrustBundle {
        /// The bundle's `seq`.
        seq: u64,
        /// SHA-256 of the bundle (the compact JWS bytes).
        sha256: [u8; 32],
    },
}

/// Why bytes are not a log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The first byte is not [`ENTRY_VERSION`].
    #[error("unknown log entry version {0}")]
    Version(u8),
    /// The type byte is not one of the known types.
    #[error("unknown log entry type {0}")]
    Type(u8),
    /// The bytes end inside a field.
    #[error("log entry is truncated")]
    Truncated,
    /// Bytes follow the last field.
    #[error("log entry has trailing bytes")]
    Trailing,
    /// A string field is not UTF-8.
    #[error("log entry string is not UTF-8")]
    NotUtf8,
    /// A field or the entry is longer than the encoding allows.
    #[error("log entry is too long")]
    TooLong,
}

impl Entry {
    /// The type byte.
    pub fn type_byte(&self) -> u8 {
        match self {
            Entry::Key(KeyEntry {
                event: KeyEvent::Init,
                ..
            }) => 1,
            Entry::Key(_) => 2,
            Entry::DidDocument { .. } => 3,
            Entry::StatusList { .. } => 4,
            Entry::TrustBundle { .. } => 5,
        }
    }

    /// A short name of the type, for messages and the database.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Key(_) => "issuer_key",
            Entry::DidDocument { .. } => "did_document",
            Entry::StatusList { .. } => "status_list",
            Entry::TrustBundle { .. } => "trust_bundle",
        }
    }

    /// The canonical bytes (the log leaf).
    ///
    /// # Errors
    /// [`EntryError::TooLong`] if a string is over 65,535 bytes or the entry over
    /// [`MAX_ENTRY_LEN`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let mut out = vec![ENTRY_VERSION, self.type_byte()];
        match self {
            Entry::Key(k) => {
                put_str(&mut out, &k.kid)?;
                put_str(&mut out, &k.alg)?;
                put_str(&mut out, &k.thumbprint)?;
                out.extend_from_slice(&k.valid_from.to_be_bytes());
                if let KeyEvent::Rotate {
                    previous_thumbprint,
                } = &k.event
                {
                    put_str(&mut out, previous_thumbprint)?;
                }
            }
            Entry::DidDocument { did, sha256 } => {
                put_str(&mut out, did)?;
                out.extend_from_slice(sha256);
            }
            Entry::StatusList { uri, iat, sha256 } => {
                put_str(&mut out, uri)?;
                out.extend_from_slice(&iat.to_be_bytes());
                out.extend_from_slice(sha256);
            }
            Entry::TrustBundle { seq, sha256 } => {
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(sha256);
            }
        }
        if out.len() > MAX_ENTRY_LEN {
            return Err(EntryError::TooLong);
        }
        Ok(out)
    }

    /// Parses canonical bytes.
    ///
    /// # Errors
    /// The [`EntryError`] naming what is wrong.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(EntryError::TooLong);
        }
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != ENTRY_VERSION {
            return Err(EntryError::Version(version));
        }
        let ty = r.u8()?;
        let entry = match ty {
            1 | 2 => {
                let kid = r.string()?;
                let alg = r.string()?;
                let thumbprint = r.string()?;
                let valid_from = r.u64()?;
                let event = if ty == 1 {
                    KeyEvent::Init
                } else {
                    KeyEvent::Rotate {
                        previous_thumbprint: r.string()?,
                    }
                };
                Entry::Key(KeyEntry {
                    event,
                    kid,
                    alg,
                    thumbprint,
                    valid_from,
                })
            }
            3 => Entry::DidDocument {
                did: r.string()?,
                sha256: r.hash()?,
            },
            4 => Entry::StatusList {
                uri: r.string()?,
                iat: r.u64()?,
                sha256: r.hash()?,
            },
            5 => Entry::TrustBundle {
                seq: r.u64()?,
                sha256: r.hash()?,
            },
            other => return Err(EntryError::Type(other)),
        };
        if !r.0.is_empty() {
            return Err(EntryError::Trailing);
        }
        Ok(entry)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Key(k) => match &k.event {
                KeyEvent::Init => write!(f, "issuer key {} ({}, {})", k.kid, k.alg, k.thumbprint),
                KeyEvent::Rotate { .. } => write!(
                    f,
                    "issuer key rotated to {} ({}, {})",
                    k.kid, k.alg, k.thumbprint
                ),
            },
            Entry::DidDocument { did, .. } => write!(f, "DID document of {did}"),
            Entry::StatusList { uri, iat, .. } => write!(f, "status list {uri} (iat {iat})"),
            Entry::TrustBundle { seq, .. } => write!(f, "trust bundle #{seq}"),
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), EntryError> {
    let len = u16::try_from(s.len()).map_err(|_| EntryError::TooLong)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        if self.0.len() < n {
            return Err(EntryError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, EntryError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn hash(&mut self) -> Result<[u8; 32], EntryError> {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.take(32)?);
        Ok(b)
    }

    fn string(&mut self) -> Result<String, EntryError> {
        let len = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EntryError::NotUtf8)
    }
}
