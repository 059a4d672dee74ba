#!/usr/bin/env node
// A third-party OpenID4VP 1.0 Verifier built on @openid4vc/openid4vp 0.4.6: a signed request
// object by reference (JAR, `typ: oauth-authz-req+jwt`, Client Identifier Prefix
// `decentralized_identifier` with a did:web DID it serves itself), a DCQL query for one SD-JWT
// VC, response mode `direct_post.jwt` with an ephemeral ECDH-ES P-256 key per request (HAIP 1.0
// §5), and the response verified with the package and @sd-jwt/sd-jwt-vc.
//
// Usage: node verifier.mjs --port 0 --tls-cert C --tls-key K --vct V [--vct V2]
//          [--claims given_name,family_name,organization.name,position,employee_number]
//          [--trust-issuer-jwks FILE] [--requests N] [--lifetime SECS] [--status check|ignore]
//          [--once] [--trace]
//          [--tamper-request unsigned|wrong-key|no-typ]   (test only)
//
// stdout: `listening on 127.0.0.1:PORT`, then per request (N, default 1) one line
//   {"authorization_request": "openid4vp://?client_id=…&request_uri=…", "client_id", "nonce", "state"}
// and per response received one line
//   {"result": "accepted", "state", "claims": {…}, "disclosed": ["given_name", …]}
//   {"result": "rejected", "state"?, "error": "<reason>", "oauth_error": "<code>", "description": "…"}
// With --once it exits after the first response: 0 accepted, 1 rejected. Exit 2: wrong usage.
// The wallet gets 200 {} when accepted, else 400 {"error", "error_description"}.

import crypto from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'

import { Oauth2Error, Oauth2ServerErrorResponseError } from '@openid4vc/oauth2'
import { Openid4vpVerifier } from '@openid4vc/openid4vp'

import { JWE_ALG, JWE_ENCS, decodeProtectedHeader, decryptJwe, generateEncryptionKey, generateKey, randomToken, signCompact } from './lib/crypto.mjs'
import { didDocument } from './lib/did.mjs'
import { isLoopback, readBody, sendJson, tlsFetch } from './lib/net.mjs'
import { Rejection, dotted, valueAt, verifyPresentation } from './lib/sdjwt.mjs'

const USAGE = 'usage: node verifier.mjs --port 0 --tls-cert C --tls-key K --vct V [--vct V2] [--claims a,b.c] --trust-issuer-jwks FILE [--requests N] [--lifetime SECS] [--status check|ignore] [--once] [--trace]'
const DEFAULT_CLAIMS = 'given_name,family_name,organization.name,position,employee_number'
// OpenID4VP 1.0 §5.8: with static discovery (the openid4vp:// scheme, §13.1.2) the request
// object's `aud` MUST be this. The package would put the request_uri there (see README #1).
const STATIC_AUD = 'https://self-issued.me/v2'
const ALGS = ['ES256', 'EdDSA']

function parseArgs(argv) {
  const opts = { port: 0, vct: [], claims: DEFAULT_CLAIMS, requests: 1, lifetime: 300, status: 'check', once: false, trace: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--port') opts.port = Number(value())
    else if (a === '--tls-cert') opts.tlsCert = value()
    else if (a === '--tls-key') opts.tlsKey = value()
    else if (a === '--vct') opts.vct.push(value())
    else if (a === '--claims') opts.claims = value()
    else if (a === '--trust-issuer-jwks') opts.trustIssuerJwks = value()
    else if (a === '--requests') opts.requests = Number(value())
    else if (a === '--lifetime') opts.lifetime = Number(value())
    else if (a === '--tamper-request') opts.tamperRequest = value()
    else if (a === '--status') opts.status = value()
    else if (a === '--once') opts.once = true
    else if (a === '--trace') opts.trace = true
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else usage(`unknown argument ${a}`)
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('--port must be 0..65535')
  if (!opts.tlsCert || !opts.tlsKey) usage('--tls-cert and --tls-key are required (the verifier speaks HTTPS only)')
  if (opts.vct.length === 0) usage('at least one --vct is required')
  if (!opts.trustIssuerJwks) usage('--trust-issuer-jwks is required (the issuer keys to verify credentials with)')
  if (!Number.isInteger(opts.requests) || opts.requests < 1 || opts.requests > 1000) usage('--requests must be 1..1000')
  if (!Number.isInteger(opts.lifetime) || opts.lifetime < 1) usage('--lifetime must be a positive integer')
  if (!['check', 'ignore'].includes(opts.status)) usage('--status is check or ignore')
  if (opts.tamperRequest && !['unsigned', 'wrong-key', 'no-typ'].includes(opts.tamperRequest)) usage('--tamper-request is unsigned, wrong-key or no-typ')
  opts.claimPaths = opts.claims.split(',').map((c) => c.trim()).filter(Boolean).map((c) => c.split('.'))
  if (opts.claimPaths.length === 0 || opts.claimPaths.some((p) => p.some((s) => s === ''))) usage('--claims: comma-separated claim names, dots for nesting')
  return opts
}

function usage(message) {
  process.stderr.write(`verifier.mjs: ${message}\n${USAGE}\n`)
  process.exit(2)
}

const opts = parseArgs(process.argv.slice(2))
const trace = (message) => opts.trace && process.stderr.write(`verifier: ${message}\n`)
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`)

let issuerJwks
try {
  issuerJwks = JSON.parse(fs.readFileSync(opts.trustIssuerJwks, 'utf8'))
  if (!Array.isArray(issuerJwks.keys)) issuerJwks = { keys: [issuerJwks] }
} catch (error) {
  usage(`--trust-issuer-jwks ${opts.trustIssuerJwks}: ${error.message}`)
}

// The request-object signing key: P-256, published in the DID document as did#key-1.
const signingKey = generateKey('ES256')
const otherKey = generateKey('ES256') // --tamper-request wrong-key

/** Pending requests by request id (request_uri), by JWE kid and by state; each used once. */
const byRequestId = new Map()
const byKid = new Map()
const byState = new Map()

let origin, did, clientId, didUrl

const signJwt = (signer, { header, payload }) => {
  if (signer.method !== 'did' || signer.didUrl !== didUrl) throw new Error(`cannot sign for ${signer.method} ${signer.didUrl ?? ''}`)
  return { jwt: signCompact(signingKey, header, payload), signerJwk: signingKey.publicJwk }
}

const verifier = new Openid4vpVerifier({
  callbacks: {
    hash: (data, alg) => new Uint8Array(crypto.createHash({ 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }[alg]).update(data).digest()),
    generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
    signJwt,
    // Set per response (the decryption key is the request's own); see handleResponse.
    decryptJwe: () => ({ decrypted: false }),
    verifyJwt: () => ({ verified: false }), // signed (JARM) responses are not accepted
  },
})

/** Builds one Authorization Request with the package and registers it. */
async function createRequest() {
  const requestId = randomToken(18)
  const nonce = randomToken(24)
  const state = randomToken(24)
  const enc = generateEncryptionKey()
  const requestUri = `${origin}/request/${requestId}`
  const dcqlQuery = {
    credentials: [
      {
        id: 'worker_id',
        format: 'dc+sd-jwt',
        meta: { vct_values: opts.vct },
        claims: opts.claimPaths.map((p) => ({ path: p })),
      },
    ],
  }
  const payload = {
    response_type: 'vp_token',
    client_id: clientId,
    response_mode: 'direct_post.jwt',
    response_uri: `${origin}/response`,
    nonce,
    state,
    dcql_query: dcqlQuery,
    client_metadata: {
      jwks: { keys: [enc.publicJwk] },
      encrypted_response_enc_values_supported: JWE_ENCS,
      vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ALGS, 'kb-jwt_alg_values': ALGS } },
    },
  }
  const created = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: payload,
    jar: {
      requestUri,
      jwtSigner: { method: 'did', didUrl, alg: 'ES256' },
      // The package sets iat and exp = iat + expiresInSeconds (without it, exp is NaN → null).
      expiresInSeconds: opts.lifetime,
      additionalJwtPayload: { aud: STATIC_AUD },
    },
  })
  let requestObject = created.jar.authorizationRequestJwt
  if (opts.tamperRequest) {
    const [h, p] = requestObject.split('.')
    const header = JSON.parse(Buffer.from(h, 'base64url'))
    const body = JSON.parse(Buffer.from(p, 'base64url'))
    if (opts.tamperRequest === 'unsigned') requestObject = `${Buffer.from(JSON.stringify({ alg: 'none', typ: header.typ, kid: header.kid })).toString('base64url')}.${p}.`
    if (opts.tamperRequest === 'wrong-key') requestObject = signCompact(otherKey, header, body)
    if (opts.tamperRequest === 'no-typ') requestObject = signCompact(signingKey, { alg: header.alg, kid: header.kid }, body)
  }
  const tx = {
    requestId,
    nonce,
    state,
    kid: enc.publicJwk.kid,
    encPrivateKey: enc.privateKey,
    payload: created.authorizationRequestPayload,
    requestObject,
    fetched: false,
    expiresAt: Date.now() + opts.lifetime * 1000,
  }
  byRequestId.set(requestId, tx)
  byKid.set(tx.kid, tx)
  byState.set(state, tx)
  return { authorization_request: created.authorizationRequest, client_id: clientId, nonce, state }
}

function consume(tx) {
  byRequestId.delete(tx.requestId)
  byKid.delete(tx.kid)
  byState.delete(tx.state)
}

let handled = 0
function finish(line) {
  out(line)
  handled++
  if (opts.once) {
    server.close()
    process.exitCode = line.result === 'accepted' ? 0 : 1
    setTimeout(() => process.exit(), 200).unref()
  }
}

/** The statusListFetcher of @sd-jwt/sd-jwt-vc: https (http on loopback), JWT body. */
const statusFetch = tlsFetch()
async function statusListFetcher(uri) {
  if (!uri.startsWith('https://') && !isLoopback(uri)) throw new Error(`status list ${uri} is not https`)
  let response
  try {
    response = await statusFetch(uri, { headers: { accept: 'application/statuslist+jwt' } })
  } catch (error) {
    throw new Error(`status list ${uri} could not be fetched: ${error.message}`)
  }
  if (response.status !== 200) throw new Error(`status list ${uri}: HTTP ${response.status}`)
  return response.text()
}

/** Maps a package error from parseOpenid4vpAuthorizationResponse to a Rejection. */
function packageRejection(error, tx, submittedState) {
  if (error instanceof Rejection) return error
  const message = (error?.message ?? String(error)).split('\n')[0]
  if (error instanceof Oauth2ServerErrorResponseError && /Expected jarm response/.test(message)) {
    return new Rejection('response_not_encrypted', 'the request asked for direct_post.jwt; the response is not encrypted (§8.3.1)')
  }
  if (/state mismatch/.test(message)) {
    return new Rejection('unknown_state', `the response state ${submittedState === undefined ? '(none)' : 'is not'} the state of the request its key belongs to`)
  }
  if (error instanceof Oauth2ServerErrorResponseError) return new Rejection('invalid_response', error.errorResponse?.error_description ?? message)
  if (error instanceof Oauth2Error) return new Rejection('invalid_response', message)
  return new Rejection('invalid_response', message.replace(/\s+/g, ' ').slice(0, 300))
}

async function handleResponse(req, res) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
  const body = await readBody(req)
  const reject = (rejection, tx) => {
    sendJson(res, 400, { error: rejection.oauthError, error_description: rejection.message })
    finish({ result: 'rejected', ...(tx ? { state: tx.state } : {}), error: rejection.code, oauth_error: rejection.oauthError, description: rejection.message })
  }
  if (type !== 'application/x-www-form-urlencoded') return reject(new Rejection('invalid_content_type', `Content-Type ${type || '(none)'}; expected application/x-www-form-urlencoded (§8.2)`))
  const params = new URLSearchParams(body)
  for (const [k] of params) {
    if (params.getAll(k).length > 1) return reject(new Rejection('duplicate_parameter', `parameter ${k} appears more than once`))
  }

  // Which request does this answer? An encrypted response by its JWE kid (the key is the
  // request's own, §8.3), an unencrypted one (error response or vp_token) by its state.
  let tx
  let submittedState = params.get('state') ?? undefined
  if (params.has('response')) {
    let header
    try {
      header = decodeProtectedHeader(params.get('response'))
    } catch {
      return reject(new Rejection('response_malformed', 'response is not a compact JWE'))
    }
    tx = byKid.get(header.kid)
    if (!tx) return reject(new Rejection(header.kid === undefined ? 'jwe_kid_missing' : 'unknown_key', header.kid === undefined ? 'the JWE has no kid header (§8.3: MUST when the key has one)' : 'the JWE kid names no pending request'))
  } else {
    tx = submittedState !== undefined ? byState.get(submittedState) : undefined
    if (!tx) return reject(new Rejection('unknown_state', 'the response state names no pending request'))
  }
  consume(tx) // state, nonce and key are single use, whatever the outcome
  if (Date.now() > tx.expiresAt) return reject(new Rejection('request_expired', 'the request has expired'), tx)
  if (!tx.fetched) return reject(new Rejection('request_not_fetched', 'a response to a request object nobody fetched'), tx)

  if (params.has('error')) {
    // An Authorization Error Response (§8.5) by direct_post: processed, so 200 (§8.2).
    const error = params.get('error')
    sendJson(res, 200, {})
    return finish({ result: 'rejected', state: tx.state, error: 'wallet_error', oauth_error: error, description: params.get('error_description') ?? `the wallet answered ${error}` })
  }

  let decryptedHeader
  try {
    const parsed = await verifier.parseOpenid4vpAuthorizationResponse({
      authorizationResponse: Object.fromEntries(params),
      authorizationRequestPayload: tx.payload,
      callbacks: {
        decryptJwe: async (jwe, options) => {
          if (options?.jwk?.kid !== tx.kid) throw new Rejection('unknown_key', 'the JWE kid is not the key of this request')
          try {
            const { plaintext, header } = await decryptJwe(jwe, tx.encPrivateKey)
            decryptedHeader = header
            submittedState = safeJson(plaintext)?.state
            return { decrypted: true, payload: plaintext, decryptionJwk: options.jwk }
          } catch (error) {
            throw new Rejection('jwe_invalid', `the JWE does not decrypt with ECDH-ES / ${JWE_ENCS.join(' or ')}: ${error.code ?? error.message}`)
          }
        },
        verifyJwt: () => ({ verified: false }),
      },
    })
    trace(`response decrypted (${decryptedHeader?.alg}/${decryptedHeader?.enc}), ${parsed.jarm?.type}`)
    // (caller) an unsigned, encrypted JWT only (§8.3); alg as the key's.
    if (parsed.jarm?.type !== 'Encrypted') throw new Rejection('response_not_encrypted', `the response is ${parsed.jarm?.type ?? 'not a JWT'}; §8.3 asks for an unsigned, encrypted JWT`)
    if (decryptedHeader.alg !== JWE_ALG || decryptedHeader.kid !== tx.kid) throw new Rejection('jwe_invalid', 'the JWE alg/kid are not those of the request key')
    if (parsed.type !== 'dcql') throw new Rejection('invalid_response', 'not a DCQL response')
    const presentations = parsed.dcql.presentations
    const ids = Object.keys(presentations)
    if (ids.length !== 1 || ids[0] !== 'worker_id') throw new Rejection('vp_token_mismatch', `vp_token has entries ${JSON.stringify(ids)}; expected exactly worker_id (§8.1)`)
    if (presentations.worker_id.length !== 1) throw new Rejection('vp_token_mismatch', 'multiple presentations for a query without multiple (§8.1)')
    const verified = await verifyPresentation(presentations.worker_id[0], {
      issuerJwks,
      vctValues: opts.vct,
      nonce: tx.nonce,
      audience: clientId,
      statusListFetcher,
      ignoreStatus: opts.status === 'ignore',
    })
    const missing = opts.claimPaths.filter((p) => valueAt(verified.claims, p) === undefined)
    if (missing.length) throw new Rejection('claim_missing', `requested claim(s) not disclosed: ${missing.map(dotted).join(', ')}`)
    const claims = {}
    for (const p of opts.claimPaths) {
      let node = claims
      p.forEach((step, i) => {
        if (i === p.length - 1) node[step] = valueAt(verified.claims, p)
        else node = node[step] ??= {}
      })
    }
    sendJson(res, 200, {})
    finish({ result: 'accepted', state: tx.state, claims, disclosed: verified.paths.map(dotted) })
  } catch (error) {
    if (opts.trace) process.stderr.write(`${error?.stack ?? error}\n`)
    reject(packageRejection(error, tx, submittedState), tx)
  }
}

function safeJson(text) {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

async function handle(req, res) {
  const url = new URL(req.url, origin)
  if (req.method === 'GET' && url.pathname === '/.well-known/did.json') {
    res.writeHead(200, { 'content-type': 'application/did+json', 'cache-control': 'no-store' })
    return res.end(JSON.stringify(didDocument(did, signingKey.publicJwk)))
  }
  const m = /^\/request\/([A-Za-z0-9_-]+)$/.exec(url.pathname)
  if (m && (req.method === 'GET' || req.method === 'POST')) {
    const tx = byRequestId.get(m[1])
    // RFC 9101 §5.2: one-time use request_uri; a second fetch finds nothing.
    if (!tx || tx.fetched) return sendJson(res, 404, { error: 'invalid_request_uri', error_description: 'unknown or already used request_uri' })
    tx.fetched = true
    res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt', 'cache-control': 'no-store' })
    trace(`request object ${m[1]} fetched`)
    return res.end(tx.requestObject)
  }
  if (req.method === 'POST' && url.pathname === '/response') return handleResponse(req, res)
  sendJson(res, 404, { error: 'not_found' })
}

const server = https.createServer({ cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) }, (req, res) => {
  handle(req, res).catch((error) => {
    if (opts.trace) process.stderr.write(`${error?.stack ?? error}\n`)
    if (!res.headersSent) sendJson(res, error.status ?? 500, { error: 'server_error', error_description: 'internal error' })
  })
})
server.listen(opts.port, '127.0.0.1', async () => {
  const { port } = server.address()
  origin = `https://localhost:${port}`
  did = `did:web:localhost%3A${port}`
  didUrl = `${did}#key-1`
  clientId = `decentralized_identifier:${did}`
  process.stdout.write(`listening on 127.0.0.1:${port}\n`)
  for (let i = 0; i < opts.requests; i++) out(await createRequest())
})
process.on('SIGTERM', () => {
  server.close()
  process.exit(process.exitCode ?? 0)
})
