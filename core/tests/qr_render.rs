//! QR rendering: version choice, segment mode, capacity errors, PNG and SVG output.
// Tests: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use govid_core::qr::{encode_presentation, render, DataMode, Ecc, QrError, MAX_PNG_SIDE};

const LEVELS: [(Ecc, qrcode::EcLevel); 4] = [
    (Ecc::L, qrcode::EcLevel::L),
    (Ecc::M, qrcode::EcLevel::M),
    (Ecc::Q, qrcode::EcLevel::Q),
    (Ecc::H, qrcode::EcLevel::H),
];

fn payload() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/vectors/sd-jwt/spec_examples.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    encode_presentation(json["vectors"][1]["presentation"].as_str().unwrap()).unwrap()
}

#[test]
fn default_level_is_m() {
    assert_eq!(Ecc::default(), Ecc::M);
}

/// One alphanumeric segment is as small as `qrcode`'s own optimal segmentation for GV1 payloads
/// (a switch to numeric mode only pays for runs of ~14 digits), and the version is the smallest.
#[test]
fn smallest_version_in_alphanumeric_mode() {
    let payload = payload();
    for (ecc, level) in LEVELS {
        let Ok(code) = render(&payload, ecc) else {
            assert_eq!(
                ecc,
                Ecc::H,
                "only H may be too small for {} chars",
                payload.len()
            );
            continue;
        };
        assert_eq!(code.ecc(), ecc);
        assert_eq!(code.mode(), DataMode::Alphanumeric);
        assert_eq!(code.width(), 17 + 4 * usize::from(code.version()));
        let auto = qrcode::QrCode::with_error_correction_level(&payload, level).unwrap();
        assert_eq!(
            qrcode::Version::Normal(i16::from(code.version())),
            auto.version()
        );
        let smaller = qrcode::Version::Normal(i16::from(code.version()) - 1);
        assert!(qrcode::QrCode::with_version(&payload, smaller, level).is_err());
    }
    let short = render("GV1:ABC", Ecc::M).unwrap();
    assert_eq!((short.version(), short.mode()), (1, DataMode::Alphanumeric));
    let bytes = render("lower case", Ecc::M).unwrap();
    assert_eq!((bytes.version(), bytes.mode()), (1, DataMode::Byte));
}

#[test]
fn capacity_limits_per_level() {
    for (ecc, _) in LEVELS {
        for (mode, unit) in [(DataMode::Alphanumeric, "A"), (DataMode::Byte, "a")] {
            let max = ecc.capacity(mode);
            let code = render(&unit.repeat(max), ecc).unwrap();
            assert_eq!((code.version(), code.mode()), (40, mode));
            assert_eq!(
                render(&unit.repeat(max + 1), ecc).map(|c| c.version()),
                Err(QrError::TooLarge {
                    bytes: max + 1,
                    max
                })
            );
        }
    }
    assert_eq!(Ecc::M.capacity(DataMode::Alphanumeric), 3391);
}

#[test]
fn png_is_a_1_bit_image_of_the_modules() {
    let code = render(&payload(), Ecc::M).unwrap();
    let (scale, quiet) = (3u32, 4u32);
    let png_bytes = code.to_png(scale, quiet).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let info = reader.info();
    let side = (code.width() as u32 + 2 * quiet) * scale;
    assert_eq!((info.width, info.height), (side, side));
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Grayscale, png::BitDepth::One)
    );
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let row_bytes = frame.line_size;
    let pixel_dark =
        |x: u32, y: u32| buf[y as usize * row_bytes + x as usize / 8] & (0x80 >> (x % 8)) == 0;
    for my in 0..code.width() {
        for mx in 0..code.width() {
            for (dx, dy) in [(0, 0), (scale - 1, scale - 1)] {
                let (x, y) = (
                    (mx as u32 + quiet) * scale + dx,
                    (my as u32 + quiet) * scale + dy,
                );
                assert_eq!(pixel_dark(x, y), code.is_dark(mx, my), "module {mx},{my}");
            }
        }
    }
    for i in 0..side {
        assert!(!pixel_dark(i, 0) && !pixel_dark(0, i) && !pixel_dark(side - 1, i));
    }
}

#[test]
fn png_size_limits() {
    let code = render("GV1:ABC", Ecc::M).unwrap();
    assert_eq!(
        code.to_png(0, 4),
        Err(QrError::ImageSize {
            px: 0,
            max: MAX_PNG_SIDE
        })
    );
    let px = (21 + 8) * u64::from(u32::MAX);
    assert_eq!(
        code.to_png(u32::MAX, 4),
        Err(QrError::ImageSize {
            px,
            max: MAX_PNG_SIDE
        })
    );
    let huge = u64::from(u32::MAX) * 2 + 21;
    assert_eq!(
        code.to_png(1, u32::MAX),
        Err(QrError::ImageSize {
            px: huge,
            max: MAX_PNG_SIDE
        })
    );
    assert!(code.to_png(1, 0).is_ok());
}

#[test]
fn svg_has_the_expected_size() {
    let code = render(&payload(), Ecc::M).unwrap();
    let svg = code.to_svg();
    let side = (code.width() + 8) * 8;
    assert!(svg.starts_with("<?xml"));
    assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
    assert!(svg.ends_with("</svg>"));
}
