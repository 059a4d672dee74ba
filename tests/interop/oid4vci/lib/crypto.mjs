// The crypto callbacks @openid4vc/* need (hash, random, sign, verify), on Node's built-in `crypto`
// only: ES256 (P-256, IEEE P1363 signatures) and EdDSA (Ed25519). Private keys stay in a
// KeyStore keyed by the RFC 7638 thumbprint of their public JWK; the package hands back only
// the public JWK in its signer objects and this module finds the private key from it.

import crypto from 'node:crypto'

/** The JOSE algorithms this harness signs and verifies with. */
export const ALGS = ['ES256', 'EdDSA']

const b64url = (bytes) => Buffer.from(bytes).toString('base64url')
const fromB64url = (text) => Buffer.from(text, 'base64url')

/** The public members of a JWK, in RFC 7638 order (kty-specific required members only). */
export function publicJwk(jwk) {
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
  if (jwk.kty === 'OKP') return { kty: 'OKP', crv: jwk.crv, x: jwk.x }
  throw new Error(`unsupported key type ${jwk.kty}`)
}

/** RFC 7638 SHA-256 thumbprint, base64url. */
export function thumbprint(jwk) {
  const members = publicJwk(jwk)
  const canonical = JSON.stringify(Object.fromEntries(Object.keys(members).sort().map((k) => [k, members[k]])))
  return b64url(crypto.createHash('sha256').update(canonical).digest())
}

/** Whether `alg` fits the key `jwk` (ES256: EC P-256; EdDSA: OKP Ed25519). */
export function algFitsKey(alg, jwk) {
  if (alg === 'ES256') return jwk?.kty === 'EC' && jwk.crv === 'P-256'
  if (alg === 'EdDSA') return jwk?.kty === 'OKP' && jwk.crv === 'Ed25519'
  return false
}

/** Generates a key pair for `alg`; returns `{ alg, publicJwk, privateJwk, keyObject }`. */
export function generateKey(alg) {
  let pair
  if (alg === 'ES256') pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  else if (alg === 'EdDSA') pair = crypto.generateKeyPairSync('ed25519')
  else throw new Error(`unsupported alg ${alg} (use ES256 or EdDSA)`)
  const privateJwk = pair.privateKey.export({ format: 'jwk' })
  return { alg, publicJwk: publicJwk(privateJwk), privateJwk, keyObject: pair.privateKey }
}

/** Signs `data` (bytes or string) with `key` (a private KeyObject) under `alg`; raw JOSE signature. */
export function signBytes(alg, key, data) {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  if (alg === 'ES256') return crypto.sign('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' })
  if (alg === 'EdDSA') return crypto.sign(null, bytes, key)
  throw new Error(`unsupported alg ${alg}`)
}

/** Verifies a raw JOSE signature over `data` with the public `jwk` under `alg`. */
export function verifyBytes(alg, jwk, data, signature) {
  if (!algFitsKey(alg, jwk)) return false
  const key = crypto.createPublicKey({ key: publicJwk(jwk), format: 'jwk' })
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  if (alg === 'ES256') return crypto.verify('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' }, signature)
  return crypto.verify(null, bytes, key, signature)
}

/** Compact JWS over `header` and `payload` with `key` (from {@link generateKey}). */
export function signCompact(key, header, payload) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  return `${input}.${b64url(signBytes(key.alg, key.keyObject, input))}`
}

/** Private keys by thumbprint of their public JWK. */
export class KeyStore {
  #keys = new Map()

  /** Adds a key from {@link generateKey} (or a private JWK with its alg) and returns it. */
  add(key) {
    this.#keys.set(thumbprint(key.publicJwk), key)
    return key
  }

  /** Imports a private JWK. */
  importPrivateJwk(alg, privateJwk) {
    const keyObject = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' })
    return this.add({ alg, publicJwk: publicJwk(privateJwk), privateJwk, keyObject })
  }

  get(jwk) {
    return this.#keys.get(thumbprint(jwk))
  }
}

/**
 * The callbacks of @openid4vc/oauth2's CallbackContext that involve crypto, over `keys`.
 * `signJwt` accepts only `jwk` signers whose key is in the store; `verifyJwt` only `jwk` signers
 * (the key comes from the JWT header or a JWKS the caller picked), never `did`, `x5c`,
 * `federation` or `custom`, for which this harness has no trust anchor.
 */
export function cryptoCallbacks(keys) {
  return {
    hash: (data, alg) => {
      const name = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg]
      if (!name) throw new Error(`unsupported hash ${alg}`)
      return new Uint8Array(crypto.createHash(name).update(data).digest())
    },
    generateRandom: (length) => new Uint8Array(crypto.randomBytes(length)),
    signJwt: (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`cannot sign for signer method ${signer.method}`)
      const key = keys.get(signer.publicJwk)
      if (!key) throw new Error('no private key for the requested signer')
      if (key.alg !== signer.alg || header.alg !== signer.alg) throw new Error(`key is ${key.alg}, asked for ${signer.alg}`)
      return { jwt: signCompact(key, header, payload), signerJwk: key.publicJwk }
    },
    verifyJwt: (signer, { compact, header }) => {
      if (signer.method !== 'jwk' || !signer.publicJwk) return { verified: false }
      if (header.alg !== signer.alg || !ALGS.includes(header.alg)) return { verified: false }
      const parts = compact.split('.')
      if (parts.length !== 3) return { verified: false }
      const ok = verifyBytes(header.alg, signer.publicJwk, `${parts[0]}.${parts[1]}`, fromB64url(parts[2]))
      return ok ? { verified: true, signerJwk: signer.publicJwk } : { verified: false }
    },
  }
}

/** Decodes a compact JWT's header and payload without checking anything. */
export function decodeJwtParts(jwt) {
  const [h, p] = jwt.split('.')
  return { header: JSON.parse(fromB64url(h).toString()), payload: JSON.parse(fromB64url(p).toString()) }
}

/** Random base64url string of `bytes` random bytes. */
export const randomToken = (bytes = 32) => b64url(crypto.randomBytes(bytes))
