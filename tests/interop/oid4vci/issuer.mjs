#!/usr/bin/env node
// A third-party OpenID4VCI 1.0 Credential Issuer (and its own Authorization Server) built on the
// issuer side of @openid4vc/openid4vci and @openid4vc/oauth2 0.4.6, issuing govid worker IDs as
// SD-JWT VCs (`dc+sd-jwt`) made with @sd-jwt/sd-jwt-vc 0.19, signed with its own ES256 key.
// Pre-Authorized Code Flow only, with a Transaction Code and mandatory DPoP.
//
// Usage: node issuer.mjs --port 0 --vct <worker ID vct> [--gate-pass-vct <vct>] [--jwk-out FILE]
//          [--offers N] [--claims FILE]
//
// stdout: `listening on 127.0.0.1:PORT`, then per offer one JSON line
//   {"offer_uri": "openid-credential-offer://?credential_offer_uri=...", "tx_code": "123456",
//    "issuer_jwks": {"keys": [...]}}
// and later one JSON line per notification received: {"notification": {...}}.
// Stops on SIGTERM / SIGINT.

import fs from 'node:fs'
import http from 'node:http'
import crypto from 'node:crypto'

import {
  Oauth2AuthorizationServer,
  Oauth2ResourceServer,
  Oauth2ResourceUnauthorizedError,
  Oauth2ServerErrorResponseError,
  Oauth2ErrorCodes,
  decodeJwt,
  preAuthorizedCodeGrantIdentifier,
} from '@openid4vc/oauth2'
import { Openid4vciIssuer, Openid4vciVersion } from '@openid4vc/openid4vci'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'

import { ALGS, KeyStore, cryptoCallbacks, decodeJwtParts, generateKey, randomToken, signBytes } from './lib/crypto.mjs'
import { allowHttpForLoopback, guardedFetch } from './lib/net.mjs'

const USAGE = 'usage: node issuer.mjs --port 0 --vct <worker ID vct> [--gate-pass-vct <vct>] [--jwk-out FILE] [--offers N] [--claims FILE]'

const OFFER_LIFETIME_S = 600
const NONCE_LIFETIME_S = 300
const TOKEN_LIFETIME_S = 300
const PROOF_MAX_AGE_S = 300
const CLOCK_SKEW_S = 60
const MAX_PIN_ATTEMPTS = 3

/** The claims of govid's sample roster, first row (testdata/roster/sample-20.csv, MOT-0001). */
const SAMPLE_CLAIMS = {
  given_name: 'Amira',
  family_name: 'Haddad',
  employee_number: 'MOT-0001',
  organization: { name: 'Ministry of Transport', code: 'MOT' },
  department: 'Road Safety',
  position: 'Senior Inspector',
  grade: 'G7',
  clearance: 'B',
  birthdate: '1986-04-12',
  access_zones: ['HQ-A', 'HQ-B', 'DEPOT-3'],
}

function parseArgs(argv) {
  const opts = { port: undefined, vct: undefined, gatePassVct: undefined, jwkOut: undefined, offers: 1, claims: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--port') opts.port = Number(value())
    else if (a === '--vct') opts.vct = value()
    else if (a === '--gate-pass-vct') opts.gatePassVct = value()
    else if (a === '--jwk-out') opts.jwkOut = value()
    else if (a === '--offers') opts.offers = Number(value())
    else if (a === '--claims') opts.claims = value()
    else usage(`unknown argument ${a}`)
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) usage('--port is required (0 picks a free one)')
  if (!opts.vct) usage('--vct is required')
  if (!Number.isInteger(opts.offers) || opts.offers < 0) usage('--offers must be a count')
  return opts
}

function usage(message) {
  process.stderr.write(`issuer.mjs: ${message}\n${USAGE}\n`)
  process.exit(2)
}

/** error_description may only hold %x20-21 / %x23-5B / %x5D-7E (6.3, 8.3.1.2): no quotes, backslashes, newlines. */
const asciiDescription = (text) => (text ?? '').replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]+/g, ' ').trim().slice(0, 300)

class HttpError extends Error {
  constructor(status, error, description, headers = {}) {
    super(description)
    this.status = status
    this.error = error
    this.headers = headers
  }
}

export async function startIssuer(opts) {
  allowHttpForLoopback()
  const claims = opts.claims ? JSON.parse(fs.readFileSync(opts.claims, 'utf8')) : SAMPLE_CLAIMS
  const keys = new KeyStore()
  const callbacks = { ...cryptoCallbacks(keys), fetch: guardedFetch() }
  const credentialKey = keys.add(generateKey('ES256'))
  const tokenKey = keys.add(generateKey('ES256'))
  const credentialKid = 'credential-key-1'
  const tokenKid = 'token-key-1'
  const issuerJwks = { keys: [{ ...credentialKey.publicJwk, kid: credentialKid, alg: 'ES256', use: 'sig' }] }
  if (opts.jwkOut) fs.writeFileSync(opts.jwkOut, JSON.stringify(issuerJwks))

  const server = http.createServer()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, '127.0.0.1', resolve)
  })
  const { port } = server.address()
  const base = `http://127.0.0.1:${port}`

  const vciIssuer = new Openid4vciIssuer({ callbacks })
  const authorizationServer = new Oauth2AuthorizationServer({ callbacks })
  const resourceServer = new Oauth2ResourceServer({ callbacks })

  const configuration = (vct, name) => ({
    format: 'dc+sd-jwt',
    vct,
    scope: name,
    cryptographic_binding_methods_supported: ['jwk'],
    credential_signing_alg_values_supported: ['ES256'],
    proof_types_supported: { jwt: { proof_signing_alg_values_supported: ALGS } },
    credential_metadata: { display: [{ name, locale: 'en' }] },
  })
  const configurations = { worker_id: configuration(opts.vct, 'govid worker ID') }
  if (opts.gatePassVct) configurations.gate_pass = configuration(opts.gatePassVct, 'govid gate pass')

  const credentialIssuerMetadata = vciIssuer.createCredentialIssuerMetadata({
    credential_issuer: base,
    credential_endpoint: `${base}/credential`,
    nonce_endpoint: `${base}/nonce`,
    notification_endpoint: `${base}/notification`,
    display: [{ name: 'Interop test issuer (@openid4vc/openid4vci)', locale: 'en' }],
    credential_configurations_supported: configurations,
  })
  const asMetadata = authorizationServer.createAuthorizationServerMetadata({
    issuer: base,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/jwks`,
    grant_types_supported: [preAuthorizedCodeGrantIdentifier],
    dpop_signing_alg_values_supported: ALGS,
    'pre-authorized_grant_anonymous_access_supported': true,
  })
  // The shape the package's issuer methods take (what resolveIssuerMetadata returns to a wallet).
  const issuerMetadata = {
    originalDraftVersion: Openid4vciVersion.V1,
    credentialIssuer: credentialIssuerMetadata,
    authorizationServers: [asMetadata],
    knownCredentialConfigurations: vciIssuer.getKnownCredentialConfigurationsSupported(credentialIssuerMetadata),
  }

  const offers = new Map() // offer id -> {object, code, txCode, expiresAt, attempts, used}
  const offersByCode = new Map()
  const nonces = new Map() // c_nonce -> expiresAt (ms)
  const dpopJtis = new Map() // jti -> expiresAt (ms)
  const tokens = new Map() // access token jti -> {offerId, notifications: Map}

  async function makeOffer() {
    const id = randomToken(16)
    const txCode = String(crypto.randomInt(0, 1_000_000)).padStart(6, '0')
    const { credentialOfferObject, credentialOffer } = await vciIssuer.createCredentialOffer({
      issuerMetadata,
      credentialConfigurationIds: Object.keys(configurations),
      grants: {
        [preAuthorizedCodeGrantIdentifier]: {
          tx_code: { input_mode: 'numeric', length: 6, description: 'The 6-digit code HR gave you' },
        },
      },
      credentialOfferUri: `${base}/offers/${id}`,
    })
    const code = credentialOfferObject.grants[preAuthorizedCodeGrantIdentifier]['pre-authorized_code']
    const offer = { id, object: credentialOfferObject, code, txCode, expiresAt: Date.now() + OFFER_LIFETIME_S * 1000, attempts: 0, used: false }
    offers.set(id, offer)
    offersByCode.set(code, offer)
    return { offer_uri: credentialOffer, tx_code: txCode, issuer_jwks: issuerJwks }
  }

  const sdJwtVc = new SDJwtVcInstance({
    signer: (data) => signBytes('ES256', credentialKey.keyObject, data).toString('base64url'),
    signAlg: 'ES256',
    hasher: (data, alg) => {
      if (alg !== 'sha-256') throw new Error(`unsupported hash ${alg}`)
      return new Uint8Array(crypto.createHash('sha256').update(data).digest())
    },
    hashAlg: 'sha-256',
    saltGenerator: (length) => crypto.randomBytes(length).toString('base64url'),
  })

  /** The worker ID's or gate pass's claims and disclosure frame, as govid's core lays them out. */
  function credentialClaims(configurationId, holderJwk) {
    const now = Math.floor(Date.now() / 1000)
    const envelope = {
      iss: base,
      iat: now,
      nbf: now,
      exp: now + 365 * 86400,
      vct: configurations[configurationId].vct,
      cnf: { jwk: holderJwk },
    }
    if (configurationId === 'gate_pass') {
      const payload = { ...envelope, given_name: claims.given_name, family_name: claims.family_name, organization: claims.organization }
      const sd = ['given_name', 'family_name', 'organization']
      if (claims.clearance) (payload.clearance = claims.clearance), sd.push('clearance')
      if (claims.access_zones?.length) (payload.access_zones = claims.access_zones), sd.push('access_zones')
      const frame = { _sd: sd, _sd_decoy: 5 - sd.length }
      if (payload.access_zones) frame.access_zones = { _sd: payload.access_zones.map((_, i) => i) }
      return { payload, frame }
    }
    const payload = { ...envelope }
    const sd = []
    for (const name of ['given_name', 'family_name', 'employee_number', 'organization', 'department', 'position', 'grade', 'clearance', 'birthdate', 'portrait', 'access_zones']) {
      if (claims[name] === undefined || (Array.isArray(claims[name]) && claims[name].length === 0)) continue
      payload[name] = claims[name]
      sd.push(name)
    }
    const frame = { _sd: sd, organization: { _sd: ['name', 'code'] } }
    if (payload.access_zones) frame.access_zones = { _sd: payload.access_zones.map((_, i) => i) }
    return { payload, frame }
  }

  const now = () => Date.now()
  const prune = (map) => {
    for (const [k, exp] of map) if (exp < now()) map.delete(k)
  }

  function requestLike(req) {
    const headers = new Headers()
    for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
    return { method: req.method, url: `${base}${req.url}`, headers }
  }

  /** DPoP proof freshness and single use (RFC 9449 4.3 steps 9-11), which the package leaves to us. */
  function checkDpopFreshness(req) {
    const jwt = req.headers.dpop
    const { payload } = decodeJwtParts(jwt)
    const t = Math.floor(now() / 1000)
    if (typeof payload.iat !== 'number' || payload.iat > t + CLOCK_SKEW_S || payload.iat < t - PROOF_MAX_AGE_S) {
      throw new HttpError(400, 'invalid_dpop_proof', 'DPoP proof iat outside the acceptable window')
    }
    prune(dpopJtis)
    if (dpopJtis.has(payload.jti)) throw new HttpError(400, 'invalid_dpop_proof', 'DPoP proof jti already used')
    dpopJtis.set(payload.jti, now() + (PROOF_MAX_AGE_S + CLOCK_SKEW_S) * 1000)
  }

  async function handleToken(req, body) {
    if (!isContentType(req, 'application/x-www-form-urlencoded')) throw new HttpError(400, 'invalid_request', 'Token Request must be application/x-www-form-urlencoded')
    const form = Object.fromEntries(new URLSearchParams(body.toString('utf8')))
    const request = requestLike(req)
    const parsed = authorizationServer.parseAccessTokenRequest({ request, accessTokenRequest: form })
    if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) throw new HttpError(400, 'unsupported_grant_type', 'only the pre-authorized code grant is supported')
    if (form.resource !== undefined && form.resource !== base) throw new HttpError(400, 'invalid_target', 'resource is not this credential issuer')
    const offer = offersByCode.get(parsed.grant.preAuthorizedCode)
    if (!offer || offer.used || offer.attempts >= MAX_PIN_ATTEMPTS || offer.expiresAt < now()) {
      throw new HttpError(400, 'invalid_grant', 'unknown, used or expired pre-authorized code')
    }
    let verified
    try {
      verified = await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
        grant: parsed.grant,
        accessTokenRequest: parsed.accessTokenRequest,
        request,
        dpop: { jwt: parsed.dpop?.jwt, required: true, allowedSigningAlgs: ALGS },
        authorizationServerMetadata: asMetadata,
        expectedPreAuthorizedCode: offer.code,
        expectedTxCode: offer.txCode,
        preAuthorizedCodeExpiresAt: new Date(offer.expiresAt),
      })
    } catch (error) {
      if (error instanceof Oauth2ServerErrorResponseError && error.errorResponse.error === Oauth2ErrorCodes.InvalidGrant) offer.attempts++
      throw error
    }
    checkDpopFreshness(req)
    offer.used = true
    const response = await authorizationServer.createAccessTokenResponse({
      audience: base,
      authorizationServer: base,
      expiresInSeconds: TOKEN_LIFETIME_S,
      subject: offer.id,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: tokenKey.publicJwk, kid: tokenKid },
      dpop: { jwk: verified.dpop.jwk },
      additionalAccessTokenPayload: { offer_id: offer.id },
    })
    const { payload } = decodeJwtParts(response.access_token)
    tokens.set(payload.jti, { offerId: offer.id, notifications: new Map() })
    return { status: 200, json: response }
  }

  /** Access token + DPoP check of a protected resource; returns the token's session. */
  async function authorize(req) {
    try {
      const { tokenPayload, scheme } = await resourceServer.verifyResourceRequest({
        request: requestLike(req),
        resourceServer: base,
        authorizationServers: [asMetadata],
        allowedAuthenticationSchemes: ['DPoP'],
      })
      if (scheme !== 'DPoP') throw new HttpError(401, 'invalid_token', 'DPoP-bound access token required')
      checkDpopFreshness(req)
      const session = tokens.get(tokenPayload.jti)
      if (!session) throw new HttpError(401, 'invalid_token', 'unknown access token')
      return session
    } catch (error) {
      if (error instanceof Oauth2ResourceUnauthorizedError) {
        const challenge = error.wwwAuthenticateHeaders.find((c) => c.error) ?? { error: 'invalid_token' }
        throw new HttpError(401, challenge.error, challenge.error_description, {
          'WWW-Authenticate': `DPoP error="${challenge.error}", algs="${ALGS.join(' ')}"`,
        })
      }
      if (error instanceof HttpError && error.status === 400 && error.error === 'invalid_dpop_proof') {
        throw new HttpError(401, error.error, error.message, { 'WWW-Authenticate': `DPoP error="invalid_dpop_proof", algs="${ALGS.join(' ')}"` })
      }
      throw error
    }
  }

  function takeNonce(nonce) {
    prune(nonces)
    if (typeof nonce !== 'string' || !nonces.has(nonce)) return false
    nonces.delete(nonce)
    return true
  }

  async function handleCredential(req, body) {
    const session = await authorize(req)
    if (!isContentType(req, 'application/json')) throw new HttpError(400, 'invalid_credential_request', 'Credential Request must be application/json')
    let json
    try {
      json = JSON.parse(body.toString('utf8'))
    } catch {
      throw new HttpError(400, 'invalid_credential_request', 'body is not JSON')
    }
    if (json.proof !== undefined) throw new HttpError(400, 'invalid_credential_request', 'the pre-1.0 `proof` parameter is not supported; use `proofs`')
    if (json.credential_identifier !== undefined) throw new HttpError(400, 'unknown_credential_identifier', 'this issuer returns no credential_identifiers')
    if (typeof json.credential_configuration_id !== 'string') throw new HttpError(400, 'invalid_credential_request', 'credential_configuration_id is required')
    if (!configurations[json.credential_configuration_id]) throw new HttpError(400, 'unknown_credential_configuration', 'unknown credential_configuration_id')
    const parsed = vciIssuer.parseCredentialRequest({ issuerMetadata, credentialRequest: json })
    const offer = offers.get(session.offerId)
    if (!offer.object.credential_configuration_ids.includes(parsed.credentialConfigurationId)) {
      throw new HttpError(400, 'credential_request_denied', 'configuration not in the credential offer')
    }
    const jwts = parsed.proofs?.jwt
    if (!jwts || jwts.length !== 1) throw new HttpError(400, 'invalid_proof', 'exactly one jwt proof is required (no batch issuance)')
    const proof = jwts[0]
    let decoded
    try {
      decoded = decodeJwt({ jwt: proof })
    } catch {
      throw new HttpError(400, 'invalid_proof', 'proof is not a JWT')
    }
    const { header, payload } = decoded
    const algs = configurations[parsed.credentialConfigurationId].proof_types_supported.jwt.proof_signing_alg_values_supported
    if (!algs.includes(header.alg)) throw new HttpError(400, 'invalid_proof', 'proof alg not supported')
    if (!header.jwk || header.kid !== undefined || header.x5c !== undefined) throw new HttpError(400, 'invalid_proof', 'proof must carry exactly a jwk header')
    if (header.jwk.d !== undefined) throw new HttpError(400, 'invalid_proof', 'proof header holds a private key')
    if (payload.iss !== undefined) throw new HttpError(400, 'invalid_proof', 'proof iss must be omitted after anonymous pre-authorized access')
    if (typeof payload.nonce !== 'string') throw new HttpError(400, 'invalid_proof', 'proof has no nonce')
    const t = Math.floor(now() / 1000)
    if (typeof payload.iat !== 'number' || payload.iat > t + CLOCK_SKEW_S || payload.iat < t - PROOF_MAX_AGE_S) throw new HttpError(400, 'invalid_proof', 'proof iat outside the acceptable window')
    const { signer } = await vciIssuer.verifyCredentialRequestJwtProof({ issuerMetadata, jwt: proof, expectedNonce: payload.nonce })
    if (!takeNonce(payload.nonce)) throw new HttpError(400, 'invalid_nonce', 'c_nonce unknown, expired or used')

    const { payload: vcPayload, frame } = credentialClaims(parsed.credentialConfigurationId, signer.publicJwk)
    const credential = await sdJwtVc.issue(vcPayload, frame, { header: { kid: credentialKid } })
    const notificationId = randomToken(16)
    session.notifications.set(notificationId, parsed.credentialConfigurationId)
    const response = vciIssuer.createCredentialResponse({
      credentialRequest: parsed,
      credentials: [{ credential }],
      notificationId,
    })
    return { status: 200, json: response }
  }

  async function handleNotification(req, body) {
    const session = await authorize(req)
    let json
    try {
      json = JSON.parse(body.toString('utf8'))
    } catch {
      throw new HttpError(400, 'invalid_notification_request', 'body is not JSON')
    }
    const events = ['credential_accepted', 'credential_failure', 'credential_deleted']
    if (typeof json.notification_id !== 'string' || !events.includes(json.event)) throw new HttpError(400, 'invalid_notification_request', 'notification_id and a known event are required')
    const configurationId = session.notifications.get(json.notification_id)
    if (!configurationId) throw new HttpError(400, 'invalid_notification_id', 'unknown notification_id')
    process.stdout.write(`${JSON.stringify({ notification: { notification_id: json.notification_id, event: json.event, credential_configuration_id: configurationId } })}\n`)
    return { status: 204 }
  }

  const routes = {
    'GET /.well-known/openid-credential-issuer': () => ({ status: 200, json: credentialIssuerMetadata }),
    'GET /.well-known/oauth-authorization-server': () => ({ status: 200, json: asMetadata }),
    'GET /.well-known/jwt-vc-issuer': () => ({ status: 200, json: { issuer: base, jwks: issuerJwks } }),
    'GET /jwks': () => ({ status: 200, json: { keys: [{ ...tokenKey.publicJwk, kid: tokenKid, alg: 'ES256', use: 'sig' }] } }),
    'POST /token': handleToken,
    'POST /nonce': () => {
      prune(nonces)
      const cNonce = randomToken(32)
      nonces.set(cNonce, now() + NONCE_LIFETIME_S * 1000)
      return { status: 200, json: vciIssuer.createNonceResponse({ cNonce }) }
    },
    'POST /credential': handleCredential,
    'POST /notification': handleNotification,
  }

  server.on('request', async (req, res) => {
    const chunks = []
    for await (const chunk of req) chunks.push(chunk)
    const body = Buffer.concat(chunks)
    const pathname = new URL(req.url, base).pathname
    const headers = { 'Cache-Control': 'no-store' }
    let result
    try {
      const offerMatch = req.method === 'GET' && /^\/offers\/([A-Za-z0-9_-]+)$/.exec(pathname)
      const route = routes[`${req.method} ${pathname}`]
      if (offerMatch) {
        const offer = offers.get(offerMatch[1])
        if (!offer || offer.expiresAt < now()) throw new HttpError(404, 'not_found', 'no such offer')
        result = { status: 200, json: offer.object }
      } else if (route) result = await route(req, body)
      else throw new HttpError(404, 'not_found', 'no such endpoint')
    } catch (error) {
      if (error instanceof HttpError) {
        Object.assign(headers, error.headers)
        result = { status: error.status, json: { error: error.error, error_description: asciiDescription(error.message) } }
      } else if (error instanceof Oauth2ServerErrorResponseError) {
        const { error: code, error_description: description } = error.errorResponse
        result = { status: error.status, json: { error: code, error_description: asciiDescription(description) } }
      } else {
        process.stderr.write(`issuer.mjs: ${error?.stack ?? error}\n`)
        result = { status: 500, json: { error: 'server_error' } }
      }
    }
    if (result.json !== undefined) headers['Content-Type'] = 'application/json'
    res.writeHead(result.status, headers)
    res.end(result.json !== undefined ? JSON.stringify(result.json) : undefined)
  })

  return { server, base, makeOffer, issuerJwks }
}

function isContentType(req, type) {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === type
}

const isMain = process.argv[1] && new URL(import.meta.url).pathname === (await import('node:path')).resolve(process.argv[1])
if (isMain) {
  const opts = parseArgs(process.argv.slice(2))
  const { server, base, makeOffer } = await startIssuer(opts)
  process.stdout.write(`listening on ${new URL(base).host}\n`)
  for (let i = 0; i < opts.offers; i++) process.stdout.write(`${JSON.stringify(await makeOffer())}\n`)
  const stop = () => {
    server.closeAllConnections()
    server.close(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
