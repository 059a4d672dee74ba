//! Property tests: encode → decode round trips, and no decoder panics on arbitrary input.

use govid_core::jose::{Algorithm, Signer};
use govid_core::status::{
    verify_status_list_token_with_key, BitstringStatusList, StatusBits, StatusList,
};
use govid_core::trust::TrustBundle;
use proptest::prelude::*;

use super::issuer_signer;

fn bits() -> impl Strategy<Value = StatusBits> {
    prop_oneof![
        Just(StatusBits::ONE),
        Just(StatusBits::TWO),
        Just(StatusBits::FOUR),
        Just(StatusBits::EIGHT),
    ]
}

proptest! {
    #[test]
    fn lst_round_trips(bits in bits(), values in prop::collection::vec(any::<u8>(), 0..3000)) {
        let mut list = StatusList::new(bits, values.len()).expect("list");
        for (i, v) in values.iter().enumerate() {
            list.set(i, v & bits.max_value()).expect("set");
        }
        let decoded = StatusList::from_lst(bits, &list.to_lst()).expect("decodes");
        // The byte array carries whole bytes: the padding entries read as 0.
        prop_assert!(decoded.len() >= list.len());
        prop_assert!(decoded.len() - list.len() < usize::from(8 / bits.get()));
        for i in 0..decoded.len() {
            let expected = values.get(i).map_or(0, |v| v & bits.max_value());
            prop_assert_eq!(decoded.get(i), Ok(expected));
        }
        prop_assert_eq!(decoded.as_bytes(), list.as_bytes());
    }

    #[test]
    fn zlib_decoder_never_panics(bits in bits(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = StatusList::from_compressed(bits, &bytes);
        // With a valid ZLIB header, so the DEFLATE decoder itself sees the noise.
        let mut framed = vec![0x78, 0xda];
        framed.extend(&bytes);
        let _ = StatusList::from_compressed(bits, &framed);
    }

    #[test]
    fn text_decoders_never_panic(text in ".{0,300}", size in 0u8..12) {
        let _ = StatusList::from_lst(StatusBits::ONE, &text);
        let _ = BitstringStatusList::decode(&text, size);
        let _ = BitstringStatusList::decode(&format!("u{text}"), size);
        let key = issuer_signer().public_key();
        let _ = verify_status_list_token_with_key(&text, &key, "https://a/1", 0, &Algorithm::ALL);
        let _ = TrustBundle::load(&text, &key, None);
    }

    #[test]
    fn gzip_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = BitstringStatusList::decode(&format!("u{}", govid_core::b64::encode(&bytes)), 1);
        let mut framed = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        framed.extend(&bytes);
        let _ = BitstringStatusList::decode(&format!("u{}", govid_core::b64::encode(&framed)), 1);
    }

    #[test]
    fn lookups_never_panic(bits in bits(), len in 0usize..100, idx in any::<usize>()) {
        let list = StatusList::new(bits, len).expect("list");
        let _ = list.get(idx);
    }
}
