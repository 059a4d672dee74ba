//! Hidden developer commands: synthetic rosters and bulk enrollment, for tests and benchmarks.

use std::io::Write;
use std::path::Path;

use govid_core::enrollment::make_key_proof;
use govid_core::jose::{Algorithm, SoftwareSigner};
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, RngCore, SeedableRng};
use serde_json::json;

use crate::audit;
use crate::clock::{self, DAY};
use crate::cmd::enroll::accept_proof;
use crate::cmd::offer::create_offer;
use crate::error::{CliError, CliResult};
use crate::issuer::Issuer;
use crate::output::Report;
use crate::roster::HEADER;
use crate::store;

const FAMILY: [&str; 12] = [
    "Haddad", "Nguyễn", "Kowalska", "Okafor", "Ivanova", "García", "Müller", "Tanaka", "Sharma",
    "Öztürk", "Mensah", "Larsen",
];
const GIVEN: [&str; 12] = [
    "Amira", "Linh", "Zofia", "Chinedu", "Olga", "Lucía", "Jonas", "Haruto", "Priya", "Emre",
    "Ama", "Sofie",
];
const DEPARTMENTS: [&str; 5] = ["Road Safety", "Aviation", "Ports", "Rail", "Finance"];

pub(crate) fn synth(count: usize, out: &Path) -> CliResult<Report> {
    let file = std::fs::File::create(out).map_err(|e| CliError::io("cannot create", out, &e))?;
    let mut w = std::io::BufWriter::new(file);
    let year = clock::civil_from_days(clock::today(clock::now()?))[..4]
        .parse::<u32>()
        .unwrap_or(2026);
    let mut rng = ChaCha20Rng::from_rng(OsRng).map_err(|_| CliError::new("rng", "RNG failed"))?;
    let io = |e: std::io::Error| CliError::io("cannot write", out, &e);
    writeln!(w, "{}", HEADER.join(",")).map_err(io)?;
    for i in 0..count {
        let r = rng.next_u32() as usize;
        writeln!(
            w,
            "S{i:08},{},{},{}-{:02}-{:02},Ministry of Transport,MOT,{},Officer,G{},{},HQ-A;DEPOT-{},{}-12-31",
            FAMILY[r % 12],
            GIVEN[(r / 12) % 12],
            1960 + (r % 40),
            1 + (r / 7) % 12,
            1 + (r / 11) % 28,
            DEPARTMENTS[(r / 3) % 5],
            1 + r % 9,
            ["A", "B", "C"][r % 3],
            r % 10,
            year + 2,
        )
        .map_err(io)?;
    }
    w.flush().map_err(io)?;
    Ok(Report::new(
        json!({"count": count, "out": crate::output::abs(out)}),
        format!("Wrote {count} synthetic staff to {}", out.display()),
    ))
}

/// Every unenrolled active staff member gets an offer, a fresh Ed25519 phone key, a key proof
/// from core's enrollment module, and goes through the same `accept_proof` as `enroll`.
pub(crate) fn enroll_all(dir: &Path) -> CliResult<Report> {
    let mut issuer = Issuer::open(dir)?;
    let signer = issuer.signer()?;
    let now = clock::now()?;
    let did = issuer.did.clone();
    let mut rng = ChaCha20Rng::from_rng(OsRng).map_err(|_| CliError::new("rng", "RNG failed"))?;
    let mut total = 0u64;
    loop {
        let tx = store::write_tx(&mut issuer.conn)?;
        let batch: Vec<String> = {
            let mut stmt = tx.prepare_cached(
                "SELECT employee_number FROM staff WHERE holder_thumbprint IS NULL AND state = 'active'
                 ORDER BY employee_number LIMIT 10000",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        if batch.is_empty() {
            break;
        }
        for n in &batch {
            let code = create_offer(&tx, n, now, now + DAY, &mut rng)?;
            let phone = SoftwareSigner::generate(Algorithm::EdDSA, &mut rng);
            let proof = make_key_proof(&code, &did, now, &phone)?;
            accept_proof(&tx, &signer, &did, &proof, now, false)?;
        }
        audit::append(
            &tx,
            &signer,
            now,
            "enroll",
            &json!({"synthetic": true, "count": batch.len(),
            "first": batch.first(), "last": batch.last()}),
        )?;
        tx.commit()?;
        total += batch.len() as u64;
    }
    Ok(Report::new(
        json!({"enrolled": total}),
        format!("Enrolled {total} staff with synthetic phone keys."),
    ))
}
