//! The govid worker ID: an SD-JWT VC a ministry's HR office issues to a staff member.
//!
//! # Claim set
//!
//! Always visible (never in a disclosure, as SD-JWT VC requires):
//!
//! | claim | meaning |
//! |---|---|
//! | `iss` | the issuing HR office (a DID: `did:web:hr.ministry.example` or `did:key:…`) |
//! | `iat`, `nbf`, `exp` | issued at, valid from, valid until (unix seconds) |
//! | `vct` | [`WORKER_ID_VCT`], versioned: a new major version gets a new URI |
//! | `cnf` | `{"jwk": …}` the holder's phone key (Ed25519, or P-256 in secure hardware) |
//! | `status` | `{"status_list": {"idx": …, "uri": …}}` the IETF Token Status List entry |
//!
//! Selectively disclosable, each on its own: `given_name`, `family_name`, `employee_number`,
//! `organization` (an object whose `name` and `code` are each disclosable too), `department`,
//! `position`, `grade`, `clearance`, `birthdate` (`YYYY-MM-DD`), `portrait` (optional, a small
//! `data:image/…;base64,` URL of at most [`MAX_PORTRAIT_BYTES`]), and `access_zones` (an array
//! whose elements are disclosed one by one). Every object with disclosable members also carries
//! decoy digests, so the number of claims does not show.
//!
//! # Example
//!
//! An issued worker ID's header and payload (digests shortened), and its processed payload when
//! every claim is disclosed:
//!
//! ```json
//! {"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": "did:web:hr.ministry.example#key-1"}
//! {
//!   "iss": "did:web:hr.ministry.example",
//!   "iat": 1795000000, "nbf": 1795000000, "exp": 1826536000,
//!   "vct": "https://govid.example/vct/worker-id/v1",
//!   "cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
//!                   "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},
//!   "status": {"status_list": {"idx": 48213, "uri": "https://hr.ministry.example/status/1"}},
//!   "_sd": ["2kPn…", "8fQw…", "Cu1b…", "…"],
//!   "_sd_alg": "sha-256"
//! }
//! ```
//!
//! ```json
//! {
//!   "iss": "did:web:hr.ministry.example",
//!   "iat": 1795000000, "nbf": 1795000000, "exp": 1826536000,
//!   "vct": "https://govid.example/vct/worker-id/v1",
//!   "cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
//!                   "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}},
//!   "status": {"status_list": {"idx": 48213, "uri": "https://hr.ministry.example/status/1"}},
//!   "given_name": "Amira",
//!   "family_name": "Haddad",
//!   "employee_number": "E-10442",
//!   "organization": {"name": "Ministry of Transport", "code": "MOT"},
//!   "department": "Road Safety",
//!   "position": "Senior Inspector",
//!   "grade": "G7",
//!   "clearance": "B",
//!   "birthdate": "1986-04-12",
//!   "access_zones": ["HQ-A", "HQ-B", "DEPOT-3"]
//! }
//! ```
//!
//! At an `entry` gate the holder discloses only `given_name`, `family_name` and `organization`.
//!
//! # Gate pass
//!
//! Alongside the worker ID, HR can issue a gate pass ([`issue_gate_pass`], `vct`
//! [`GATE_PASS_VCT`]) to the same holder key with the same status entry: only `given_name`,
//! `family_name`, `organization` (one disclosure), `clearance` and `access_zones`, padded to
//! [`GATE_PASS_DIGESTS`] top-level digests. Its `entry` presentation fits a QR code of version 22
//! at ECC M (21 with an Ed25519 holder key), where the worker ID's needs 27 to 29 (BENCHMARKS.md,
//! "Gate QR sizes"). The wallet shows the pass at gates and the worker ID at counters;
//! [`gate_policy`] accepts either ([`GATE_VCTS`]) and no other `vct`.

mod gate_pass;
mod profile;
mod worker;

pub use gate_pass::{issue_gate_pass, GATE_PASS_DIGESTS, GATE_PASS_VCT, GATE_VCTS};
pub use profile::{gate_policy, GateProfile};
pub use worker::{
    issue_worker_id, CompactIssuer, CompactParams, CredentialError, HolderCnf, Organization,
    StatusListRef, Validity, WorkerClaims, WorkerIdParams, WorkerView, MAX_PORTRAIT_BYTES,
    WORKER_ID_VCT,
};
