//! The GV1 preset zlib dictionary.
//!
//! **Frozen**: the dictionary is part of format version 1. Changing a single byte makes every GV1
//! code unreadable (the zlib `DICTID` no longer matches), so a new dictionary needs a new version
//! byte and prefix. The test `dictionary_is_frozen` pins its Adler-32.
//!
//! Content: the JSON that govid's issuer and wallet emit (compact `serde_json` output, so no spaces),
//! then the same JOSE words in the spaced style of the RFC 9901 and SD-JWT VC examples. deflate
//! codes near distances more cheaply, so the most frequent strings come last.

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
    // govid, compact JSON.
    "{\"alg\":\"ES256\",\"typ\":\"dc+sd-jwt\",\"kid\":\"",
    "\"cnf\":{\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"\",\"y\":\"\"}}",
    "\"status\":{\"status_list\":{\"idx\":,\"uri\":\"https://govid.example/status/",
    "\"vct\":\"https://govid.example/vct/worker-id/v1\"",
    "\"iss\":\"https://govid.example/issuer\",\"iat\":17,\"exp\":17,\"nbf\":17",
    "\",\"clearance\",\"",
    "\",\"grade\",\"",
    "\",\"position\",\"",
    "\",\"department\",\"",
    "\",\"birthdate\",\"",
    "\",\"portrait\",\"",
    "\",\"access_zones\",[\"",
    "\",\"employee_number\",\"",
    "\",\"organization\",{\"name\":\"\",\"code\":\"",
    "\",\"family_name\",\"",
    "\",\"given_name\",\"",
    "\"access_zones\":[\"",
    "\"organization\":{\"name\":\"\",\"code\":\"",
    "\"employee_number\":\"",
    "\"family_name\":\"",
    "\"given_name\":\"",
    "\"cnf\":{\"jwk\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"",
    "\"_sd_alg\":\"sha-256\"",
    "{\"alg\":\"EdDSA\",\"typ\":\"kb+jwt\"}",
    "{\"alg\":\"ES256\",\"typ\":\"kb+jwt\"}",
    "{\"iat\":17,\"aud\":\"\",\"nonce\":\"\",\"sd_hash\":\"",
    "{\"alg\":\"EdDSA\",\"typ\":\"dc+sd-jwt\",\"kid\":\"did:web:govid.example#",
    "\"_sd\":[\"",
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

    const FROZEN_LEN: usize = 1433;
    const FROZEN_ADLER32: u32 = 0xB510B5E5;
}
