// SD-JWT VC presentations (RFC 9901, draft-ietf-oauth-sd-jwt-vc-18) on @sd-jwt/sd-jwt-vc 0.19.0:
// the wallet's presentation with a Key Binding JWT, and the verifier's checks. The package
// verifies the issuer signature, iat/nbf/exp of the issuer JWT, the KB-JWT's typ, presence of
// iat/aud/nonce/sd_hash, its signature, nonce and sd_hash; what it leaves out is done here and
// marked "(caller)": the issuer JWT `typ`, `vct`, KB-JWT `aud`, the KB-JWT `iat` window, the
// algorithms, that every disclosure is referenced exactly once (RFC 9901 §7.1), and which
// signature failed (the package says "Invalid JWT Signature" for both).

import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'

import { ALGS, algFitsKey, decodeJwtParts, randomToken, sdJwtHasher, sdJwtSigner, sdJwtVerifier, sha256b64, signCompact } from './crypto.mjs'

/** A rejected presentation or response: `code` is this harness's stable name for the failure. */
export class Rejection extends Error {
  constructor(code, message, oauthError = 'invalid_request') {
    super(message)
    this.code = code
    this.oauthError = oauthError
  }
}

const decodeDisclosure = (text) => {
  let value
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
  } catch {
    throw new Rejection('disclosure_malformed', 'a disclosure is not base64url JSON')
  }
  if (!Array.isArray(value) || (value.length !== 2 && value.length !== 3)) throw new Rejection('disclosure_malformed', 'a disclosure is not an array of 2 or 3 elements')
  return value
}

/** Splits a compact SD-JWT(+KB): `{issuerJwt, disclosures: [string], kbJwt: string|''}`. */
export function splitSdJwt(sdJwt) {
  const parts = sdJwt.split('~')
  if (parts.length < 2) throw new Rejection('presentation_malformed', 'not an SD-JWT (no ~)')
  return { issuerJwt: parts[0], disclosures: parts.slice(1, -1), kbJwt: parts.at(-1) }
}

/**
 * Walks the issuer payload with the disclosures: returns the claims with every disclosure
 * applied, and the paths (arrays of names and indexes) of the disclosed claims. Throws if a
 * disclosure is not referenced exactly once, or a digest is referenced twice (RFC 9901 §7.1).
 */
export function unpackDisclosures(payload, disclosureTexts) {
  const byDigest = new Map()
  for (const text of disclosureTexts) {
    const digest = sha256b64(text)
    if (byDigest.has(digest)) throw new Rejection('disclosure_duplicate', 'a disclosure appears twice')
    byDigest.set(digest, { text, value: decodeDisclosure(text), used: 0 })
  }
  const seen = new Set()
  const paths = []
  const use = (digest) => {
    if (seen.has(digest)) throw new Rejection('digest_duplicate', 'a digest is referenced twice')
    seen.add(digest)
    const d = byDigest.get(digest)
    if (d) d.used++
    return d
  }
  const walk = (node, path) => {
    if (Array.isArray(node)) {
      const out = []
      node.forEach((el, i) => {
        if (el && typeof el === 'object' && !Array.isArray(el) && Object.keys(el).length === 1 && typeof el['...'] === 'string') {
          const d = use(el['...'])
          if (!d) return // undisclosed element (or decoy)
          if (d.value.length !== 2) throw new Rejection('disclosure_malformed', 'an array element disclosure has a claim name')
          paths.push([...path, out.length])
          out.push(walk(d.value[1], [...path, out.length]))
        } else out.push(walk(el, [...path, out.length]))
        void i
      })
      return out
    }
    if (node && typeof node === 'object') {
      const out = {}
      for (const [k, v] of Object.entries(node)) {
        if (k === '_sd' || k === '_sd_alg') continue
        out[k] = walk(v, [...path, k])
      }
      for (const digest of Array.isArray(node._sd) ? node._sd : []) {
        const d = use(digest)
        if (!d) continue
        if (d.value.length !== 3) throw new Rejection('disclosure_malformed', 'an object property disclosure has no claim name')
        const [, name, value] = d.value
        if (name === '_sd' || name === '...' || Object.hasOwn(out, name)) throw new Rejection('disclosure_malformed', `disclosure for ${name} clashes with the payload`)
        paths.push([...path, name])
        out[name] = walk(value, [...path, name])
      }
      return out
    }
    return node
  }
  const claims = walk(payload, [])
  const unused = [...byDigest.values()].filter((d) => d.used === 0)
  if (unused.length) throw new Rejection('disclosure_not_referenced', `${unused.length} disclosure(s) not referenced by any digest`)
  return { claims, paths }
}

/** A dotted name for a claims path (`['organization', 'name']` → `organization.name`). */
export const dotted = (path) => path.join('.')

/** The value at `path` in `claims`, or undefined. */
export function valueAt(claims, path) {
  let node = claims
  for (const step of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, step)) return undefined
    node = node[step]
  }
  return node
}

/**
 * Makes a presentation of `credential` disclosing exactly the claims at `paths` (arrays of
 * names), with a KB-JWT over `{iat, aud, nonce}` signed by `holderKey` (the package adds
 * `sd_hash` and `typ: kb+jwt`). `tamper` (test only) alters the KB-JWT afterwards:
 * `sd_hash` (re-signed over another sd_hash), `kb-sig` (a flipped signature byte).
 */
export async function present(credential, holderKey, { paths, aud, nonce, iat, tamper = [] }) {
  const frame = {}
  for (const path of paths) {
    let node = frame
    path.forEach((step, i) => {
      if (typeof step !== 'string') throw new Error(`claims path ${JSON.stringify(path)}: only claim names are supported`)
      if (i === path.length - 1) node[step] = node[step] && typeof node[step] === 'object' ? node[step] : true
      else node = node[step] = node[step] && typeof node[step] === 'object' ? node[step] : {}
    })
  }
  const sdjwt = new SDJwtVcInstance({
    hasher: sdJwtHasher,
    saltGenerator: () => randomToken(16),
    kbSigner: sdJwtSigner(holderKey),
    kbSignAlg: holderKey.alg,
  })
  let presentation = await sdjwt.present(credential, frame, { kb: { payload: { iat, aud, nonce } } })
  const { kbJwt } = splitSdJwt(presentation)
  const head = presentation.slice(0, presentation.length - kbJwt.length)
  if (tamper.includes('sd_hash')) {
    const { header, payload } = decodeJwtParts(kbJwt)
    presentation = head + signCompact(holderKey, header, { ...payload, sd_hash: sha256b64(`${head}tampered`) })
  }
  if (tamper.includes('kb-sig')) {
    const [h, p, s] = presentation.slice(head.length).split('.')
    const sig = Buffer.from(s, 'base64url')
    sig[0] ^= 0x01
    presentation = `${head}${h}.${p}.${sig.toString('base64url')}`
  }
  return presentation
}

/**
 * Verifies an SD-JWT VC presentation as a Verifier (RFC 9901 §7.3, OpenID4VP 1.0 §B.3.6):
 * issuer signature with a key of `issuerJwks` (by `kid`, or the only key), `typ` dc+sd-jwt,
 * `vct` one of `vctValues`, holder binding by KB-JWT with `cnf.jwk`, `nonce`, `aud` =
 * `audience` (the full Client Identifier), `sd_hash`, `iat` at most `maxAgeSecs` old and at
 * most `maxFutureSecs` ahead. Returns `{claims, paths, issuerHeader, kb}`; throws a Rejection.
 */
export async function verifyPresentation(presentation, { issuerJwks, vctValues, nonce, audience, algs = ALGS, maxAgeSecs = 300, maxFutureSecs = 60, statusListFetcher, ignoreStatus = false, now = () => Math.floor(Date.now() / 1000) }) {
  if (typeof presentation !== 'string') throw new Rejection('presentation_malformed', 'an SD-JWT VC presentation must be a string (B.3.6)')
  const { issuerJwt, disclosures, kbJwt } = splitSdJwt(presentation)
  let issuer
  try {
    issuer = decodeJwtParts(issuerJwt)
  } catch {
    throw new Rejection('presentation_malformed', 'the issuer JWT does not decode')
  }
  // (caller) typ and alg of the issuer JWT (draft-ietf-oauth-sd-jwt-vc-18 §3.2.1).
  if (issuer.header.typ !== 'dc+sd-jwt') throw new Rejection('credential_typ', `issuer JWT typ is ${issuer.header.typ}, expected dc+sd-jwt`)
  if (!algs.includes(issuer.header.alg)) throw new Rejection('credential_alg', `issuer JWT alg ${issuer.header.alg} is not one of ${algs.join(', ')}`)
  const keys = Array.isArray(issuerJwks?.keys) ? issuerJwks.keys : []
  const issuerKey = issuer.header.kid !== undefined ? keys.find((k) => k.kid === issuer.header.kid) : keys.length === 1 ? keys[0] : undefined
  if (!issuerKey) throw new Rejection('unknown_issuer_key', `no trusted issuer key ${issuer.header.kid ?? '(no kid)'}`)
  if (!algFitsKey(issuer.header.alg, issuerKey)) throw new Rejection('credential_alg', `issuer key does not fit alg ${issuer.header.alg}`)
  // (caller) every disclosure referenced exactly once; the package ignores stray disclosures.
  const { paths } = unpackDisclosures(issuer.payload, disclosures)
  if (!kbJwt) throw new Rejection('kb_jwt_missing', 'the presentation has no Key Binding JWT (holder binding is required)')
  let kb
  try {
    kb = decodeJwtParts(kbJwt)
  } catch {
    throw new Rejection('kb_jwt_invalid', 'the KB-JWT does not decode')
  }
  const cnfJwk = issuer.payload.cnf?.jwk
  if (!cnfJwk) throw new Rejection('cnf_missing', 'the credential has no cnf.jwk to bind a KB-JWT to')
  if (!algs.includes(kb.header.alg) || !algFitsKey(kb.header.alg, cnfJwk)) throw new Rejection('kb_jwt_alg', `KB-JWT alg ${kb.header.alg} does not fit the cnf.jwk or is not one of ${algs.join(', ')}`)

  let kbSignatureOk
  const sdjwt = new SDJwtVcInstance({
    hasher: sdJwtHasher,
    verifier: sdJwtVerifier(issuer.header.alg, issuerKey),
    kbVerifier: (data, signature) => {
      kbSignatureOk = sdJwtVerifier(kb.header.alg, cnfJwk)(data, signature)
      return kbSignatureOk
    },
    ...(statusListFetcher ? { statusListFetcher } : {}),
  })
  // `status` (draft-ietf-oauth-status-list): the package fetches and checks the list; with
  // ignoreStatus (a test setup whose issuer's list is unreachable) the check is skipped.
  if (ignoreStatus) sdjwt.verifyStatus = async () => {}
  let result
  try {
    result = await sdjwt.verify(presentation, { keyBindingNonce: nonce })
  } catch (error) {
    const message = error?.message ?? String(error)
    if (/Invalid JWT Signature/.test(message)) {
      if (kbSignatureOk === false) throw new Rejection('kb_jwt_signature_invalid', 'the KB-JWT signature does not verify with cnf.jwk')
      throw new Rejection('credential_signature_invalid', 'the issuer signature does not verify')
    }
    if (/Invalid Nonce/.test(message)) throw new Rejection('kb_jwt_nonce_mismatch', 'the KB-JWT nonce is not the nonce of the request')
    if (/Invalid sd_hash/.test(message)) throw new Rejection('kb_jwt_sd_hash_mismatch', 'the KB-JWT sd_hash is not the hash of the presented SD-JWT')
    if (/JWT is expired/.test(message)) throw new Rejection('credential_expired', 'the credential has expired')
    if (/not yet valid/.test(message)) throw new Rejection('credential_not_yet_valid', 'the credential is not valid yet')
    if (/Invalid Key Binding Jwt/.test(message)) throw new Rejection('kb_jwt_invalid', 'the KB-JWT lacks typ kb+jwt, iat, aud, nonce or sd_hash')
    if (/Status|status/.test(message)) throw new Rejection('credential_status', `status: ${message.split('\n')[0]}`)
    throw new Rejection('presentation_invalid', message.split('\n')[0])
  }
  // (caller) vct, aud, iat window.
  if (!vctValues.includes(issuer.payload.vct)) throw new Rejection('vct_not_requested', `credential vct ${issuer.payload.vct} is not one of the requested vct_values`)
  const kbPayload = result.kb.payload
  if (typeof kbPayload.aud !== 'string' || kbPayload.aud !== audience) throw new Rejection('kb_jwt_aud_mismatch', `the KB-JWT aud is not the Client Identifier ${audience}`)
  if (typeof kbPayload.iat !== 'number' || !Number.isFinite(kbPayload.iat)) throw new Rejection('kb_jwt_invalid', 'the KB-JWT iat is not a number')
  const t = now()
  if (kbPayload.iat < t - maxAgeSecs) throw new Rejection('kb_jwt_iat_too_old', `the KB-JWT iat is ${t - kbPayload.iat} s old (at most ${maxAgeSecs})`)
  if (kbPayload.iat > t + maxFutureSecs) throw new Rejection('kb_jwt_iat_in_future', `the KB-JWT iat is ${kbPayload.iat - t} s ahead (at most ${maxFutureSecs})`)
  return { claims: result.payload, paths, issuerHeader: issuer.header, issuerPayload: issuer.payload, kb: kbPayload }
}
