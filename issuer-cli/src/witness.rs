//! `publish --witness URL`: ask transparency log witnesses (c2sp.org/tlog-witness) to cosign
//! the new checkpoint, and keep the cosignatures that verify under `--witness-key`.
//!
//! Each witness gets `old <size>` and the consistency proof from that size: first the log's size
//! before this publish (what a witness that cosigned the last publish has); on 409 the witness's
//! own size from its answer, once. Lines from keys not given with `--witness-key` are dropped
//! (tlog-witness: clients MUST ignore cosignatures from unknown keys).

use std::io::Read as _;
use std::time::Duration;

use govid_core::tlog::{split_note, MemoryTree, NoteSignature, WitnessKey};

use crate::error::{CliError, CliResult};

/// The witnesses of one publish.
pub(crate) struct Witnesses {
    /// Their add-checkpoint submission prefixes.
    pub(crate) urls: Vec<String>,
    /// The keys whose cosignatures count.
    pub(crate) keys: Vec<WitnessKey>,
    /// How many distinct keys must have cosigned.
    pub(crate) min: usize,
}

/// What the witnesses said.
pub(crate) struct Collected {
    /// Verified cosignature lines, one per distinct witness key.
    pub(crate) lines: Vec<String>,
    /// The names of the witnesses whose cosignature verified.
    pub(crate) cosigners: Vec<String>,
    /// (URL, what went wrong) for each witness that gave no usable cosignature.
    pub(crate) failures: Vec<(String, String)>,
}

/// The witnesses from `publish`'s flags; `None` without `--witness`.
pub(crate) fn from_args(
    urls: Vec<String>,
    keys: &[String],
    min: Option<usize>,
) -> CliResult<Option<Witnesses>> {
    if urls.is_empty() {
        if keys.is_empty() && min.is_none() {
            return Ok(None);
        }
        return Err(CliError::usage(
            "--witness-key and --min-cosignatures need --witness URL",
        ));
    }
    if keys.is_empty() {
        return Err(CliError::usage(
            "--witness needs --witness-key: only cosignatures by known witness keys count",
        ));
    }
    let keys = keys
        .iter()
        .map(|arg| {
            let text = if arg.contains('+') {
                arg.clone()
            } else {
                std::fs::read_to_string(arg)
                    .map_err(|e| CliError::io("cannot read", std::path::Path::new(arg), &e))?
            };
            WitnessKey::parse(&text)
                .map_err(|e| CliError::usage(format!("--witness-key {arg}: {e}")))
        })
        .collect::<CliResult<Vec<_>>>()?;
    let min = min.unwrap_or(keys.len());
    if min == 0 || min > keys.len() {
        return Err(CliError::usage(format!(
            "--min-cosignatures must be 1 to {} (the number of --witness-key)",
            keys.len()
        )));
    }
    Ok(Some(Witnesses { urls, keys, min }))
}

const RESPONSE_LIMIT: u64 = 64 * 1024;

fn request_body(old: u64, proof: &[govid_core::tlog::Hash], note: &[u8]) -> Vec<u8> {
    let mut b = format!("old {old}\n").into_bytes();
    for h in proof {
        b.extend_from_slice(format!("{h}\n").as_bytes());
    }
    b.push(b'\n');
    b.extend_from_slice(note);
    b
}

enum Answer {
    Lines(String),
    Conflict(u64),
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<Answer, String> {
    let endpoint = format!("{}/add-checkpoint", url.trim_end_matches('/'));
    let mut response = agent
        .post(&endpoint)
        .header("Content-Type", "text/plain; charset=utf-8")
        .send(body)
        .map_err(|e| format!("cannot reach it: {e}"))?;
    let status = response.status().as_u16();
    let mut text = String::new();
    response
        .body_mut()
        .as_reader()
        .take(RESPONSE_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read its answer: {e}"))?;
    match status {
        200 => Ok(Answer::Lines(text)),
        409 => text
            .strip_suffix('\n')
            .and_then(|s| s.parse().ok())
            .map(Answer::Conflict)
            .ok_or_else(|| "answered 409 without a size".to_owned()),
        404 => Err("it does not witness this log (404: add the log key to the witness)".to_owned()),
        _ => Err(format!("refused ({status}): {}", text.trim())),
    }
}

/// Sends the checkpoint `note` of `tree` to each witness; `guess` is the old size to try first.
pub(crate) fn collect(w: &Witnesses, tree: &MemoryTree, note: &[u8], guess: u64) -> Collected {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(15)))
        .http_status_as_error(false)
        .build()
        .into();
    let size = tree.size();
    let text = split_note(note).map(|(t, _)| t).unwrap_or_default();
    let mut out = Collected {
        lines: Vec::new(),
        cosigners: Vec::new(),
        failures: Vec::new(),
    };
    let mut counted: Vec<&WitnessKey> = Vec::new();
    for url in &w.urls {
        let mut old = guess.min(size);
        let mut answer = Err(String::new());
        for attempt in 0..2 {
            let Some(proof) = (if old == 0 {
                Some(Vec::new())
            } else {
                tree.consistency_proof(size, old)
            }) else {
                answer = Err(format!("it has size {old}, larger than this log's {size}"));
                break;
            };
            answer = post(&agent, url, &request_body(old, &proof, note));
            match answer {
                Ok(Answer::Conflict(theirs)) if attempt == 0 => old = theirs,
                _ => break,
            }
        }
        let lines = match answer {
            Ok(Answer::Lines(lines)) => lines,
            Ok(Answer::Conflict(theirs)) => {
                out.failures
                    .push((url.clone(), format!("it still reports size {theirs} (409)")));
                continue;
            }
            Err(e) => {
                out.failures.push((url.clone(), e));
                continue;
            }
        };
        let mut good = 0;
        for line in lines.lines() {
            let Ok(sig) = NoteSignature::from_bytes(line.as_bytes()) else {
                continue;
            };
            let Some(key) = w.keys.iter().find(|k| k.matches(&sig)) else {
                continue;
            };
            if key.verify(&text, &sig).is_ok()
                && !counted.iter().any(|c| c.as_str() == key.as_str())
            {
                counted.push(key);
                out.lines.push(format!("{line}\n"));
                out.cosigners.push(key.name().to_owned());
                good += 1;
            }
        }
        if good == 0 {
            out.failures.push((
                url.clone(),
                "no cosignature by a --witness-key verified".to_owned(),
            ));
        }
    }
    out
}
