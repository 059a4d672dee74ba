// wallet.mjs and oidc_client.mjs (built on @openid4vc/openid4vp and openid-client, written by
// nobody here) against govid's OpenID4VP login, `govid-verifier serve --config login.toml`
// with a `[login]` table, to the contract in README.md ("What govid's verifier must do"):
// a worker ID issued by `govid-issuer serve` to the OpenID4VCI harness's wallet (exactly as
// ../oid4vci/govid_issuer.test.mjs gets one), then
//   1. a login transaction (POST /login/requests), wallet.mjs answers it, the server-sent
//      `result` event says accepted with the requested claims; the request object is single use;
//      a KB-JWT with another nonce or `aud`, an old one, and a presentation withholding a claim
//      are refused with 400 invalid_request and a `rejected` event; an unencrypted vp_token with
//      400 invalid_request; a declining wallet's access_denied is answered 200 and recorded;
//   2. the OpenID Connect bridge: oidc_client.mjs (client e-approval) starts the code flow,
//      the /authorize page carries the authorization request and its transaction, wallet.mjs
//      (the phone) answers it, the result event's `continue` leads the browser back to the
//      client with a code, and the client gets a validated ID token and userinfo.
//
// Nothing is skipped: a govid-verifier without `[login]` fails here with a message saying so.
// Run: node --test govid_verifier.test.mjs   (GOVID_ISSUER, GOVID_VERIFIER, or
//      $CARGO_TARGET_DIR/debug/, CARGO_TARGET_DIR defaulting to ~/.cache/govid-target; needs
//      ../oid4vci/node_modules)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import readline from 'node:readline'
import { spawn } from 'node:child_process'

import { generateKey, thumbprint } from './lib/crypto.mjs'
import { tlsFetch, trustAnchors } from './lib/net.mjs'
import { HERE, OID4VCI, REPO, govidBin, makeCert, requireBinary, run, runScript, runWallet, startServer, tempDir } from './lib/proc.mjs'

const ISSUER = govidBin('govid-issuer', 'GOVID_ISSUER')
const VERIFIER = govidBin('govid-verifier', 'GOVID_VERIFIER')
const ROSTER = path.join(REPO, 'testdata/roster/sample-20.csv')
const LOGIN_CLAIMS = ['given_name', 'family_name', 'organization/name', 'position', 'employee_number']
// organization is itself selectively disclosable: its disclosure (holding name only) and name's.
const DISCLOSED = ['employee_number', 'family_name', 'given_name', 'organization', 'organization.name', 'position']
const CLIENT_ID = 'e-approval'

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

/** `{result}` of the first `event: result` of a server-sent event stream at `url`; `close()` stops it. */
function resultEvent(url, ca, ms = 30000) {
  let request, timer
  let closed = false
  const promise = new Promise((resolve, reject) => {
    const fail = (error) => closed || reject(error)
    timer = setTimeout(() => fail(new Error(`no "event: result" on ${url} within ${ms} ms`)), ms)
    request = https.get(url, { ca, headers: { accept: 'text/event-stream' } }, (res) => {
      res.on('error', (error) => fail(error))
      if (res.statusCode !== 200 || !String(res.headers['content-type']).startsWith('text/event-stream')) {
        clearTimeout(timer)
        res.resume()
        return fail(new Error(`${url}: HTTP ${res.statusCode}, ${res.headers['content-type']}; expected 200 text/event-stream`))
      }
      let event = 'message'
      let data = []
      const lines = readline.createInterface({ input: res })
      lines.on('error', () => {}) // the stream is destroyed on close()
      lines.on('line', (line) => {
        if (line === '') {
          if (event === 'result' && data.length) {
            clearTimeout(timer)
            try {
              resolve(JSON.parse(data.join('\n')))
            } catch {
              fail(new Error(`the result event's data is not JSON: ${data.join('\n')}`))
            }
            closed = true
            res.destroy()
          }
          event = 'message'
          data = []
        } else if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
      })
    })
    request.on('error', (error) => fail(error))
  })
  return {
    promise,
    close: () => {
      closed = true
      clearTimeout(timer)
      request?.destroy()
    },
  }
}

const htmlUnescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;|&#x27;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')

/** The element with id login-request and its data-* attributes, from the /authorize page. */
function loginRequestElement(html) {
  const tag = /<[a-zA-Z][^>]*\bid\s*=\s*["']login-request["'][^>]*>/.exec(html)?.[0]
  if (!tag) return undefined
  const attrs = {}
  for (const m of tag.matchAll(/\b(data-[a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[m[1]] = htmlUnescape(m[2] ?? m[3])
  return attrs
}

describe('wallet.mjs and oidc_client.mjs against govid-verifier serve [login]', { timeout: 240000 }, () => {
  let work, tls, issuerDir, issuerServer, verifier, publicUrl, redirectUri, credential, holderKey, signingJwk
  const clientSecret = crypto.randomBytes(24).toString('base64url')
  const ca = () => trustAnchors(tls.cert)

  before(async () => {
    requireBinary(ISSUER, 'cargo build --locked -p govid-issuer')
    requireBinary(VERIFIER, 'cargo build --locked -p govid-verifier')
    if (!fs.existsSync(path.join(OID4VCI, 'node_modules'))) throw new Error(`${OID4VCI}/node_modules is missing: run \`npm ci\` there (scripts/setup does)`)
    work = tempDir('govid-oid4vp-govid-')
    tls = await makeCert(work)

    // A worker ID from govid's own issuer, as ../oid4vci/govid_issuer.test.mjs gets one.
    issuerDir = path.join(work, 'issuer')
    const cli = async (args) => {
      const r = await run(ISSUER, ['--dir', issuerDir, ...args], { env: { GOVID_ISSUER_DIR: '' } })
      assert.equal(r.code, 0, `govid-issuer ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
      return r
    }
    await cli(['init', '--name', 'Ministry of Transport HR Office', '--did-web', 'hr.mot.example'])
    await cli(['staff', 'import', ROSTER])
    const issuerPort = await freePort()
    issuerServer = await startServer(ISSUER, ['--dir', issuerDir, 'serve', '--listen', `127.0.0.1:${issuerPort}`, '--public-url', `http://127.0.0.1:${issuerPort}`], { env: { GOVID_ISSUER_DIR: '' } })
    const offer = JSON.parse((await cli(['--json', 'offer', 'MOT-0001'])).stdout.trim().split('\n').at(-1))
    const vci = offer.openid4vci ?? offer.offers?.[0]?.openid4vci
    assert.ok(vci, 'offer --json has no openid4vci member')
    const walletDir = path.join(work, 'MOT-0001')
    const got = await runScript('wallet.mjs', [vci.offer_uri, vci.tx_code, '--alg', 'ES256', '--out', walletDir], { dir: OID4VCI, cwd: OID4VCI })
    assert.equal(got.code, 0, `../oid4vci/wallet.mjs against govid-issuer serve: ${JSON.stringify(got.json)}\n${got.stderr}`)
    credential = path.join(walletDir, 'worker_id.sd-jwt')
    holderKey = path.join(walletDir, 'holder.jwk')
    await issuerServer.stop()
    issuerServer = undefined

    // govid-verifier serve with [login]; the public URL names the port, so probe one first.
    const signing = generateKey('ES256')
    signingJwk = signing.publicJwk
    fs.writeFileSync(path.join(work, 'login-signing.jwk'), JSON.stringify({ ...signing.privateJwk, alg: 'ES256' }), { mode: 0o600 })
    let lastError
    for (let attempt = 0; attempt < 3 && !verifier; attempt++) {
      const port = await freePort()
      redirectUri = `http://127.0.0.1:${await freePort()}/callback`
      publicUrl = `https://localhost:${port}`
      const config = path.join(work, 'login.toml')
      fs.writeFileSync(config, loginToml({ port, jwks: path.join(issuerDir, 'public', 'jwks.json') }))
      try {
        verifier = await startServer(VERIFIER, ['serve', '--config', config, '--tls-cert', tls.cert, '--tls-key', tls.key])
      } catch (error) {
        if (/login/.test(error.message) && /unknown field|unknown key|unexpected|not supported/i.test(error.message)) {
          throw new Error(`${VERIFIER} does not support the [login] table: govid's OpenID4VP login is not in this build (it must be built from the branch that adds it):\n${error.message}`)
        }
        lastError = error // the port was taken in between: try another
      }
    }
    if (!verifier) throw lastError
    const did = await tlsFetch({ ca: ca() })(`${publicUrl}/.well-known/did.json`)
    if (did.status === 404) throw new Error(`${VERIFIER} serves no /.well-known/did.json: its [login] is not active (govid's OpenID4VP login is not in this build)`)
  })

  after(async () => {
    await verifier?.stop()
    await issuerServer?.stop()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  function loginToml({ port, jwks }) {
    const q = JSON.stringify
    return `# written by tests/interop/oid4vp/govid_verifier.test.mjs
[gate]
id = "login-interop"
audience = "https://gates.ministry.example/interop"
mode = "any"
# The issuer's status list (https://hr.mot.example/status/1) is not reachable from the test.
unknown_status = "allow"
require_status = false

[server]
listen = ${q(`127.0.0.1:${port}`)}
rate_limit_per_sec = 0

[[trust.jwks]]
file = ${q(jwks)}

[login]
public_url = ${q(`https://localhost:${port}`)}
did = ${q(`did:web:localhost%3A${port}`)}
signing_key = ${q(path.join(work, 'login-signing.jwk'))}
name = "Ministry of Transport intranet"
claims = ${q(LOGIN_CLAIMS)}
request_lifetime_secs = 120

[[login.client]]
client_id = ${q(CLIENT_ID)}
client_secret = ${q(clientSecret)}
redirect_uris = [${q(redirectUri)}]
subject = "pairwise"
`
  }

  async function newTransaction() {
    const r = await tlsFetch({ ca: ca() })(`${publicUrl}/login/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    assert.equal(r.status, 200, `POST /login/requests: ${r.status} ${await r.clone().text()}`)
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/)
    const t = await r.json()
    assert.equal(typeof t.transaction, 'string')
    assert.match(t.authorization_request, /^openid4vp:\/\/\?/)
    assert.ok(Number.isInteger(t.expires_in) && t.expires_in > 0 && t.expires_in <= 120, `expires_in ${t.expires_in}`)
    assert.equal(t.events, `/login/requests/${t.transaction}/events`)
    return t
  }

  test('the DID document names the login signing key', async () => {
    const r = await tlsFetch({ ca: ca() })(`${publicUrl}/.well-known/did.json`)
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /^application\/(did\+)?json/)
    const doc = await r.json()
    const did = `did:web:localhost%3A${new URL(publicUrl).port}`
    assert.equal(doc.id, did)
    const methods = doc.verificationMethod.filter((m) => m.publicKeyJwk && thumbprint(m.publicKeyJwk) === thumbprint(signingJwk))
    assert.equal(methods.length, 1, 'one verificationMethod holds the public half of login-signing.jwk')
    assert.ok(methods[0].id === `${did}#${methods[0].id.split('#')[1]}` || methods[0].id.startsWith('#'), `verificationMethod id ${methods[0].id} is a DID URL of ${did}`)
  })

  test('a login: wallet.mjs answers the transaction, the result event says accepted with the claims', async () => {
    const t = await newTransaction()
    const url = new URL(t.authorization_request)
    assert.equal(url.searchParams.get('client_id'), `decentralized_identifier:did:web:localhost%3A${new URL(publicUrl).port}`)
    assert.match(url.searchParams.get('request_uri'), new RegExp(`^${publicUrl.replace(/\./g, '\\.')}/login/request/`))
    const events = resultEvent(`${publicUrl}${t.events}`, ca())
    try {
      const wallet = await runWallet([t.authorization_request, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert])
      assert.equal(wallet.code, 0, `wallet.mjs: ${JSON.stringify(wallet.json)}\n${wallet.stderr}`)
      assert.equal(wallet.json.status, 200)
      assert.deepEqual([...wallet.json.disclosed].sort(), DISCLOSED)
      const result = await events.promise
      assert.equal(result.result, 'accepted', JSON.stringify(result))
      assert.equal(result.claims.given_name, 'Amira')
      assert.equal(result.claims.family_name, 'Haddad')
      assert.equal(result.claims.employee_number, 'MOT-0001')
      assert.equal(result.claims.organization?.name ?? result.claims['organization/name'], 'Ministry of Transport')
      assert.equal(typeof result.claims.position, 'string')

      // RFC 9101 §5.2 / contract: the request object is served once.
      const again = await runWallet([t.authorization_request, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert])
      assert.equal(again.code, 1)
      assert.equal(again.json.error, 'invalid_request_uri', JSON.stringify(again.json))
    } finally {
      events.close()
    }
  })

  test('a KB-JWT with another nonce: 400 invalid_request and a rejected result event', async () => {
    const t = await newTransaction()
    const events = resultEvent(`${publicUrl}${t.events}`, ca())
    try {
      const wallet = await runWallet([t.authorization_request, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert, '--tamper', 'nonce'])
      assert.equal(wallet.code, 1)
      assert.equal(wallet.json.status, 400, JSON.stringify(wallet.json))
      assert.equal(wallet.json.body.error, 'invalid_request', JSON.stringify(wallet.json))
      const result = await events.promise
      assert.equal(result.result, 'rejected', JSON.stringify(result))
      assert.equal(typeof result.error, 'string')
    } finally {
      events.close()
    }
  })

  // An unencrypted body is refused without ending the transaction (it proves nothing about who
  // sent it), so it has no result event; the others end it as rejected.
  for (const [name, tamper, event] of [
    ['a KB-JWT whose aud is the bare DID (not the full Client Identifier, §14.6)', 'aud', true],
    ['a KB-JWT an hour old', 'iat-past', true],
    ['a presentation withholding position', 'drop-claim=position', true],
    ['an unencrypted vp_token although direct_post.jwt was asked', 'unencrypted', false],
  ]) {
    test(`${name}: 400 invalid_request${event ? ' and a rejected result event' : ''}`, async () => {
      const t = await newTransaction()
      const events = event ? resultEvent(`${publicUrl}${t.events}`, ca()) : undefined
      try {
        const wallet = await runWallet([t.authorization_request, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert, '--tamper', tamper])
        assert.equal(wallet.code, 1)
        assert.deepEqual([wallet.json.status, wallet.json.body?.error], [400, 'invalid_request'], JSON.stringify(wallet.json))
        if (event) {
          const result = await events.promise
          assert.equal(result.result, 'rejected', JSON.stringify(result))
        }
      } finally {
        events?.close()
      }
    })
  }

  test('the End-User declining: access_denied posted, answered 200 (§8.2), a rejected result event', async () => {
    const t = await newTransaction()
    const events = resultEvent(`${publicUrl}${t.events}`, ca())
    try {
      const wallet = await runWallet([t.authorization_request, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert, '--consent', 'no'])
      assert.equal(wallet.json.sent_error, 'access_denied', JSON.stringify(wallet.json))
      assert.equal(wallet.json.status, 200, `§8.2: a processed Authorization Error Response is answered 200: ${JSON.stringify(wallet.json)}`)
      const result = await events.promise
      assert.deepEqual([result.result, result.error], ['rejected', 'access_denied'], JSON.stringify(result))
    } finally {
      events.close()
    }
  })

  test('the OpenID Connect bridge: oidc_client.mjs logs in with wallet.mjs as the phone', async () => {
    const child = spawn(process.execPath, [path.join(HERE, 'oidc_client.mjs'), '--issuer', publicUrl, '--client-id', CLIENT_ID, '--client-secret', clientSecret, '--redirect-uri', redirectUri, '--ca', tls.cert, '--timeout', '60'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines = []
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l))
    const first = await new Promise((resolve, reject) => {
      const timer = setInterval(() => {
        if (lines.length) {
          clearInterval(timer)
          resolve(JSON.parse(lines[0]))
        } else if (child.exitCode !== null) {
          clearInterval(timer)
          reject(new Error(`oidc_client.mjs exited ${child.exitCode} before printing the authorization URL\n${stderr}`))
        }
      }, 50)
    })
    try {
      assert.ok(first.authorization_url, `oidc_client.mjs: ${JSON.stringify(first)}\n${stderr}`)
      const authUrl = new URL(first.authorization_url)
      assert.equal(`${authUrl.origin}${authUrl.pathname}`, `${publicUrl}/authorize`)

      // The browser: the /authorize page, with the authorization request for the phone.
      const fetch = tlsFetch({ ca: ca() })
      const page = await fetch(first.authorization_url, { headers: { accept: 'text/html' } })
      assert.equal(page.status, 200)
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
      const html = await page.text()
      if (process.env.GOVID_LOGIN_DUMP_PAGE) fs.writeFileSync(process.env.GOVID_LOGIN_DUMP_PAGE, html)
      const element = loginRequestElement(html)
      assert.ok(element?.['data-authorization-request'], 'the page has an element id="login-request" with data-authorization-request')
      const request = element['data-authorization-request']
      assert.match(request, /^openid4vp:\/\/\?/)
      // The page's script follows the transaction's event stream: /login/requests/T/events for
      // the element's data-transaction (or a data-events path, if given).
      const eventsPath = element['data-events'] ?? (element['data-transaction'] && `/login/requests/${encodeURIComponent(element['data-transaction'])}/events`)
      assert.ok(eventsPath, `the login-request element names its transaction (data-transaction), so the page can follow the result; it has ${JSON.stringify(Object.keys(element))}`)
      const events = resultEvent(new URL(eventsPath, publicUrl).href, ca())
      try {
        // The phone.
        const wallet = await runWallet([request, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert])
        assert.equal(wallet.code, 0, `wallet.mjs: ${JSON.stringify(wallet.json)}\n${wallet.stderr}`)
        // The page follows the result to the client's redirect URI with the code.
        const result = await events.promise
        assert.equal(result.result, 'accepted', JSON.stringify(result))
        // Where the page sends the browser next: the event's `continue` (a govid URL answering
        // 302 to the client's redirect URI with code and state), or that redirect URI itself.
        const next = result.continue ?? result.redirect_uri
        assert.ok(next, `the result event of an application's login says where the browser goes on (continue): ${JSON.stringify(result)}`)
        let hop = new URL(next, publicUrl)
        for (let i = 0; i < 3 && !hop.href.startsWith(redirectUri); i++) {
          const r = await fetch(hop.href, { headers: { accept: 'text/html' } })
          assert.ok([302, 303].includes(r.status), `${hop.href}: HTTP ${r.status}, expected a redirect on to ${redirectUri}`)
          hop = new URL(r.headers.get('location'), hop)
        }
        assert.ok(hop.href.startsWith(`${redirectUri}?`), `the browser ends at the client's redirect URI, not ${hop.href}`)
        assert.ok(hop.searchParams.get('code'), 'with a code')
        await fetch(hop.href)
      } finally {
        events.close()
      }
      await exited
      const out = JSON.parse(lines.at(-1))
      assert.equal(child.exitCode, 0, `oidc_client.mjs: ${JSON.stringify(out)}\n${stderr}`)
      const claims = out.id_token_claims
      assert.equal(claims.iss, publicUrl)
      assert.equal(claims.aud, CLIENT_ID)
      assert.equal(typeof claims.sub, 'string')
      assert.notEqual(claims.sub, 'MOT-0001', 'subject = "pairwise": not the employee number')
      if (out.userinfo) assert.equal(out.userinfo.sub, claims.sub)
      const given = out.userinfo?.given_name ?? claims.given_name
      assert.equal(given, 'Amira', 'the login claims reach the client (ID token or userinfo)')
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM')
    }
  })
})
