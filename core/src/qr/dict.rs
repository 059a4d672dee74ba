//! The GV1 preset zlib dictionary.
//!
//! **Frozen**: the dictionary is part of format version 1. Changing a single byte makes every GV1
//! code unreadable (the zlib `DICTID` no longer matches), so a new dictionary needs a new version
//! byte and prefix. The test `dictionary_is_frozen` pins its Adler-32.
//!
//! Content: JOSE and SD-JWT VC words in the spaced style of the RFC 9901 and SD-JWT VC examples,
//! then the JSON that govid's issuer and wallet emit (compact `serde_json` output with sorted
//! keys) for worker IDs. deflate codes near distances more cheaply, so the most frequent strings
//! come last.

/// The dictionary bytes (UTF-8 JSON fragments).
pub(crate) const DICT_V1: &[u8] = concat!(
    // Rare: claims a gate seldom asks for, W3C-style and spaced-style fragments.
    "{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],\"type\":[\"VerifiableCredential\"],",
    "\"credentialSubject\":{\"id\":\"did:",
    "\"address\":{\"street_address\":\"\",\"locality\":\"\",\"region\":\"\",\"postal_code\":\"\",\"country\":\"",
    "\"nationalities\":[\"",
    "\"email\":\"\",\"phone_number\":\"",
    "\"portrait\":\"data:image/jpeg;base64,",
    "\"sub\":\"",
    "{\"alg\": \"ES256\", \"typ\": \"kb+jwt\"}",
    "{\"nonce\": \"\", \"aud\": \"https://\", \"iat\": 17, \"sd_hash\": \"",
    "{\"alg\": \"ES256\", \"typ\": \"dc+sd-jwt\", \"kid\": \"",
    "\"cnf\": {\"jwk\": {\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"\", \"y\": \"\"}}",
    "\"_sd_alg\": \"sha-256\"",
    "\"iss\": \"https://\", \"iat\": 17, \"exp\": 18, \"vct\": \"https://",
    "\"_sd\": [\"",
    "\", \"given_name\", \"",
    "\", \"family_name\", \"",
    "\", \"birthdate\", \"",
    "\", \"",
    // govid, as its issuer and wallet emit it: compact JSON, object keys sorted (serde_json's
    // default map). Disclosures, least common first.
    "{\"alg\":\"EdDSA\",\"kid\":\"did:web:\",\"typ\":\"dc+sd-jwt\"}",
    "\",\"portrait\",\"data:image/jpeg;base64,",
    "\",\"birthdate\",\"",
    "\",\"clearance\",\"",
    "\",\"grade\",\"",
    "\",\"position\",\"",
    "\",\"department\",\"",
    "\",\"access_zones\",[{\"...\":\"",
    "\",\"organization\",{\"_sd\":[\"",
    "\",\"employee_number\",\"",
    "\",\"code\",\"",
    "\",\"name\",\"",
    "\",\"family_name\",\"",
    "\",\"given_name\",\"",
    // The same claims when not selectively disclosable.
    "\"access_zones\":[\"",
    "\"organization\":{\"code\":\"\",\"name\":\"",
    "\"employee_number\":\"",
    "\"family_name\":\"",
    "\"given_name\":\"",
    // The issuer JWT's payload after `_sd`, for P-256 and Ed25519 holder keys.
    "\"],\"_sd_alg\":\"sha-256\",\"cnf\":{\"jwk\":{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"\",\"y\":\"",
    "\"],\"_sd_alg\":\"sha-256\",\"cnf\":{\"jwk\":{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"",
    "\"}},\"exp\":18,\"iat\":17,\"iss\":\"did:web:\",\"nbf\":17",
    ",\"status\":{\"status_list\":{\"idx\":",
    ",\"uri\":\"https://",
    "\"}},\"vct\":\"https://govid.example/vct/worker-id/v1\"}",
    // Headers and the KB-JWT payload.
    "{\"alg\":\"ES256\",\"typ\":\"kb+jwt\"}",
    "{\"alg\":\"EdDSA\",\"typ\":\"kb+jwt\"}",
    "{\"aud\":\"https://\",\"iat\":17,\"nonce\":\"\",\"sd_hash\":\"",
    "{\"alg\":\"ES256\",\"typ\":\"dc+sd-jwt\"}",
    "{\"alg\":\"EdDSA\",\"typ\":\"dc+sd-jwt\"}",
    // Array-element digests and `_sd` arrays, the most frequent.
    "{\"...\":\"",
    "{\"_sd\":[\"",
    "\",\"",
)
.as_bytes();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_is_frozen() {
        // If this fails, DICT_V1 changed: restore it, or define a new format version.
        assert_eq!(DICT_V1.len(), FROZEN_LEN);
        assert_eq!(miniz_oxide::mz_adler32_oxide(1, DICT_V1), FROZEN_ADLER32);
    }

    const FROZEN_LEN: usize = 1497;
    const FROZEN_ADLER32: u32 = 0x68A1C3D8;
}
