//! zlib (RFC 1950) with an optional preset dictionary, over `miniz_oxide`.
//!
//! `flate2` with its pure-Rust backend (`rust_backend`, which is `miniz_oxide`) has no
//! `set_dictionary`: that API exists only with the C zlib or `zlib-rs` backends. So this module
//! drives `miniz_oxide` (which is `#![forbid(unsafe_code)]`) directly and writes the zlib wrapper
//! itself:
//! - compression primes the LZ77 window by compressing the dictionary first and ending that part
//!   with a sync flush (byte-aligned, window kept), discards that output, then compresses the data;
//! - decompression inflates into a fixed buffer that starts with the dictionary, so back-references
//!   into the dictionary resolve, and whose size is the output limit: inflation stops there, and
//!   nothing is ever allocated from a size read from the input.
//!
//! The stream is standard: any zlib decodes it given the same dictionary (`inflateSetDictionary`).

use miniz_oxide::deflate::core::{
    compress_to_output, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus,
};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use miniz_oxide::{mz_adler32_oxide, MZ_ADLER32_INIT};

use super::QrError;

/// `CMF`: deflate, 32 KiB window.
const CMF: u8 = 0x78;
/// `FLG` with `FLEVEL` = 3 (best), no dictionary; `0x78DA` is a multiple of 31.
const FLG_PLAIN: u8 = 0xDA;
/// `FLG` with `FLEVEL` = 3 and `FDICT`; `0x78F9` is a multiple of 31.
const FLG_DICT: u8 = 0xF9;
/// The `FDICT` bit of `FLG`.
const FDICT: u8 = 0x20;
/// miniz level 10 ("uber"): the inputs are a few KiB, so speed does not matter.
const LEVEL: i32 = 10;

/// Adler-32 of `data` (RFC 1950 section 9).
pub(super) fn adler32(data: &[u8]) -> u32 {
    mz_adler32_oxide(MZ_ADLER32_INIT, data)
}

/// Compresses `data` as a zlib stream; with a non-empty `dict`, as a preset-dictionary stream.
pub(crate) fn compress(data: &[u8], dict: &[u8]) -> Result<Vec<u8>, QrError> {
    // Negative window bits: raw deflate; the zlib wrapper is written below.
    let flags = create_comp_flags_from_zip_params(LEVEL, -15, 0);
    let mut compressor = CompressorOxide::new(flags);
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    out.push(CMF);
    if dict.is_empty() {
        out.push(FLG_PLAIN);
    } else {
        out.push(FLG_DICT);
        out.extend_from_slice(&adler32(dict).to_be_bytes());
        let (status, used) = compress_to_output(&mut compressor, dict, TDEFLFlush::Sync, |_| true);
        if status != TDEFLStatus::Okay || used != dict.len() {
            return Err(QrError::Compress);
        }
    }
    let (status, used) = compress_to_output(&mut compressor, data, TDEFLFlush::Finish, |chunk| {
        out.extend_from_slice(chunk);
        true
    });
    if status != TDEFLStatus::Done || used != data.len() {
        return Err(QrError::Compress);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    Ok(out)
}

/// Decompresses one zlib stream at the start of `input`, made with `dict` (empty: none).
///
/// Returns the data and the number of input bytes the stream used (what follows is not read).
/// Errors: [`QrError::Truncated`] if the input ends inside the stream, [`QrError::OutputTooLarge`]
/// if it inflates to more than `max_out` bytes, [`QrError::Decompress`] for anything else
/// (bad header, other dictionary, invalid deflate data, checksum mismatch).
pub(crate) fn decompress_bounded(
    input: &[u8],
    dict: &[u8],
    max_out: usize,
) -> Result<(Vec<u8>, usize), QrError> {
    let [cmf, flg, ..] = *input else {
        return Err(QrError::Truncated);
    };
    let header_ok =
        cmf & 0x0F == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0;
    if !header_ok || (flg & FDICT != 0) == dict.is_empty() {
        return Err(QrError::Decompress);
    }
    let mut pos = 2;
    if !dict.is_empty() {
        let id = read_u32(input, pos)?;
        if id != adler32(dict) {
            return Err(QrError::Decompress);
        }
        pos += 4;
    }

    let (status, used, out) = with_scratch(|scratch| {
        let need = dict.len() + max_out;
        if scratch.out.len() < need {
            scratch.out.resize(need, 0);
        }
        let buffer = &mut scratch.out[..need];
        buffer[..dict.len()].copy_from_slice(dict);
        scratch.state.init();
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let (status, used, written) =
            decompress(&mut scratch.state, &input[pos..], buffer, dict.len(), flags);
        let end = dict.len() + written.min(max_out);
        (status, used, buffer[dict.len()..end].to_vec())
    });
    match status {
        TINFLStatus::Done => {}
        TINFLStatus::HasMoreOutput => return Err(QrError::OutputTooLarge { max: max_out }),
        TINFLStatus::NeedsMoreInput | TINFLStatus::FailedCannotMakeProgress => {
            return Err(QrError::Truncated)
        }
        _ => return Err(QrError::Decompress),
    }
    pos += used;
    if read_u32(input, pos)? != adler32(&out) {
        return Err(QrError::Decompress);
    }
    Ok((out, pos + 4))
}

/// An inflate state and output buffer, kept per thread: a gate decodes a code per request, and a
/// fresh state (≈11 KiB) plus a zeroed output buffer (dictionary + limit) each time cost more than
/// the inflation of a 1 KiB code. Reusing the buffer is safe: with a non-wrapping output buffer
/// `miniz_oxide` refuses back-references before the start of the buffer, and only bytes it wrote
/// in this call (or the dictionary copied in above) lie between the start and its position, so
/// bytes left by an earlier call are never read or returned.
struct Scratch {
    state: Box<DecompressorOxide>,
    out: Vec<u8>,
}

/// Largest output buffer kept between calls (the QR decoders' limits are ≈ 16 KiB).
const MAX_KEPT_SCRATCH: usize = 64 * 1024;

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Scratch>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` with this thread's [`Scratch`], taken out and put back (a fresh one the first time,
/// and when the thread is exiting).
fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut scratch = SCRATCH
        .try_with(std::cell::Cell::take)
        .ok()
        .flatten()
        .unwrap_or_else(|| Scratch {
            state: Box::default(),
            out: Vec::new(),
        });
    let result = f(&mut scratch);
    if scratch.out.len() <= MAX_KEPT_SCRATCH {
        // Fails only while the thread exits; the scratch is then dropped.
        let _ = SCRATCH.try_with(|cell| cell.set(Some(scratch)));
    }
    result
}

/// The big-endian `u32` at `pos`, or [`QrError::Truncated`].
fn read_u32(input: &[u8], pos: usize) -> Result<u32, QrError> {
    input
        .get(pos..pos + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or(QrError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DICT: &[u8] = b"{\"alg\":\"EdDSA\",\"typ\":\"dc+sd-jwt\"}";

    #[test]
    fn round_trips_with_and_without_dictionary() {
        let data = b"{\"alg\":\"EdDSA\",\"typ\":\"dc+sd-jwt\",\"kid\":\"k1\"} and some more text";
        for dict in [&b""[..], DICT] {
            let z = compress(data, dict).unwrap_or_default();
            let (back, used) = decompress_bounded(&z, dict, 1024).unwrap_or_default();
            assert_eq!(back, data);
            assert_eq!(used, z.len());
        }
        assert!(
            compress(data, DICT).unwrap_or_default().len()
                < compress(data, b"").unwrap_or_default().len()
        );
    }

    #[test]
    fn empty_input() {
        let z = compress(b"", DICT).unwrap_or_default();
        assert_eq!(decompress_bounded(&z, DICT, 0), Ok((Vec::new(), z.len())));
    }

    #[test]
    fn wrong_dictionary_or_header_is_decompress_error() {
        let z = compress(b"hello hello hello", DICT).unwrap_or_default();
        assert_eq!(
            decompress_bounded(&z, b"other", 100),
            Err(QrError::Decompress)
        );
        assert_eq!(decompress_bounded(&z, b"", 100), Err(QrError::Decompress));
        let mut bad = z.clone();
        bad[1] ^= 1;
        assert_eq!(
            decompress_bounded(&bad, DICT, 100),
            Err(QrError::Decompress)
        );
        let mut bad = z.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            decompress_bounded(&bad, DICT, 100),
            Err(QrError::Decompress)
        );
    }

    #[test]
    fn truncation_and_limit() {
        let data = vec![b'a'; 500];
        let z = compress(&data, DICT).unwrap_or_default();
        for cut in 0..z.len() {
            assert_eq!(
                decompress_bounded(&z[..cut], DICT, 1000),
                Err(QrError::Truncated),
                "cut {cut}"
            );
        }
        assert_eq!(
            decompress_bounded(&z, DICT, 499),
            Err(QrError::OutputTooLarge { max: 499 })
        );
        assert!(decompress_bounded(&z, DICT, 500).is_ok());
    }
}
