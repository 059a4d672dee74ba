//! Bounded ZLIB and GZIP decompression, and ZLIB compression at the best level.
//!
//! A status list arrives compressed from the network; a few kilobytes of DEFLATE can inflate to
//! gigabytes. Decompression here reads at most `limit + 1` bytes of output into a growing buffer
//! (never sized from anything the input claims) and stops with `DecompressedTooLarge` as soon as
//! the limit is passed, so a bomb costs at most `limit` bytes of inflating. The buffer grows by
//! doubling, so peak memory stays under twice the limit (32 MiB for an 8-bit list).

use std::io::{Read, Write};

use flate2::bufread::{GzDecoder, ZlibDecoder};
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::StatusError;

/// Compresses with ZLIB at the best compression level (draft §4.1 step 4 recommends it).
pub(crate) fn zlib_compress_best(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(
        Vec::with_capacity(bytes.len() / 8 + 64),
        Compression::best(),
    );
    // Writing into a Vec cannot fail, so neither can the encoder: its only errors come from the
    // underlying writer.
    let written = encoder.write_all(bytes).and_then(|()| encoder.finish());
    written.unwrap_or_default()
}

/// Inflates a ZLIB stream into at most `limit` bytes. The stream must end (with a good Adler-32)
/// and nothing may follow it.
pub(crate) fn zlib_decompress_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>, StatusError> {
    let mut decoder = ZlibDecoder::new(input);
    let out = read_bounded(&mut decoder, limit)?;
    if !decoder.into_inner().is_empty() {
        return Err(StatusError::Compression(
            "trailing bytes after the ZLIB stream",
        ));
    }
    Ok(out)
}

/// Inflates one GZIP member into at most `limit` bytes. The member must end (with a good CRC-32
/// and length) and nothing may follow it.
pub(crate) fn gzip_decompress_bounded(input: &[u8], limit: usize) -> Result<Vec<u8>, StatusError> {
    let mut decoder = GzDecoder::new(input);
    let out = read_bounded(&mut decoder, limit)?;
    if !decoder.into_inner().is_empty() {
        return Err(StatusError::Compression(
            "trailing bytes after the GZIP member",
        ));
    }
    Ok(out)
}

/// Reads `reader` to its end, failing once more than `limit` bytes come out.
fn read_bounded(reader: &mut impl Read, limit: usize) -> Result<Vec<u8>, StatusError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| StatusError::Compression("corrupt or truncated stream"))?;
    if out.len() > limit {
        return Err(StatusError::DecompressedTooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_trailing_bytes() {
        let data = b"status list status list status list".to_vec();
        let packed = zlib_compress_best(&data);
        assert_eq!(zlib_decompress_bounded(&packed, 100), Ok(data.clone()));
        assert_eq!(
            zlib_decompress_bounded(&packed, data.len() - 1),
            Err(StatusError::DecompressedTooLarge {
                limit: data.len() - 1
            })
        );
        let mut trailing = packed.clone();
        trailing.push(0);
        assert!(matches!(
            zlib_decompress_bounded(&trailing, 100),
            Err(StatusError::Compression(_))
        ));
        let truncated = &packed[..packed.len() - 2];
        assert!(matches!(
            zlib_decompress_bounded(truncated, 100),
            Err(StatusError::Compression(_))
        ));
        let mut bad_checksum = packed;
        let last = bad_checksum.len() - 1;
        bad_checksum[last] ^= 1;
        assert!(matches!(
            zlib_decompress_bounded(&bad_checksum, 100),
            Err(StatusError::Compression(_))
        ));
    }
}
