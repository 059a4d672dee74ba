#!/usr/bin/env node
// A third-party OpenID4VP 1.0 Wallet built on @openid4vc/openid4vp 0.4.6: resolves an
// `openid4vp://` request by reference, verifies the signed request object with the key of the
// Verifier's did:web DID document (Client Identifier Prefix `decentralized_identifier`),
// evaluates the DCQL query against its one SD-JWT VC, presents exactly the requested claims
// with a Key Binding JWT (@sd-jwt/sd-jwt-vc), encrypts the response to the request's ECDH-ES key
// (`direct_post.jwt`) and posts it to the `response_uri`.
//
// Usage: node wallet.mjs '<openid4vp://?client_id=…&request_uri=…>' --credential FILE.sd-jwt
//          --holder-key HOLDER_PRIVATE.jwk [--ca CERT.pem] [--consent no] [--trace]
//          [--tamper nonce|aud|sd_hash|iat-past|iat-future|kb-sig|drop-claim=NAME|unencrypted|state=X]
//
// stdout, after the response was posted: {"status": <http>, "body": {…}, "disclosed": ["given_name", …]}
//   (with --consent no, or no matching credential, an access_denied error response was posted:
//   `"disclosed": []` and `"sent_error": "access_denied"`). Exit 0 if the Verifier answered
//   2xx to a presentation, 1 otherwise.
// stdout, failure before posting (exit 1): {"error": "<oauth error code>", "status": <http>, "description": "…"}
//   the package's error code (invalid_request, invalid_request_uri, invalid_request_object, …),
//   or `interop_check_failed` for a check of this wallet's own. Exit 2: wrong usage.
// --tamper (test only) breaks one thing on purpose; it may be given more than once.

import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import { Oauth2Error, Oauth2JwtVerificationError, Oauth2ServerErrorResponseError } from '@openid4vc/oauth2'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { ValidationError } from '@openid4vc/utils'

import { ALGS, JWE_ALG, decodeJwtParts, encryptJwe, importPrivateJwk, thumbprint, verifyBytes } from './lib/crypto.mjs'
import { DcqlError, evaluateDcql } from './lib/dcql.mjs'
import { resolveDidWebKey } from './lib/did.mjs'
import { tlsFetch, trustAnchors } from './lib/net.mjs'
import { dotted, present, splitSdJwt, unpackDisclosures } from './lib/sdjwt.mjs'

const USAGE = `usage: node wallet.mjs '<openid4vp://...>' --credential FILE.sd-jwt --holder-key HOLDER_PRIVATE.jwk [--ca CERT.pem] [--consent no] [--trace] [--tamper WHAT]`
const TAMPERS = ['nonce', 'aud', 'sd_hash', 'iat-past', 'iat-future', 'kb-sig', 'unencrypted']
// §5.8: the request object's aud with static discovery (the openid4vp:// scheme, §13.1.2).
const STATIC_AUD = 'https://self-issued.me/v2'
const SKEW_SECS = 60

/** An error this wallet found itself, reported as `interop_check_failed` (or `error`). */
class CheckFailed extends Error {
  constructor(message, { status = 0, error = 'interop_check_failed' } = {}) {
    super(message)
    this.status = status
    this.error = error
  }
}

function parseArgs(argv) {
  const opts = { tamper: [], consent: 'yes', trace: false }
  const positional = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--credential') opts.credential = value()
    else if (a === '--holder-key') opts.holderKey = value()
    else if (a === '--ca') opts.ca = value()
    else if (a === '--consent') opts.consent = value()
    else if (a === '--tamper') opts.tamper.push(value())
    else if (a === '--trace') opts.trace = true
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else if (a.startsWith('--')) usage(`unknown option ${a}`)
    else positional.push(a)
  }
  if (positional.length !== 1) usage('expected the authorization request (openid4vp://…)')
  if (!opts.credential || !opts.holderKey) usage('--credential and --holder-key are required')
  if (!['yes', 'no'].includes(opts.consent)) usage('--consent is yes or no')
  for (const t of opts.tamper) {
    if (!TAMPERS.includes(t) && !/^drop-claim=.+$/.test(t) && !/^state=.*$/.test(t)) usage(`unknown --tamper ${t}`)
  }
  opts.request = positional[0]
  return opts
}

function usage(message) {
  process.stderr.write(`wallet.mjs: ${message}\n${USAGE}\n`)
  process.exit(2)
}

const trace = (opts, message) => opts.trace && process.stderr.write(`wallet: ${message}\n`)
const nowSecs = () => Math.floor(Date.now() / 1000)

async function run(opts) {
  const holderKey = importPrivateJwk(JSON.parse(fs.readFileSync(opts.holderKey, 'utf8')))
  const credential = fs.readFileSync(opts.credential, 'utf8').trim()
  const { issuerJwt, disclosures, kbJwt } = splitSdJwt(credential)
  if (kbJwt !== '') throw new CheckFailed('the credential file holds a presentation (with a KB-JWT), not an SD-JWT~')
  const issued = decodeJwtParts(issuerJwt)
  const { claims: fullClaims } = unpackDisclosures(issued.payload, disclosures)
  if (!issued.payload.cnf?.jwk || thumbprint(issued.payload.cnf.jwk) !== thumbprint(holderKey.publicJwk)) {
    throw new CheckFailed('the holder key is not the key the credential is bound to (cnf.jwk)')
  }

  // 1. The request: openid4vp:// by reference only (HAIP 1.0 §5.1: signed, request_uri).
  let url
  try {
    url = new URL(opts.request)
  } catch {
    throw new CheckFailed('the authorization request is not a URL')
  }
  if (url.protocol !== 'openid4vp:') throw new CheckFailed(`request scheme is ${url.protocol}, expected openid4vp:`)

  const fetchLog = []
  const fetch = tlsFetch({ ca: trustAnchors(opts.ca), log: fetchLog })
  const client = new Openid4vpClient({
    callbacks: {
      fetch,
      hash: (data, alg) => new Uint8Array(crypto.createHash({ 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg]).update(data).digest()),
      generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
      // The request object's signature (§5.9.3): the key is the verificationMethod of the
      // Verifier's DID document named by the JWS kid; did:web only. No other signer method.
      verifyJwt: async (signer, { compact, header }) => {
        if (signer.method !== 'did') throw new Error(`request object signer method ${signer.method}: this wallet takes decentralized_identifier (did:web) only`)
        if (!ALGS.includes(header.alg)) throw new Error(`request object alg ${header.alg} is not one of ${ALGS.join(', ')}`)
        const { jwk, url: docUrl } = await resolveDidWebKey(signer.didUrl, fetch)
        trace(opts, `request object key ${signer.didUrl} from ${docUrl}`)
        const [h, p, s] = compact.split('.')
        if (!verifyBytes(header.alg, jwk, `${h}.${p}`, Buffer.from(s, 'base64url'))) throw new Error(`the request object signature does not verify with ${signer.didUrl}`)
        return { verified: true, signerJwk: jwk }
      },
      encryptJwe: async (encryptor, data) => ({ jwe: await encryptJwe(encryptor.publicJwk, data, encryptor), encryptionJwk: encryptor.publicJwk }),
      signJwt: () => {
        throw new Error('this wallet does not sign responses')
      },
      decryptJwe: () => ({ decrypted: false }),
    },
  })
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: opts.request })
  if (parsed.type === 'jar' && parsed.params.request !== undefined) throw new CheckFailed('request by value (request=): this wallet takes request_uri only (HAIP 1.0 §5.1)', { error: 'invalid_request' })
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
  const request = resolved.authorizationRequestPayload
  const requestFetch = fetchLog.find((e) => e.url === parsed.params.request_uri)

  // 2. What the package leaves to the wallet (README, "What this wallet checks itself").
  if (!resolved.jar) throw new CheckFailed('the request is not signed (this wallet takes signed requests only)', { error: 'invalid_request' })
  if (resolved.client.prefix !== 'decentralized_identifier') throw new CheckFailed(`client_id prefix ${resolved.client.prefix}: this wallet takes decentralized_identifier only`, { error: 'invalid_request' })
  const { header: roHeader, payload: roPayload } = resolved.jar.jwt
  if (roHeader.typ !== 'oauth-authz-req+jwt') throw new CheckFailed(`request object typ ${roHeader.typ}, expected oauth-authz-req+jwt (§5)`, { error: 'invalid_request_object' })
  if (!requestFetch?.contentType?.startsWith('application/oauth-authz-req+jwt')) {
    throw new CheckFailed(`request object served as ${requestFetch?.contentType}, expected application/oauth-authz-req+jwt (RFC 9101 §5.2)`, { error: 'invalid_request_object', status: requestFetch?.status ?? 0 })
  }
  const audOk = roPayload.aud === STATIC_AUD || (Array.isArray(roPayload.aud) && roPayload.aud.includes(STATIC_AUD))
  if (!audOk) throw new CheckFailed(`request object aud ${JSON.stringify(roPayload.aud)}; with static discovery it MUST be ${STATIC_AUD} (§5.8)`, { error: 'invalid_request_object' })
  if (roPayload.iat !== undefined && roPayload.iat > nowSecs() + SKEW_SECS) throw new CheckFailed('request object iat is in the future', { error: 'invalid_request_object' })
  if (request.response_type !== 'vp_token') throw new CheckFailed(`response_type ${request.response_type}`, { error: 'invalid_request' })
  if (!['direct_post', 'direct_post.jwt'].includes(request.response_mode)) throw new CheckFailed(`response_mode ${request.response_mode}: this wallet posts (direct_post[.jwt])`, { error: 'invalid_request' })
  if (request.redirect_uri !== undefined) throw new CheckFailed('redirect_uri with direct_post (§8.2: MUST NOT)', { error: 'invalid_request' })
  if (request.transaction_data !== undefined) throw new CheckFailed('transaction_data is not supported by this wallet (§5.1: MUST reject)', { error: 'invalid_transaction_data' })
  if (!request.dcql_query) throw new CheckFailed('no dcql_query (this wallet does not know scope values)', { error: 'invalid_request' })
  trace(opts, `request from ${request.client_id}, nonce ${request.nonce.length} chars, state ${request.state ? 'set' : 'absent'}`)

  // 3. The response key and enc (§8.3, HAIP 1.0 §5: ECDH-ES on P-256; A256GCM if offered).
  const metadata = resolved.client.clientMetadata ?? request.client_metadata ?? {}
  const encrypted = request.response_mode === 'direct_post.jwt'
  let encJwk, enc
  if (encrypted) {
    const keys = metadata.jwks?.keys ?? []
    if (keys.some((k) => typeof k.kid !== 'string')) throw new CheckFailed('a client_metadata.jwks key has no kid (§5.1: MUST)', { error: 'invalid_request' })
    encJwk = keys.find((k) => k.kty === 'EC' && k.crv === 'P-256' && k.alg === JWE_ALG && (k.use === undefined || k.use === 'enc') && k.d === undefined)
    if (!encJwk) throw new CheckFailed('no P-256 ECDH-ES key with alg in client_metadata.jwks (§8.3: alg MUST be present)', { error: 'invalid_request' })
    const encs = metadata.encrypted_response_enc_values_supported ?? ['A128GCM']
    enc = ['A256GCM', 'A128GCM'].find((e) => encs.includes(e))
    if (!enc) throw new CheckFailed(`no supported enc in ${JSON.stringify(encs)}`, { error: 'invalid_request' })
  }

  // 4. DCQL against the one credential held.
  let evaluation
  try {
    evaluation = evaluateDcql(request.dcql_query, [{ vct: issued.payload.vct, claims: fullClaims }])
  } catch (error) {
    if (error instanceof DcqlError) throw new CheckFailed(error.message, { error: 'invalid_request' })
    throw error
  }
  const sendError = async (error, description) => {
    const response = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: { ...request, response_mode: 'direct_post' },
      authorizationResponsePayload: { error, error_description: description, ...(request.state ? { state: request.state } : {}) },
    })
    return { status: response.response.status, body: await jsonBody(response.response), disclosed: [], sent_error: error }
  }
  if (!evaluation.satisfied) return { ...(await sendError('access_denied', 'no credential matches the query')), exit: 1 }
  if (opts.consent === 'no') return { ...(await sendError('access_denied', 'the End-User declined')), exit: 1 }

  // 5. Presentations: exactly the selected claims, KB-JWT with aud = the full Client
  // Identifier (§14.x "Always Use the Full Client Identifier"), nonce, iat (B.3.6).
  const drop = opts.tamper.filter((t) => t.startsWith('drop-claim=')).map((t) => t.slice('drop-claim='.length))
  const vpToken = {}
  let disclosed = []
  for (const [queryId, { paths }] of Object.entries(evaluation.selected)) {
    const chosen = paths.filter((p) => !drop.includes(dotted(p)))
    let iat = nowSecs()
    if (opts.tamper.includes('iat-past')) iat -= 3600
    if (opts.tamper.includes('iat-future')) iat += 3600
    const presentation = await present(credential, holderKey, {
      paths: chosen,
      aud: opts.tamper.includes('aud') ? request.client_id.replace(/^decentralized_identifier:/, '') : request.client_id,
      nonce: opts.tamper.includes('nonce') ? `${request.nonce}x` : request.nonce,
      iat,
      tamper: opts.tamper,
    })
    const { paths: presented } = unpackDisclosures(issued.payload, splitSdJwt(presentation).disclosures)
    disclosed = presented.map(dotted)
    vpToken[queryId] = [presentation]
  }
  trace(opts, `presenting ${disclosed.join(', ')}`)

  // 6. The response: encrypted with the package (JARM-style, ECDH-ES) unless --tamper unencrypted.
  const stateTamper = opts.tamper.find((t) => t.startsWith('state='))
  const requestForResponse = stateTamper ? { ...request, state: stateTamper.slice('state='.length) } : request
  let submitted
  if (encrypted && !opts.tamper.includes('unencrypted')) {
    const created = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: requestForResponse,
      authorizationResponsePayload: { vp_token: vpToken },
      jarm: {
        encryption: { jwk: encJwk },
        serverMetadata: { authorization_encryption_alg_values_supported: [JWE_ALG], authorization_encryption_enc_values_supported: [enc] },
      },
    })
    submitted = await client.submitOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: requestForResponse,
      authorizationResponsePayload: created.authorizationResponsePayload,
      jarm: { responseJwt: created.jarm.responseJwt },
    })
  } else {
    const plain = { ...requestForResponse, response_mode: 'direct_post' }
    const created = await client.createOpenid4vpAuthorizationResponse({
      authorizationRequestPayload: plain,
      authorizationResponsePayload: { vp_token: vpToken },
    })
    submitted = await client.submitOpenid4vpAuthorizationResponse({ authorizationRequestPayload: plain, authorizationResponsePayload: created.authorizationResponsePayload })
  }
  const status = submitted.response.status
  const body = await jsonBody(submitted.response)
  if (status === 200 && !submitted.response.headers.get('content-type')?.startsWith('application/json')) {
    throw new CheckFailed(`the response endpoint answered 200 with ${submitted.response.headers.get('content-type')}; §8.2 asks for application/json`, { status })
  }
  if (typeof body?.redirect_uri === 'string') trace(opts, 'the verifier returned a redirect_uri (not followed: no user agent here)')
  return { status, body, disclosed, exit: status >= 200 && status < 300 ? 0 : 1 }
}

async function jsonBody(response) {
  const text = await response.text()
  try {
    return JSON.parse(text)
  } catch {
    return { unparsed: text.slice(0, 200) }
  }
}

/** Maps what went wrong to `{error, status, description}`. */
function describe(error) {
  const text = (e) => (e instanceof Error ? e.message.split('\n')[0] : String(e))
  const cause = (e) => (e?.cause ? `: ${text(e.cause)}` : '')
  if (error instanceof CheckFailed) return { error: error.error, status: error.status, description: error.message }
  if (error instanceof Oauth2ServerErrorResponseError) {
    const m = /status code '(\d+)'/.exec(error.errorResponse.error_description ?? '')
    return { error: error.errorResponse.error, status: m ? Number(m[1]) : 0, description: error.errorResponse.error_description ?? text(error) }
  }
  // The package wraps every verifyJwt failure as "Error during verification of jwt.".
  if (error instanceof Oauth2JwtVerificationError) return { error: 'invalid_request_object', status: 0, description: `${text(error)}${cause(error)}` }
  if (error instanceof ValidationError) return { error: 'invalid_request', status: 0, description: error.message.replace(/\s+/g, ' ').trim() }
  if (error instanceof Oauth2Error) return { error: 'invalid_request', status: 0, description: `${text(error)}${cause(error)}` }
  return { error: 'interop_check_failed', status: 0, description: text(error) }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)
if (isMain) {
  const opts = parseArgs(process.argv.slice(2))
  try {
    const { exit, ...result } = await run(opts)
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exitCode = exit
  } catch (error) {
    if (opts.trace) process.stderr.write(`${error?.stack ?? error}\n`)
    process.stdout.write(`${JSON.stringify(describe(error))}\n`)
    process.exitCode = 1
  }
}
