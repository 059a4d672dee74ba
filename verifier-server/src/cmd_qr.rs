//! `govid-verifier qr`: the gate QR transport from the command line.
//!
//! `qr encode` reads a compact presentation on stdin, prints the `GV1:` payload on stdout and
//! the QR version and ECC level on stderr, and can write the code as PNG and SVG. `qr decode`
//! reads a scanned payload and prints the exact compact presentation.

use std::path::PathBuf;

use govid_core::qr::{self, Ecc};

use crate::input;

/// Arguments of `qr`.
#[derive(Debug, clap::Args)]
pub(crate) struct QrArgs {
    #[command(subcommand)]
    command: QrCommand,
}

#[derive(Debug, clap::Subcommand)]
enum QrCommand {
    /// Encode a compact presentation (stdin) as a gate QR payload (stdout).
    Encode {
        /// Also write the QR code as a PNG image here.
        #[arg(long, value_name = "FILE")]
        png: Option<PathBuf>,
        /// Also write the QR code as an SVG image here.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// Error correction level: L, M (default), Q or H.
        #[arg(long, default_value = "M", value_parser = parse_ecc)]
        ecc: Ecc,
        /// Pixels per QR module in the PNG.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=40))]
        scale: u32,
    },
    /// Decode a scanned gate QR payload (stdin) back to the exact compact presentation.
    Decode,
}

fn parse_ecc(text: &str) -> Result<Ecc, String> {
    match text.to_ascii_uppercase().as_str() {
        "L" => Ok(Ecc::L),
        "M" => Ok(Ecc::M),
        "Q" => Ok(Ecc::Q),
        "H" => Ok(Ecc::H),
        _ => Err("expected L, M, Q or H".to_owned()),
    }
}

/// Runs `qr`: 0 on success, 1 on bad input, 2 when an output file cannot be written.
pub(crate) fn run(args: QrArgs) -> u8 {
    let text = match input::read_stdin() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("input: {e}");
            return 1;
        }
    };
    match args.command {
        QrCommand::Decode => match qr::decode_payload(text.trim()) {
            Ok(compact) => {
                println!("{compact}");
                0
            }
            Err(e) => {
                eprintln!("bad_qr: {e}");
                1
            }
        },
        QrCommand::Encode {
            png,
            svg,
            ecc,
            scale,
        } => encode(text.trim(), png, svg, ecc, scale),
    }
}

fn encode(compact: &str, png: Option<PathBuf>, svg: Option<PathBuf>, ecc: Ecc, scale: u32) -> u8 {
    let code = qr::encode_presentation(compact).and_then(|payload| {
        let code = qr::render(&payload, ecc)?;
        Ok((payload, code))
    });
    let (payload, code) = match code {
        Ok(done) => done,
        Err(e) => {
            eprintln!("qr: {e}");
            return 1;
        }
    };
    if let Some(path) = png {
        let bytes = match code.to_png(scale, 4) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("qr: {e}");
                return 1;
            }
        };
        if let Err(e) = std::fs::write(&path, bytes) {
            eprintln!("cannot write {}: {e}", path.display());
            return 2;
        }
    }
    if let Some(path) = svg {
        if let Err(e) = std::fs::write(&path, code.to_svg()) {
            eprintln!("cannot write {}: {e}", path.display());
            return 2;
        }
    }
    println!("{payload}");
    eprintln!(
        "QR version {} at ECC level {:?}: {} characters from {} bytes",
        code.version(),
        code.ecc(),
        payload.len(),
        compact.len()
    );
    0
}
