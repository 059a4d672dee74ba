//! Rendering a payload as a QR code (ISO/IEC 18004), to PNG or SVG in memory.

use qrcode::bits::Bits;
use qrcode::render::svg;
use qrcode::{EcLevel, Version};

use super::base45::is_qr_alphanumeric;
use super::QrError;

/// QR error-correction level. [`Ecc::M`] (15% of codewords recoverable) is the default: it is
/// what the EU DCC uses, and a phone screen is not a scratched label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Ecc {
    /// ~7% recoverable; the most data.
    L,
    /// ~15% recoverable.
    #[default]
    M,
    /// ~25% recoverable.
    Q,
    /// ~30% recoverable; the least data.
    H,
}

impl Ecc {
    fn level(self) -> EcLevel {
        match self {
            Ecc::L => EcLevel::L,
            Ecc::M => EcLevel::M,
            Ecc::Q => EcLevel::Q,
            Ecc::H => EcLevel::H,
        }
    }

    /// The most characters a version 40 code holds at this level in `mode` (ISO/IEC 18004 table 7).
    pub fn capacity(self, mode: DataMode) -> usize {
        match (mode, self) {
            (DataMode::Alphanumeric, Ecc::L) => 4296,
            (DataMode::Alphanumeric, Ecc::M) => 3391,
            (DataMode::Alphanumeric, Ecc::Q) => 2420,
            (DataMode::Alphanumeric, Ecc::H) => 1852,
            (DataMode::Byte, Ecc::L) => 2953,
            (DataMode::Byte, Ecc::M) => 2331,
            (DataMode::Byte, Ecc::Q) => 1663,
            (DataMode::Byte, Ecc::H) => 1273,
        }
    }
}

/// How the payload is stored in the symbol: one segment, in one mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataMode {
    /// 11 bits per 2 characters of `0-9A-Z $%*+-./:` (all GV1/GVC1 payloads).
    Alphanumeric,
    /// 8 bits per byte, for any other text.
    Byte,
}

/// The largest PNG side [`QrCode::to_png`] produces, in pixels.
pub const MAX_PNG_SIDE: u32 = 8192;

/// A rendered QR code (always a normal, not Micro, QR code).
#[derive(Clone)]
pub struct QrCode {
    code: qrcode::QrCode,
    version: u8,
    ecc: Ecc,
    mode: DataMode,
}

impl std::fmt::Debug for QrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrCode")
            .field("version", &self.version)
            .field("ecc", &self.ecc)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Renders `payload` as the smallest QR code (version 1 to 40) that holds it at `ecc`.
///
/// A payload made only of QR alphanumeric characters (every `GV1:`/`GVC1:` payload) goes in one
/// alphanumeric segment; any other text in one byte segment. Errors with [`QrError::TooLarge`]
/// (payload size and the limit for that level and mode) when even version 40 is too small.
pub fn render(payload: &str, ecc: Ecc) -> Result<QrCode, QrError> {
    let mode = if is_qr_alphanumeric(payload) {
        DataMode::Alphanumeric
    } else {
        DataMode::Byte
    };
    let too_large = QrError::TooLarge {
        bytes: payload.len(),
        max: ecc.capacity(mode),
    };
    if payload.len() > ecc.capacity(mode) {
        return Err(too_large);
    }
    for version in 1..=40u8 {
        let mut bits = Bits::new(Version::Normal(i16::from(version)));
        let pushed = match mode {
            DataMode::Alphanumeric => bits.push_alphanumeric_data(payload.as_bytes()),
            DataMode::Byte => bits.push_byte_data(payload.as_bytes()),
        };
        if pushed.is_err() || bits.push_terminator(ecc.level()).is_err() {
            continue;
        }
        let code = qrcode::QrCode::with_bits(bits, ecc.level()).map_err(|_| too_large.clone())?;
        return Ok(QrCode {
            code,
            version,
            ecc,
            mode,
        });
    }
    Err(too_large)
}

impl QrCode {
    /// The QR version, 1 to 40 (the symbol is `17 + 4 * version` modules wide).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The error-correction level.
    pub fn ecc(&self) -> Ecc {
        self.ecc
    }

    /// The segment mode the payload was stored in.
    pub fn mode(&self) -> DataMode {
        self.mode
    }

    /// The width (and height) in modules, without quiet zone.
    pub fn width(&self) -> usize {
        self.code.width()
    }

    /// Whether the module at column `x`, row `y` is dark; `false` outside the symbol.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width() && y < self.width() && self.code[(x, y)] == qrcode::Color::Dark
    }

    /// An SVG image: 8 units per module, with the standard 4-module quiet zone.
    pub fn to_svg(&self) -> String {
        self.code
            .render::<svg::Color<'_>>()
            .module_dimensions(8, 8)
            .quiet_zone(true)
            .build()
    }

    /// A 1-bit grayscale PNG: `module_px` pixels per module and a quiet zone of `quiet_zone`
    /// modules on each side (the standard asks for 4).
    ///
    /// Errors with [`QrError::ImageSize`] if the side would be 0 or above [`MAX_PNG_SIDE`].
    pub fn to_png(&self, module_px: u32, quiet_zone: u32) -> Result<Vec<u8>, QrError> {
        let modules = self.width() as u64 + 2 * u64::from(quiet_zone);
        let px = modules * u64::from(module_px);
        let side = u32::try_from(px)
            .ok()
            .filter(|&s| (1..=MAX_PNG_SIDE).contains(&s))
            .ok_or(QrError::ImageSize {
                px,
                max: MAX_PNG_SIDE,
            })?;
        // All below 8192 now, so the conversions are lossless.
        let (n, scale, quiet) = (side as usize, module_px as usize, quiet_zone as usize);
        let row_bytes = n.div_ceil(8);
        let mut pixels = vec![0u8; row_bytes * n];
        for (y, row) in pixels.chunks_exact_mut(row_bytes).enumerate() {
            let my = (y / scale).checked_sub(quiet);
            for x in 0..n {
                let mx = (x / scale).checked_sub(quiet);
                let dark = mx.zip(my).is_some_and(|(mx, my)| self.is_dark(mx, my));
                if !dark {
                    // 1 is white in grayscale.
                    row[x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let mut writer = encoder.write_header().map_err(|_| QrError::Image)?;
        writer
            .write_image_data(&pixels)
            .map_err(|_| QrError::Image)?;
        writer.finish().map_err(|_| QrError::Image)?;
        Ok(out)
    }
}
