//! Compression bombs: hand-built DEFLATE streams that inflate to ≥ 100 MB are refused quickly,
//! after at most the fixed output limit, through every decoder that takes compressed input.

use std::time::{Duration, Instant};

use govid_core::jose::{sign_compact, Algorithm, Signer};
use govid_core::status::{
    verify_status_list_token_with_key, BitstringStatusList, StatusBits, StatusError, StatusList,
    StatusTokenError, MAX_ENTRIES,
};
use serde_json::json;

use super::{issuer_signer, object};

/// What each bomb inflates to.
const BOMB_SIZE: u64 = 100 * 1024 * 1024;

/// Generous even for an unoptimized build on a busy 2-core machine; inflating the whole bomb
/// would take far longer and use 100 MB.
const FAST: Duration = Duration::from_secs(10);

/// Writes DEFLATE bits least significant first (RFC 1951 §3.1.1).
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    fn bits(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which DEFLATE stores most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| (r << 1) | ((code >> i) & 1));
        self.bits(reversed, len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// One fixed-Huffman DEFLATE block: a literal 0 byte, then copies of length 258 at distance 1
/// (13 bits each) until `size` bytes, then end-of-block. About 0.6 MB for 100 MB.
fn deflate_zeros(size: u64) -> Vec<u8> {
    let mut w = BitWriter {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    w.bits(1, 1); // BFINAL
    w.bits(1, 2); // BTYPE = 01, fixed Huffman codes
    w.code(0x30, 8); // literal 0: codes 0..=143 are 0x30 + value, 8 bits
    let copies = (size - 1) / 258;
    for _ in 0..copies {
        w.code(0b1100_0101, 8); // length code 285 = 258 bytes: 0xC0 + (285 - 280), 8 bits
        w.code(0, 5); // distance code 0 = distance 1, 5 bits
    }
    let rest = (size - 1) % 258;
    for _ in 0..rest {
        w.code(0x30, 8);
    }
    w.code(0, 7); // end of block (256): 7 bits of 0
    w.finish()
}

/// A complete ZLIB stream of `size` zero bytes, with its correct Adler-32.
fn zlib_bomb(size: u64) -> Vec<u8> {
    let mut out = vec![0x78, 0xda];
    out.extend(deflate_zeros(size));
    // Adler-32 of n zeros: a stays 1, b = n mod 65521.
    let adler = ((size % 65_521) << 16) | 1;
    out.extend((adler as u32).to_be_bytes());
    out
}

/// A GZIP member of `size` zero bytes. The CRC-32 is left 0: the decoder must stop at its output
/// limit long before it reaches the trailer.
fn gzip_bomb(size: u64) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate_zeros(size));
    out.extend(0u32.to_le_bytes());
    out.extend((size as u32).to_le_bytes());
    out
}

#[test]
fn the_hand_built_stream_really_inflates() {
    // A small instance of the same construction decodes to exactly the zeros it claims.
    let list = StatusList::from_compressed(StatusBits::EIGHT, &zlib_bomb(100_000)).expect("ok");
    assert_eq!(list.len(), 100_000);
    assert!(list.as_bytes().iter().all(|b| *b == 0));
}

#[test]
fn zlib_bomb_is_refused_fast_for_every_bit_size() {
    let bomb = zlib_bomb(BOMB_SIZE);
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    for bits in [
        StatusBits::ONE,
        StatusBits::TWO,
        StatusBits::FOUR,
        StatusBits::EIGHT,
    ] {
        let start = Instant::now();
        let result = StatusList::from_compressed(bits, &bomb);
        let limit = MAX_ENTRIES / (8 / usize::from(bits.get()));
        assert_eq!(result, Err(StatusError::DecompressedTooLarge { limit }));
        assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
    }
}

#[test]
fn zlib_bomb_inside_a_signed_token_is_status_token_lst() {
    let lst = govid_core::b64::encode(zlib_bomb(BOMB_SIZE));
    let payload = json!({"sub": "https://hr.example/status/1", "iat": 1000,
        "status_list": {"bits": 1, "lst": lst}});
    let signer = issuer_signer();
    let token = sign_compact(
        object(json!({"typ": "statuslist+jwt"})),
        &object(payload),
        &signer,
    )
    .expect("sign");
    let start = Instant::now();
    let result = verify_status_list_token_with_key(
        &token,
        &signer.public_key(),
        "https://hr.example/status/1",
        1000,
        &Algorithm::ALL,
    );
    assert_eq!(
        result.map(|_| ()),
        Err(StatusTokenError::Lst(StatusError::DecompressedTooLarge {
            limit: MAX_ENTRIES / 8
        }))
    );
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
}

#[test]
fn gzip_bomb_is_refused_fast() {
    let encoded = format!("u{}", govid_core::b64::encode(gzip_bomb(BOMB_SIZE)));
    let start = Instant::now();
    assert_eq!(
        BitstringStatusList::decode(&encoded, 1),
        Err(StatusError::DecompressedTooLarge { limit: MAX_ENTRIES })
    );
    assert!(start.elapsed() < FAST, "{:?}", start.elapsed());
}
