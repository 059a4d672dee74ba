// Crypto for the OpenID4VP harness: the signing helpers of the OpenID4VCI harness (Node's
// built-in `crypto`: ES256 on P-256 with IEEE P1363 signatures, EdDSA on Ed25519), plus the JWE
// of direct_post.jwt (ECDH-ES key agreement on P-256, A128GCM / A256GCM) on `jose` (panva), an
// independent JOSE implementation: the @openid4vc packages leave JWE to callbacks.

import crypto from 'node:crypto'

import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, importJWK } from 'jose'

export {
  ALGS,
  KeyStore,
  algFitsKey,
  decodeJwtParts,
  generateKey,
  publicJwk,
  randomToken,
  signBytes,
  signCompact,
  thumbprint,
  verifyBytes,
} from '../../oid4vci/lib/crypto.mjs'
import { ALGS, algFitsKey, publicJwk, signBytes, thumbprint, verifyBytes } from '../../oid4vci/lib/crypto.mjs'

const b64url = (bytes) => Buffer.from(bytes).toString('base64url')

/** The JWE algorithms of this harness (HAIP 1.0 §5: ECDH-ES on P-256; A128GCM and A256GCM). */
export const JWE_ALG = 'ECDH-ES'
export const JWE_ENCS = ['A128GCM', 'A256GCM']

/**
 * Reads a private JWK file with its `alg` (ES256 or EdDSA), as the OpenID4VCI harness writes
 * `holder.jwk`; returns a key for {@link signCompact} (`{alg, publicJwk, privateJwk, keyObject}`).
 */
export function importPrivateJwk(jwk, { defaultAlg } = {}) {
  const alg = jwk.alg ?? defaultAlg
  if (!ALGS.includes(alg)) throw new Error(`private JWK has alg ${jwk.alg}; expected one of ${ALGS.join(', ')}`)
  if (!jwk.d) throw new Error('the JWK has no private part (d)')
  const pub = publicJwk(jwk)
  if (!algFitsKey(alg, pub)) throw new Error(`alg ${alg} does not fit a ${jwk.kty}/${jwk.crv} key`)
  const keyObject = crypto.createPrivateKey({ key: { ...jwk, alg: undefined }, format: 'jwk' })
  return { alg, publicJwk: pub, privateJwk: jwk, keyObject }
}

/** A signer for @sd-jwt (`(data) => base64url signature`). */
export const sdJwtSigner = (key) => (data) => b64url(signBytes(key.alg, key.keyObject, data))

/** An @sd-jwt verifier over a public JWK (`(data, signature) => boolean`), for `alg`s of {@link ALGS}. */
export function sdJwtVerifier(alg, jwk) {
  return (data, signature) => {
    try {
      return verifyBytes(alg, jwk, data, Buffer.from(signature, 'base64url'))
    } catch {
      return false
    }
  }
}

/** A fresh P-256 ECDH-ES key for one Authorization Request: `{publicJwk (with kid, use, alg), privateKey}`. */
export function generateEncryptionKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicJwk(privateKey.export({ format: 'jwk' }))
  const kid = thumbprint(jwk)
  return { publicJwk: { ...jwk, kid, use: 'enc', alg: JWE_ALG }, privateKey }
}

/**
 * Compact JWE of `plaintext` to `recipientJwk` (ECDH-ES direct key agreement), with `kid` =
 * the JWK's `kid` (OpenID4VP 1.0 §8.3: MUST when the key has one) and the given `apu`/`apv`
 * (base64url, as the @openid4vc package hands them over).
 */
export async function encryptJwe(recipientJwk, plaintext, { enc, apu, apv }) {
  if (!JWE_ENCS.includes(enc)) throw new Error(`enc ${enc} is not one of ${JWE_ENCS.join(', ')}`)
  const alg = recipientJwk.alg ?? JWE_ALG
  if (alg !== JWE_ALG) throw new Error(`the verifier's key is for ${alg}; this wallet does ${JWE_ALG} only`)
  const key = await importJWK(publicJwk(recipientJwk), alg)
  const header = { alg, enc, ...(recipientJwk.kid ? { kid: recipientJwk.kid } : {}) }
  const jwe = new CompactEncrypt(new TextEncoder().encode(plaintext)).setProtectedHeader(header)
  const params = {}
  if (apu) params.apu = Buffer.from(apu, 'base64url')
  if (apv) params.apv = Buffer.from(apv, 'base64url')
  if (Object.keys(params).length) jwe.setKeyManagementParameters(params)
  return jwe.encrypt(key)
}

/** Decrypts a compact JWE with `privateKey` (ECDH-ES, A128GCM/A256GCM only); `{plaintext, header}`. */
export async function decryptJwe(jwe, privateKey) {
  const { plaintext, protectedHeader } = await compactDecrypt(jwe, privateKey, {
    keyManagementAlgorithms: [JWE_ALG],
    contentEncryptionAlgorithms: JWE_ENCS,
  })
  return { plaintext: new TextDecoder().decode(plaintext), header: protectedHeader }
}

export { decodeProtectedHeader }

/** SHA-256 of a string, base64url (sd_hash, disclosure digests). */
export const sha256b64 = (text) => b64url(crypto.createHash('sha256').update(text).digest())

/** Hash callback of @sd-jwt (`(data, alg) => Uint8Array`), sha-256 only. */
export function sdJwtHasher(data, alg = 'sha-256') {
  if (alg !== 'sha-256') throw new Error(`unsupported _sd_alg ${alg}`)
  return new Uint8Array(crypto.createHash('sha256').update(data).digest())
}
