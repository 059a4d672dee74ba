// The harness proven against itself: wallet.mjs (the package's wallet side) against
// verifier.mjs (the package's verifier side) over real TLS (a throwaway self-signed certificate
// for localhost and 127.0.0.1, made here with the openssl CLI), with worker IDs issued by the
// OpenID4VCI harness (../oid4vci issuer.mjs + wallet.mjs) for an ES256 and an EdDSA holder key.
// Every negative case asserts the specific error, on both sides where both see it.
//
// Run: node --test selftest.mjs   (needs ../oid4vci/node_modules: `npm ci` there)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import readline from 'node:readline'
import { spawn } from 'node:child_process'

import { SignJWT, exportJWK } from 'jose'

import { decodeJwtParts } from './lib/crypto.mjs'
import { tlsFetch, trustAnchors } from './lib/net.mjs'
import { HERE, issueCredentials, makeCert, run, runWallet, startVerifier, tempDir } from './lib/proc.mjs'

const WORKER_ID_VCT = 'https://govid.example/vct/worker-id/v1'
const REQUESTED = ['given_name', 'family_name', 'organization.name', 'position', 'employee_number']
// organization is itself selectively disclosable: presenting organization.name discloses the
// organization object (holding name only, not code) and its name.
const DISCLOSED = ['employee_number', 'family_name', 'given_name', 'organization', 'organization.name', 'position']

let work, tls, issued

before(async () => {
  work = tempDir('govid-oid4vp-')
  tls = await makeCert(work)
  issued = await issueCredentials(work, WORKER_ID_VCT, ['ES256', 'EdDSA'])
})

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

const verifierArgs = (extra = []) => ['--port', '0', '--tls-cert', tls.cert, '--tls-key', tls.key, '--vct', WORKER_ID_VCT, '--trust-issuer-jwks', issued.jwks, '--claims', REQUESTED.join(','), ...extra]
const walletArgs = (request, alg = 'ES256', extra = []) => [request, '--credential', issued.credentials[alg].credential, '--holder-key', issued.credentials[alg].holderKey, '--ca', tls.cert, ...extra]

/** One request, one wallet run: `{verifier, request, wallet, result, exit}` (result: the verifier's line). */
async function session({ verifier: vExtra = [], wallet: wExtra = [], alg = 'ES256', expectResult = true } = {}) {
  const verifier = await startVerifier(verifierArgs(['--once', ...vExtra]))
  try {
    const request = verifier.requests[0]
    const wallet = await runWallet(walletArgs(request.authorization_request, alg, wExtra))
    if (!expectResult) return { verifier, request, wallet }
    const result = await verifier.result()
    const exit = await new Promise((resolve) => {
      if (verifier.server.child.exitCode !== null) resolve(verifier.server.child.exitCode)
      else verifier.server.child.once('exit', (code) => resolve(code))
    })
    return { verifier, request, wallet, result, exit }
  } finally {
    await verifier.server.stop()
  }
}

/** Asserts a rejection seen on both sides: the verifier's reason, the wallet's 400 invalid_request. */
function assertRejected({ wallet, result, exit }, reason) {
  assert.equal(result.result, 'rejected', JSON.stringify(result))
  assert.equal(result.error, reason, JSON.stringify(result))
  assert.equal(exit, 1, 'verifier.mjs --once exits 1 after a rejection')
  assert.equal(wallet.code, 1, JSON.stringify(wallet.json))
  assert.equal(wallet.json.status, 400, JSON.stringify(wallet.json))
  assert.equal(wallet.json.body.error, 'invalid_request', JSON.stringify(wallet.json))
  assert.equal(typeof wallet.json.body.error_description, 'string')
}

describe('wallet.mjs against verifier.mjs over TLS', { timeout: 180000 }, () => {
  for (const alg of ['ES256', 'EdDSA']) {
    test(`${alg} holder key: accepted with exactly the requested claims disclosed`, async () => {
      const s = await session({ alg })
      assert.equal(s.wallet.code, 0, `${JSON.stringify(s.wallet.json)}\n${s.wallet.stderr}`)
      assert.equal(s.wallet.json.status, 200)
      assert.deepEqual(s.wallet.json.body, {})
      assert.deepEqual([...s.wallet.json.disclosed].sort(), DISCLOSED)
      assert.equal(s.result.result, 'accepted', JSON.stringify(s.result))
      assert.equal(s.exit, 0)
      assert.equal(s.result.state, s.request.state)
      assert.deepEqual([...s.result.disclosed].sort(), DISCLOSED)
      assert.deepEqual(s.result.claims, {
        given_name: 'Amira',
        family_name: 'Haddad',
        organization: { name: 'Ministry of Transport' },
        position: 'Senior Inspector',
        employee_number: 'MOT-0001',
      })
    })
  }

  test('the request: did:web client_id, by reference only, a DID document with the signing key', async () => {
    const verifier = await startVerifier(verifierArgs())
    try {
      const r = verifier.requests[0]
      assert.equal(r.client_id, `decentralized_identifier:did:web:localhost%3A${verifier.port}`)
      const url = new URL(r.authorization_request)
      assert.equal(url.protocol, 'openid4vp:')
      assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri'])
      assert.equal(url.searchParams.get('client_id'), r.client_id)
      assert.match(url.searchParams.get('request_uri'), new RegExp(`^https://localhost:${verifier.port}/request/[A-Za-z0-9_-]+$`))
      assert.match(r.nonce, /^[A-Za-z0-9_-]{32,}$/)
      assert.match(r.state, /^[A-Za-z0-9_-]{32,}$/)
      const fetch = tlsFetch({ ca: trustAnchors(tls.cert) })
      const doc = await fetch(`https://localhost:${verifier.port}/.well-known/did.json`)
      assert.equal(doc.status, 200)
      const did = await doc.json()
      assert.equal(did.id, `did:web:localhost%3A${verifier.port}`)
      assert.equal(did.verificationMethod[0].id, `${did.id}#key-1`)
      assert.equal(did.verificationMethod[0].type, 'JsonWebKey')
      assert.deepEqual(Object.keys(did.verificationMethod[0].publicKeyJwk).sort(), ['crv', 'kty', 'x', 'y'])
    } finally {
      await verifier.server.stop()
    }
  })

  test('the request object can be fetched once: its second fetch is refused (invalid_request_uri, 404)', async () => {
    const verifier = await startVerifier(verifierArgs())
    try {
      const r = verifier.requests[0]
      const requestUri = new URL(r.authorization_request).searchParams.get('request_uri')
      const first = await tlsFetch({ ca: trustAnchors(tls.cert) })(requestUri)
      assert.equal(first.status, 200)
      assert.equal(first.headers.get('content-type'), 'application/oauth-authz-req+jwt')
      const { header, payload } = decodeJwtParts(await first.text())
      assert.deepEqual(header, { alg: 'ES256', kid: `did:web:localhost%3A${verifier.port}#key-1`, typ: 'oauth-authz-req+jwt' })
      assert.equal(payload.aud, 'https://self-issued.me/v2')
      assert.equal(payload.client_id, r.client_id)
      assert.equal(payload.response_type, 'vp_token')
      assert.equal(payload.response_mode, 'direct_post.jwt')
      assert.equal(payload.response_uri, `https://localhost:${verifier.port}/response`)
      assert.equal(payload.nonce, r.nonce)
      assert.equal(payload.state, r.state)
      assert.ok(payload.exp > payload.iat, 'exp after iat')
      const [jwk] = payload.client_metadata.jwks.keys
      assert.deepEqual([jwk.kty, jwk.crv, jwk.use, jwk.alg, typeof jwk.kid, jwk.d], ['EC', 'P-256', 'enc', 'ECDH-ES', 'string', undefined])
      assert.deepEqual(payload.client_metadata.encrypted_response_enc_values_supported, ['A128GCM', 'A256GCM'])
      assert.deepEqual(payload.client_metadata.vp_formats_supported, { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256', 'EdDSA'], 'kb-jwt_alg_values': ['ES256', 'EdDSA'] } })
      assert.deepEqual(payload.dcql_query, {
        credentials: [{ id: 'worker_id', format: 'dc+sd-jwt', meta: { vct_values: [WORKER_ID_VCT] }, claims: REQUESTED.map((c) => ({ path: c.split('.') })) }],
      })
      const wallet = await runWallet(walletArgs(r.authorization_request))
      assert.equal(wallet.code, 1)
      assert.deepEqual([wallet.json.error, wallet.json.status], ['invalid_request_uri', 404], JSON.stringify(wallet.json))
    } finally {
      await verifier.server.stop()
    }
  })

  const rejections = [
    ['a KB-JWT with the wrong nonce', ['--tamper', 'nonce'], 'kb_jwt_nonce_mismatch'],
    ['a KB-JWT whose aud is the DID without the client_id prefix (§14.6)', ['--tamper', 'aud'], 'kb_jwt_aud_mismatch'],
    ['a KB-JWT with a wrong sd_hash', ['--tamper', 'sd_hash'], 'kb_jwt_sd_hash_mismatch'],
    ['a KB-JWT iat an hour past', ['--tamper', 'iat-past'], 'kb_jwt_iat_too_old'],
    ['a KB-JWT iat an hour ahead', ['--tamper', 'iat-future'], 'kb_jwt_iat_in_future'],
    ['a KB-JWT with an invalid signature', ['--tamper', 'kb-sig'], 'kb_jwt_signature_invalid'],
    ['a response for an unknown state', ['--tamper', 'state=not-a-pending-state'], 'unknown_state'],
    ['an unencrypted vp_token when direct_post.jwt was asked', ['--tamper', 'unencrypted'], 'response_not_encrypted'],
  ]
  for (const [name, tamper, reason] of rejections) {
    test(`${name} is rejected: ${reason}`, async () => {
      const s = await session({ wallet: tamper })
      assertRejected(s, reason)
    })
  }

  test('a wallet disclosing less than asked (position withheld) is rejected: claim_missing', async () => {
    const s = await session({ wallet: ['--tamper', 'drop-claim=position'] })
    assert.deepEqual([...s.wallet.json.disclosed].sort(), DISCLOSED.filter((c) => c !== 'position'))
    assertRejected(s, 'claim_missing')
    assert.match(s.result.description, /position/)
  })

  test('the End-User declining: the wallet posts access_denied, the verifier records it', async () => {
    const s = await session({ wallet: ['--consent', 'no'] })
    assert.equal(s.wallet.code, 1)
    assert.deepEqual([s.wallet.json.status, s.wallet.json.sent_error], [200, 'access_denied'], JSON.stringify(s.wallet.json))
    assert.deepEqual(s.wallet.json.disclosed, [])
    assert.deepEqual([s.result.result, s.result.error, s.result.oauth_error], ['rejected', 'wallet_error', 'access_denied'])
  })

  test('a query for another vct: no credential matches, the wallet answers access_denied', async () => {
    const verifier = await startVerifier([...verifierArgs(['--once']).filter((a) => a !== WORKER_ID_VCT && a !== '--vct'), '--vct', 'https://govid.example/vct/other/v1'])
    try {
      const wallet = await runWallet(walletArgs(verifier.requests[0].authorization_request))
      assert.equal(wallet.code, 1)
      assert.equal(wallet.json.sent_error, 'access_denied', JSON.stringify(wallet.json))
      const result = await verifier.result()
      assert.deepEqual([result.error, result.oauth_error], ['wallet_error', 'access_denied'])
    } finally {
      await verifier.server.stop()
    }
  })

  for (const [tamper, pattern] of [
    ['unsigned', /not a valid JWT/],
    ['wrong-key', /signature does not verify/],
    ['no-typ', /typ/],
  ]) {
    test(`the wallet refuses a request object that is ${tamper} (invalid_request_object) and posts nothing`, async () => {
      const s = await session({ verifier: ['--tamper-request', tamper], expectResult: false })
      assert.equal(s.wallet.code, 1)
      assert.equal(s.wallet.json.error, 'invalid_request_object', JSON.stringify(s.wallet.json))
      assert.match(s.wallet.json.description, pattern)
      assert.equal(s.verifier.server.lines.filter((l) => l.startsWith('{"result"')).length, 0, 'nothing was posted')
    })
  }

  test('the wallet refuses an unsigned request by value with a did client_id (invalid_request)', async () => {
    const params = new URLSearchParams({
      client_id: 'decentralized_identifier:did:web:localhost%3A1',
      response_type: 'vp_token',
      response_mode: 'direct_post',
      response_uri: 'https://localhost:1/response',
      nonce: 'n-0S6_WzA2Mj',
      dcql_query: JSON.stringify({ credentials: [{ id: 'worker_id', format: 'dc+sd-jwt', meta: { vct_values: [WORKER_ID_VCT] } }] }),
    })
    const wallet = await runWallet(walletArgs(`openid4vp://?${params}`))
    assert.equal(wallet.code, 1)
    assert.equal(wallet.json.error, 'invalid_request', JSON.stringify(wallet.json))
    assert.match(wallet.json.description, /requires a signed JAR request/)
  })
})

describe('usage', () => {
  test('wallet.mjs without arguments: exit 2 with usage', async () => {
    const r = await run(process.execPath, [path.join(HERE, 'wallet.mjs')])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /usage: node wallet\.mjs/)
  })

  test('verifier.mjs without --tls-cert: exit 2 (HTTPS only)', async () => {
    const r = await run(process.execPath, [path.join(HERE, 'verifier.mjs'), '--port', '0', '--vct', WORKER_ID_VCT])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /--tls-cert/)
  })
})

/**
 * A minimal OpenID Provider, only for testing oidc_client.mjs (not a model for govid's): HTTPS
 * discovery, /authorize that redirects straight back with a code (no login page), /token with
 * client_secret_basic and the PKCE S256 check, an ES256 ID token, /jwks and /userinfo.
 */
async function startFakeOp({ clientId, clientSecret, redirectUri }) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'op-1', alg: 'ES256', use: 'sig' }
  const codes = new Map()
  const tokens = new Map()
  const subject = 'pairwise-subject-1'
  let issuer
  const server = https.createServer({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }, async (req, res) => {
    const url = new URL(req.url, issuer)
    const json = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(JSON.stringify(body))
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        userinfo_endpoint: `${issuer}/userinfo`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      })
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] })
    if (url.pathname === '/authorize') {
      const q = url.searchParams
      if (q.get('client_id') !== clientId || q.get('redirect_uri') !== redirectUri || q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !q.get('state') || !q.get('nonce') || !q.get('scope')?.split(' ').includes('openid')) {
        return json(400, { error: 'invalid_request' })
      }
      const code = crypto.randomBytes(16).toString('base64url')
      codes.set(code, { challenge: q.get('code_challenge'), nonce: q.get('nonce') })
      const back = new URL(redirectUri)
      back.search = new URLSearchParams({ code, state: q.get('state'), iss: issuer }).toString()
      res.writeHead(302, { location: back.href })
      return res.end()
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const body = new URLSearchParams(await new Promise((resolve) => {
        let t = ''
        req.on('data', (d) => (t += d))
        req.on('end', () => resolve(t))
      }))
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64; openid-client encodes
      // even '-' (e-approval arrives as e%2Dapproval), so decode before comparing.
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '')
      const [user, pass] = m ? Buffer.from(m[1], 'base64').toString().split(':').map((t) => decodeURIComponent(t.replace(/\+/g, ' '))) : []
      if (user !== clientId || pass !== clientSecret) return json(401, { error: 'invalid_client' })
      const entry = codes.get(body.get('code'))
      codes.delete(body.get('code'))
      const verifier = body.get('code_verifier') ?? ''
      if (!entry || body.get('grant_type') !== 'authorization_code' || body.get('redirect_uri') !== redirectUri || crypto.createHash('sha256').update(verifier).digest('base64url') !== entry.challenge) {
        return json(400, { error: 'invalid_grant' })
      }
      const now = Math.floor(Date.now() / 1000)
      const idToken = await new SignJWT({ nonce: entry.nonce, given_name: 'Amira', family_name: 'Haddad' })
        .setProtectedHeader({ alg: 'ES256', kid: 'op-1', typ: 'JWT' })
        .setIssuer(issuer).setSubject(subject).setAudience(clientId).setIssuedAt(now).setExpirationTime(now + 300)
        .sign(privateKey)
      const accessToken = crypto.randomBytes(16).toString('base64url')
      tokens.set(accessToken, subject)
      return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: idToken })
    }
    if (url.pathname === '/userinfo') {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
      if (!tokens.has(token)) return json(401, { error: 'invalid_token' })
      return json(200, { sub: tokens.get(token), given_name: 'Amira', family_name: 'Haddad', organization: { name: 'Ministry of Transport' } })
    }
    json(404, { error: 'not_found' })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `https://localhost:${server.address().port}`
  return { issuer, close: () => new Promise((resolve) => server.close(resolve)) }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/** Starts oidc_client.mjs: `{authorizationUrl, done: Promise<{code, json}>}`, or `{code, json}` if it ended first. */
export function startOidcClient(args) {
  const child = spawn(process.execPath, [path.join(HERE, 'oidc_client.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines = []
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const done = new Promise((resolve) => child.once('exit', (code) => resolve({ code, json: lines.length ? JSON.parse(lines.at(-1)) : undefined, stderr })))
  return new Promise((resolve) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      if (lines.length === 1) {
        const first = JSON.parse(line)
        if (first.authorization_url) resolve({ authorizationUrl: first.authorization_url, done })
      }
    })
    done.then((r) => resolve(r))
  })
}

describe('oidc_client.mjs (openid-client) against a minimal in-file OP', { timeout: 60000 }, () => {
  const clientId = 'e-approval'
  const clientSecret = crypto.randomBytes(24).toString('base64url')

  for (const tamperState of [false, true]) {
    test(tamperState ? 'a callback with another state fails the package check (no token request)' : 'discovery, code flow with PKCE, ID token validated, userinfo', async () => {
      const redirectUri = `http://127.0.0.1:${await freePort()}/callback`
      const op = await startFakeOp({ clientId, clientSecret, redirectUri })
      try {
        const started = await startOidcClient(['--issuer', op.issuer, '--client-id', clientId, '--client-secret', clientSecret, '--redirect-uri', redirectUri, '--ca', tls.cert])
        assert.ok(started.authorizationUrl, JSON.stringify(started.json))
        const auth = new URL(started.authorizationUrl)
        assert.equal(auth.origin + auth.pathname, `${op.issuer}/authorize`)
        assert.equal(auth.searchParams.get('code_challenge_method'), 'S256')
        for (const p of ['state', 'nonce', 'code_challenge']) assert.match(auth.searchParams.get(p), /^[A-Za-z0-9_-]{22,}$/)
        const fetch = tlsFetch({ ca: trustAnchors(tls.cert) })
        const redirect = await fetch(started.authorizationUrl)
        assert.equal(redirect.status, 302)
        const back = new URL(redirect.headers.get('location'))
        if (tamperState) back.searchParams.set('state', 'another-state')
        const callback = await fetch(back.href)
        const { code, json } = await started.done
        if (tamperState) {
          assert.equal(callback.status, 400)
          assert.equal(code, 1)
          assert.equal(json.error, 'OAUTH_INVALID_RESPONSE', JSON.stringify(json))
          assert.match(json.description, /state/)
        } else {
          assert.equal(code, 0, JSON.stringify(json))
          assert.equal(callback.status, 200)
          assert.equal(json.id_token_claims.iss, op.issuer)
          assert.equal(json.id_token_claims.aud, clientId)
          assert.equal(json.id_token_claims.sub, 'pairwise-subject-1')
          assert.equal(json.id_token_claims.nonce, auth.searchParams.get('nonce'))
          assert.deepEqual(json.userinfo, { sub: 'pairwise-subject-1', given_name: 'Amira', family_name: 'Haddad', organization: { name: 'Ministry of Transport' } })
        }
      } finally {
        await op.close()
      }
    })
  }

  test('discovery against an issuer with no OpenID configuration fails clearly (discovery_failed)', async () => {
    const verifier = await startVerifier(verifierArgs()) // an HTTPS server with no /.well-known/openid-configuration
    try {
      const r = await startOidcClient(['--issuer', `https://localhost:${verifier.port}`, '--client-id', clientId, '--redirect-uri', `http://127.0.0.1:${await freePort()}/cb`, '--ca', tls.cert])
      assert.equal(r.code, 1)
      assert.equal(r.json.error, 'discovery_failed', JSON.stringify(r.json))
      assert.match(r.json.description, /openid-configuration/)
    } finally {
      await verifier.server.stop()
    }
  })
})
