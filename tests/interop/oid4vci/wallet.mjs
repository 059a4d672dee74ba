#!/usr/bin/env node
// A third-party OpenID4VCI 1.0 wallet built on @openid4vc/openid4vci 0.4.6: takes a credential
// offer by reference, runs the Pre-Authorized Code Flow with a Transaction Code and DPoP, gets
// a fresh c_nonce per Credential Request, proves possession of one holder key, requests every
// offered configuration, notifies `credential_accepted`, and prints one JSON object.
//
// Usage: node wallet.mjs '<openid-credential-offer://?credential_offer_uri=...>' <PIN>
//          [--alg ES256|EdDSA] [--out DIR] [--wrong-pin] [--client-id ID] [--trace]
//
// stdout, success (exit 0):
//   {"credentials": {"<configuration id>": "<sd-jwt>", ...}, "holder_jwk": {...},
//    "holder_private_jwk": {...}, "issuer": "<credential_issuer>", "notifications": {...}}
// stdout, failure (exit 1): {"error": "<oauth error code>", "status": <http status>, "description": "..."}
//   A check this wallet makes on its own (not an error the server sent) is reported as
//   `interop_check_failed` with the HTTP status of the exchange it concerns (0 if none).
// Exit 2: wrong usage.

import fs from 'node:fs'
import path from 'node:path'

import {
  Oauth2ClientErrorResponseError,
  Oauth2Error,
  InvalidFetchResponseError,
  preAuthorizedCodeGrantIdentifier,
} from '@openid4vc/oauth2'
import {
  Openid4vciClient,
  Openid4vciRetrieveCredentialsError,
  Openid4vciSendNotificationError,
  Openid4vciVersion,
} from '@openid4vc/openid4vci'
import { ValidationError } from '@openid4vc/utils'

import { ALGS, KeyStore, cryptoCallbacks, decodeJwtParts, generateKey, thumbprint } from './lib/crypto.mjs'
import { allowHttpForLoopback, guardedFetch, isLoopback } from './lib/net.mjs'

const USAGE = `usage: node wallet.mjs '<openid-credential-offer://...>' <PIN> [--alg ES256|EdDSA] [--out DIR] [--wrong-pin] [--client-id ID] [--trace]`

/** An error this wallet found itself, reported as `interop_check_failed`. */
class CheckFailed extends Error {
  constructor(message, status = 0) {
    super(message)
    this.status = status
  }
}

function parseArgs(argv) {
  const opts = { alg: 'ES256', out: undefined, wrongPin: false, clientId: undefined, trace: false }
  const positional = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--alg') opts.alg = value()
    else if (a === '--out') opts.out = value()
    else if (a === '--client-id') opts.clientId = value()
    else if (a === '--wrong-pin') opts.wrongPin = true
    else if (a === '--trace') opts.trace = true
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else if (a.startsWith('--')) usage(`unknown option ${a}`)
    else positional.push(a)
  }
  if (positional.length !== 2) usage('expected the offer and the PIN')
  if (!ALGS.includes(opts.alg)) usage(`--alg must be one of ${ALGS.join(', ')}`)
  ;[opts.offer, opts.pin] = positional
  return opts
}

function usage(message) {
  process.stderr.write(`wallet.mjs: ${message}\n${USAGE}\n`)
  process.exit(2)
}

/** A PIN that differs from `pin` in its last character but keeps its length and character set. */
export function wrongPin(pin) {
  if (pin.length === 0) return '0'
  const last = pin.at(-1)
  const next = /[0-9]/.test(last) ? String((Number(last) + 1) % 10) : last === 'x' ? 'y' : 'x'
  return pin.slice(0, -1) + next
}

const trace = (opts, message) => {
  if (opts.trace) process.stderr.write(`wallet: ${message}\n`)
}

async function run(opts) {
  const offerUrl = new URL(opts.offer)
  if (offerUrl.protocol !== 'openid-credential-offer:') throw new CheckFailed(`offer scheme is ${offerUrl.protocol}, expected openid-credential-offer:`)
  const offerUri = offerUrl.searchParams.get('credential_offer_uri')
  if (!offerUri) throw new CheckFailed('the offer has no credential_offer_uri (this wallet takes offers by reference)')
  if (offerUrl.searchParams.has('credential_offer')) throw new CheckFailed('the offer has both credential_offer and credential_offer_uri (4.1)')
  if (isLoopback(offerUri)) allowHttpForLoopback()
  else if (!offerUri.startsWith('https://')) throw new CheckFailed('credential_offer_uri must use https (4.1)')

  const fetchLog = []
  const keys = new KeyStore()
  const callbacks = {
    ...cryptoCallbacks(keys),
    fetch: guardedFetch(fetchLog),
    // Anonymous pre-authorized access unless a client id is given (6.1: client_id only with a
    // client authentication method that uses it).
    clientAuthentication: ({ body }) => {
      if (opts.clientId) body.client_id = opts.clientId
    },
  }
  // No verifyJwt for the client: the package would then also accept signed (application/jwt)
  // issuer metadata, verified with whatever key its header carries; this wallet has no trust
  // anchor for metadata signers (12.2.3), so it takes unsigned JSON only.
  delete callbacks.verifyJwt
  const client = new Openid4vciClient({ callbacks })

  // 1. Offer by reference (4.1.3).
  const offer = await client.resolveCredentialOffer(opts.offer)
  const offerFetch = fetchLog.find((e) => e.url === offerUri)
  if (!offerFetch?.contentType?.startsWith('application/json')) {
    throw new CheckFailed(`credential offer served as ${offerFetch?.contentType}, expected application/json (4.1.3)`, offerFetch?.status ?? 0)
  }
  trace(opts, `offer from ${offer.credential_issuer}: ${offer.credential_configuration_ids.join(', ')}`)
  const grant = offer.grants?.[preAuthorizedCodeGrantIdentifier]
  if (!grant) throw new CheckFailed('the offer has no pre-authorized_code grant')
  if (offer.credential_configuration_ids.length === 0 || new Set(offer.credential_configuration_ids).size !== offer.credential_configuration_ids.length) {
    throw new CheckFailed('credential_configuration_ids must be a non-empty array of unique strings (4.1.1)')
  }
  if (!grant.tx_code) throw new CheckFailed('the offer asks for no tx_code, but this harness always sends a PIN')
  const mode = grant.tx_code.input_mode ?? 'numeric'
  if (mode === 'numeric' && !/^[0-9]*$/.test(opts.pin)) process.stderr.write('wallet: warning: the offer asks for a numeric tx_code\n')
  if (grant.tx_code.length !== undefined && grant.tx_code.length !== opts.pin.length) {
    process.stderr.write(`wallet: warning: the offer asks for a tx_code of length ${grant.tx_code.length}\n`)
  }

  // 2. Credential Issuer and Authorization Server metadata (12.2, 12.3, RFC 8414).
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer)
  const ci = issuerMetadata.credentialIssuer
  if (ci.credential_issuer !== offer.credential_issuer) throw new CheckFailed('metadata names another credential_issuer than the offer (12.2.4)')
  const base = new URL(offer.credential_issuer)
  const wellKnown = (name) => `${base.origin}/.well-known/${name}${base.pathname === '/' ? '' : base.pathname}`
  for (const name of ['openid-credential-issuer', 'oauth-authorization-server']) {
    const url = wellKnown(name)
    const entry = fetchLog.find((e) => e.url === url)
    if (!entry || entry.status !== 200) throw new CheckFailed(`${url} was not served (status ${entry?.status ?? 'none'})`, entry?.status ?? 0)
    if (!entry.contentType?.startsWith('application/json')) throw new CheckFailed(`${url} served as ${entry.contentType}, expected application/json`, 200)
  }
  if (issuerMetadata.originalDraftVersion !== Openid4vciVersion.V1 && issuerMetadata.originalDraftVersion !== Openid4vciVersion.Draft15) {
    throw new CheckFailed(`the package reads this metadata as ${issuerMetadata.originalDraftVersion}, not OpenID4VCI 1.0`)
  }
  const as = issuerMetadata.authorizationServers[0]
  if (!as || as.issuer !== (ci.authorization_servers?.[0] ?? ci.credential_issuer)) throw new CheckFailed('no authorization server metadata for the credential issuer')
  if (!ci.nonce_endpoint) throw new CheckFailed('metadata has no nonce_endpoint')
  for (const id of offer.credential_configuration_ids) {
    const conf = ci.credential_configurations_supported[id]
    if (!conf) throw new CheckFailed(`offered configuration ${id} is not in credential_configurations_supported (4.1.1)`)
    const algs = conf.proof_types_supported?.jwt?.proof_signing_alg_values_supported ?? []
    if (!algs.includes(opts.alg)) throw new CheckFailed(`configuration ${id} does not accept ${opts.alg} jwt proofs (offers ${algs.join(', ') || 'none'})`)
  }
  const dpopAlgs = as.dpop_signing_alg_values_supported ?? []
  const dpopAlg = dpopAlgs.includes(opts.alg) ? opts.alg : ALGS.find((a) => dpopAlgs.includes(a))
  if (!dpopAlg) throw new CheckFailed(`authorization server supports no DPoP alg this wallet has (${dpopAlgs.join(', ') || 'none'})`)
  if (!opts.clientId && as['pre-authorized_grant_anonymous_access_supported'] !== true) {
    process.stderr.write('wallet: note: the authorization server does not advertise pre-authorized_grant_anonymous_access_supported; sending no client_id anyway\n')
  }

  // 3. Keys: DPoP and holder.
  const dpopKey = keys.add(generateKey(dpopAlg))
  const holderKey = keys.add(generateKey(opts.alg))
  const dpopSigner = { method: 'jwk', alg: dpopAlg, publicJwk: dpopKey.publicJwk }
  const holderSigner = { method: 'jwk', alg: opts.alg, publicJwk: holderKey.publicJwk }

  // 4. Token Request with pre-authorized code, tx_code and DPoP (6.1, RFC 9449).
  const txCode = opts.wrongPin ? wrongPin(opts.pin) : opts.pin
  const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata,
    txCode,
    dpop: { signer: dpopSigner },
  })
  const tokenResponse = token.accessTokenResponse
  if (tokenResponse.token_type.toLowerCase() !== 'dpop') throw new CheckFailed(`token_type is ${tokenResponse.token_type}, expected DPoP (RFC 9449 5)`, 200)
  let dpopNonce = token.dpop?.nonce
  trace(opts, `access token (${tokenResponse.token_type}, expires_in ${tokenResponse.expires_in})`)

  // 5. One Credential Request per offered configuration, each with a fresh c_nonce (7, 8).
  const credentials = {}
  const notificationIds = {}
  for (const id of offer.credential_configuration_ids) {
    const before = fetchLog.length
    const { c_nonce: cNonce } = await client.requestNonce({ issuerMetadata })
    const nonceEntry = fetchLog.slice(before).find((e) => e.url === ci.nonce_endpoint)
    // The package drops the Nonce Response's DPoP-Nonce header (7.2); take it from the log.
    if (nonceEntry?.dpopNonce) dpopNonce = nonceEntry.dpopNonce
    const { jwt: proof } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId: id,
      signer: holderSigner,
      nonce: cNonce,
      clientId: opts.clientId,
    })
    const result = await client.retrieveCredentials({
      issuerMetadata,
      accessToken: tokenResponse.access_token,
      credentialConfigurationId: id,
      proofs: { jwt: [proof] },
      dpop: { signer: dpopSigner, nonce: dpopNonce },
    })
    if (result.dpop?.nonce) dpopNonce = result.dpop.nonce
    const status = result.response.status
    if (status !== 200) throw new CheckFailed(`credential response status ${status}, expected 200 (deferred issuance is not expected)`, status)
    const body = result.credentialResponse
    if (body.credential !== undefined) throw new CheckFailed('credential response uses the pre-1.0 `credential` member (8.3)', status)
    if (!Array.isArray(body.credentials) || body.credentials.length !== 1) throw new CheckFailed('expected exactly one credential for one proof (8.3)', status)
    const entry = body.credentials[0]
    if (typeof entry !== 'object' || typeof entry.credential !== 'string') throw new CheckFailed('`credentials` elements must be objects with a string `credential` (8.3, A.3.4)', status)
    checkSdJwtVc(entry.credential, ci.credential_configurations_supported[id], holderKey.publicJwk, status)
    credentials[id] = entry.credential
    if (body.notification_id !== undefined) notificationIds[id] = body.notification_id
    trace(opts, `got ${id} (${entry.credential.length} characters)`)
  }

  // 6. Notification (11).
  const notifications = {}
  if (ci.notification_endpoint) {
    for (const [id, notificationId] of Object.entries(notificationIds)) {
      const sent = await client.sendNotification({
        issuerMetadata,
        accessToken: tokenResponse.access_token,
        notification: { notificationId, event: 'credential_accepted' },
        dpop: { signer: dpopSigner, nonce: dpopNonce },
      })
      if (sent.dpop?.nonce) dpopNonce = sent.dpop.nonce
      notifications[id] = sent.response.status
    }
  }

  const output = {
    credentials,
    holder_jwk: holderKey.publicJwk,
    holder_private_jwk: { ...holderKey.privateJwk, alg: opts.alg },
    issuer: ci.credential_issuer,
    notifications,
  }
  if (opts.out) writeOut(opts.out, output)
  return output
}

/** Checks what a wallet can check of an SD-JWT VC without the issuer's key (A.3.4). */
function checkSdJwtVc(credential, configuration, holderJwk, status) {
  const parts = credential.split('~')
  if (parts.length < 2 || parts.at(-1) !== '') throw new CheckFailed('credential is not an SD-JWT without key binding (issuer JWT~disclosures~)', status)
  let header, payload
  try {
    ;({ header, payload } = decodeJwtParts(parts[0]))
  } catch {
    throw new CheckFailed('credential issuer JWT does not decode', status)
  }
  if (header.typ !== 'dc+sd-jwt') throw new CheckFailed(`issuer JWT typ is ${header.typ}, expected dc+sd-jwt`, status)
  if (payload.vct !== configuration.vct) throw new CheckFailed(`credential vct ${payload.vct} is not the configuration's ${configuration.vct}`, status)
  if (!payload.cnf?.jwk || thumbprint(payload.cnf.jwk) !== thumbprint(holderJwk)) throw new CheckFailed('credential is not bound to the holder key in the proof (cnf.jwk)', status)
}

function writeOut(dir, output) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  for (const [id, credential] of Object.entries(output.credentials)) {
    fs.writeFileSync(path.join(dir, `${id}.sd-jwt`), credential, { mode: 0o600 })
  }
  fs.writeFileSync(path.join(dir, 'holder.jwk'), JSON.stringify(output.holder_private_jwk), { mode: 0o600 })
  fs.writeFileSync(path.join(dir, 'holder.pub.jwk'), JSON.stringify(output.holder_jwk))
  fs.writeFileSync(path.join(dir, 'result.json'), JSON.stringify(output), { mode: 0o600 })
}

/** Maps what went wrong to `{error, status, description}`. */
async function describe(error) {
  const text = (e) => (e instanceof Error ? e.message.split('\n')[0] : String(e))
  if (error instanceof CheckFailed) return { error: 'interop_check_failed', status: error.status, description: error.message }
  if (error instanceof Oauth2ClientErrorResponseError) {
    return { error: error.errorResponse.error, status: error.response.status, description: error.errorResponse.error_description ?? text(error) }
  }
  if (error instanceof Openid4vciRetrieveCredentialsError || error instanceof Openid4vciSendNotificationError) {
    const r = error.response
    const body = r.credentialErrorResponseResult?.data ?? r.notificationErrorResponseResult?.data
    const challenge = r.wwwAuthenticate?.find((c) => c.error)
    if (body?.error) return { error: body.error, status: r.response.status, description: body.error_description ?? text(error) }
    if (challenge) return { error: challenge.error, status: r.response.status, description: challenge.error_description ?? text(error) }
    return { error: 'invalid_response', status: r.response.status, description: text(error) }
  }
  if (error instanceof InvalidFetchResponseError) {
    let body
    try {
      body = JSON.parse(error.textResponse)
    } catch {}
    const status = error.response?.status ?? 0
    if (typeof body?.error === 'string') return { error: body.error, status, description: body.error_description ?? text(error) }
    return { error: 'invalid_response', status, description: text(error) }
  }
  if (error instanceof ValidationError) return { error: 'invalid_response', status: 0, description: error.message.replace(/\s+/g, ' ').trim() }
  if (error instanceof Oauth2Error) return { error: 'interop_check_failed', status: 0, description: text(error) }
  return { error: 'interop_check_failed', status: 0, description: text(error) }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)
if (isMain) {
  const opts = parseArgs(process.argv.slice(2))
  try {
    process.stdout.write(`${JSON.stringify(await run(opts))}\n`)
  } catch (error) {
    if (opts.trace) process.stderr.write(`${error?.stack ?? error}\n`)
    process.stdout.write(`${JSON.stringify(await describe(error))}\n`)
    process.exitCode = 1
  }
}
