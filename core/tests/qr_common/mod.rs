//! Helpers shared by the QR integration tests: an independent Base45 and hand-built zlib streams.
// Each test binary uses a different subset.
#![allow(dead_code)]

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Base45 (RFC 9285), written independently of the crate's.
pub(crate) fn base45(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(2) {
        let (mut v, digits) = match *chunk {
            [a, b] => (u32::from(a) * 256 + u32::from(b), 3),
            [a] => (u32::from(a), 2),
            _ => unreachable!("chunks(2) yields 1 or 2 bytes"),
        };
        for _ in 0..digits {
            out.push(char::from(ALPHABET[(v % 45) as usize]));
            v /= 45;
        }
    }
    out
}

/// Lenient Base45 decoding for building test inputs (panics on bad input).
pub(crate) fn unbase45(text: &str) -> Vec<u8> {
    let digit = |c: u8| ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
    let mut out = Vec::new();
    for group in text.as_bytes().chunks(3) {
        let v = group.iter().rev().fold(0, |acc, &c| acc * 45 + digit(c));
        if group.len() == 3 {
            out.extend_from_slice(&u16::try_from(v).unwrap().to_be_bytes());
        } else {
            out.push(u8::try_from(v).unwrap());
        }
    }
    out
}

/// Adler-32.
pub(crate) fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    b << 16 | a
}

/// A zlib stream of one stored (uncompressed) block.
pub(crate) fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x78, 0x01, 0x01];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// A zlib stream (no dictionary) of one fixed-Huffman block: literal `{` and then `repeats` x
/// (length 258, distance 1), with a dummy Adler-32.
pub(crate) fn zlib_bomb(repeats: usize) -> Vec<u8> {
    let mut bits: Vec<bool> = Vec::new();
    let mut put = |code: u32, len: u32, huffman: bool| {
        // Huffman codes go most significant bit first, other fields least significant first.
        for i in 0..len {
            let bit = if huffman {
                code >> (len - 1 - i)
            } else {
                code >> i
            };
            bits.push(bit & 1 == 1);
        }
    };
    put(1, 1, false); // BFINAL
    put(1, 2, false); // fixed Huffman
    put(0x30 + u32::from(b'{'), 8, true);
    for _ in 0..repeats {
        put(0xC5, 8, true); // length symbol 285: 258
        put(0, 5, true); // distance code 0: 1
    }
    put(0, 7, true); // end of block
    let mut out = vec![0x78, 0x01];
    let start = out.len();
    out.resize(start + bits.len().div_ceil(8), 0);
    for (i, bit) in bits.into_iter().enumerate() {
        if bit {
            out[start + i / 8] |= 1 << (i % 8);
        }
    }
    out.extend_from_slice(&[0; 4]);
    out
}
