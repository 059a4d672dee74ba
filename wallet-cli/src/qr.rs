//! QR codes for the terminal and for files: core's renderer (`govid_core::qr::render`, the one
//! behind the library's `qr_png`), drawn with half-block characters, two modules a line.

use govid_core::qr::{render, Ecc};

/// The quiet zone around a drawn code, in modules (the standard asks for 4; most scanners
/// read a screen with 2, and the terminal's background frames it).
const QUIET: usize = 2;

/// `payload` as lines of text: each character is one module wide and two high (`▀` top dark,
/// `▄` bottom dark, `█` both, space neither), dark modules in the terminal's foreground colour.
/// Scanners expect dark on light: drawn inverted (light modules as blocks), it reads on a dark
/// terminal, which most are.
pub(crate) fn draw(payload: &str) -> Result<String, String> {
    let code = render(payload, Ecc::M).map_err(|e| e.to_string())?;
    let width = code.width();
    let side = width + 2 * QUIET;
    // Light (true) or dark (false) at (x, y) in the framed grid; the quiet zone is light.
    let light = |x: usize, y: usize| -> bool {
        if x < QUIET || y < QUIET || x >= width + QUIET || y >= width + QUIET {
            return true;
        }
        !code.is_dark(x - QUIET, y - QUIET)
    };
    let mut out = String::with_capacity(side * (side / 2 + 1) * 3);
    for y in (0..side).step_by(2) {
        for x in 0..side {
            let top = light(x, y);
            let bottom = y + 1 < side && light(x, y + 1);
            out.push(match (top, bottom) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

/// `payload` as a PNG (8 pixels a module, 4-module quiet zone), as the apps render it.
pub(crate) fn png(payload: &str) -> Result<Vec<u8>, String> {
    govid_ffi::qr_png(payload.to_owned(), 8, govid_ffi::QrEcc::M).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::draw;

    #[test]
    fn a_drawn_code_is_square_with_a_light_frame() {
        let text = draw("GV1:HELLO").unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let width = lines.first().map_or(0, |l| l.chars().count());
        // Version 1 is 21 modules, plus two quiet modules a side: 25 columns, 13 lines.
        assert_eq!(width, 25);
        assert_eq!(lines.len(), 13);
        assert!(lines.iter().all(|l| l.chars().count() == width));
        assert!(lines[0].chars().all(|c| c == '█'));
        // The finder pattern's top edge is dark: the second line starts light, then dark.
        assert!(lines[1].starts_with("██ "));
    }
}
