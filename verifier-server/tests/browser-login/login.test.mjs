// Logging in to the sample intranet application (verifier-server/examples/intranet, the unmodified
// openid-client) with the worker ID, in headless Chromium:
//   - `govid-issuer serve` issues a worker ID (MOT-0001, Amira Haddad) to the test phone;
//   - `govid-verifier serve` with `[login]` over TLS for localhost (a self-signed certificate
//     made with openssl here; Chromium ignores certificate errors, the app trusts it with --ca)
//     trusts that issuer and registers the app as OpenID Connect client e-approval;
//   - the browser opens the app, clicks "Log in with worker ID", lands on the verifier's
//     /authorize page with a QR code; the QR (decoded with zbarimg) says what the page's
//     #login-request data-authorization-request says; the phone answers that link; the page goes
//     on by itself to the app, which shows "Logged in as Amira Haddad", organization, position
//     and a pairwise `sub`;
//   - the phone declining: the login page says so, back in the app the access_denied error;
//   - the login service down: the app's /login names it.
//
// The phone (LOGIN_PHONE): `python` (default), the govid wallet through its Python bindings over
// the real .so (phone.py; GOVID_PY_BINDINGS, default $CARGO_TARGET_DIR/govid-bindings/python);
// or `node`, the third-party wallet tests/interop/oid4vp/wallet.mjs (@openid4vc/openid4vp) with a
// credential from the OpenID4VCI harness's wallet.
//
// Screenshots: docs/screenshots/login-qr.png and login-done.png with UPDATE_SCREENSHOTS=1 (else
// into a scratch directory, removed after). Nothing is skipped: a missing tool fails with its name.
// Run: bash run.sh (GOVID_VERIFIER, GOVID_ISSUER or $CARGO_TARGET_DIR/debug/, CHROMIUM)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { chromium } from 'playwright-core'

import { govidBin, makeCert, requireBinary, run, runScript, startServer, tempDir } from '../../../tests/interop/oid4vp/lib/proc.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '../../..')
const APP = path.join(REPO, 'verifier-server/examples/intranet')
const OID4VCI = path.join(REPO, 'tests/interop/oid4vci')
const OID4VP = path.join(REPO, 'tests/interop/oid4vp')
const ISSUER = govidBin('govid-issuer', 'GOVID_ISSUER')
const VERIFIER = govidBin('govid-verifier', 'GOVID_VERIFIER')
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium'
const PHONE = process.env.LOGIN_PHONE || 'python'
const TARGET = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/govid-target')
const PY_BINDINGS = process.env.GOVID_PY_BINDINGS || path.join(TARGET, 'govid-bindings/python')
const ISSUER_DID = 'did:web:hr.mot.example'
const CLIENT_ID = 'e-approval'
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(REPO, 'docs/screenshots') : fs.mkdtempSync(path.join(os.tmpdir(), 'govid-login-shots-'))

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

async function requireTool(cmd, install) {
  const found = await run('sh', ['-c', `command -v ${cmd}`])
  if (found.code !== 0) throw new Error(`${cmd} not found: ${install}`)
}

describe(`logging in to the sample intranet app in Chromium (phone: ${PHONE})`, { timeout: 300000 }, () => {
  let work, tls, issuerServer, verifier, app, browser, publicUrl, appUrl, phone
  const clientSecret = crypto.randomBytes(24).toString('base64url')

  before(async () => {
    if (!['python', 'node'].includes(PHONE)) throw new Error(`LOGIN_PHONE=${PHONE}: python (default) or node`)
    requireBinary(ISSUER, 'cargo build --locked -p govid-issuer')
    requireBinary(VERIFIER, 'cargo build --locked -p govid-verifier')
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM)`)
    await requireTool('zbarimg', 'apt-get install -y zbar-tools')
    await requireTool('openssl', 'apt-get install -y openssl')
    if (!fs.existsSync(path.join(APP, 'node_modules/openid-client'))) throw new Error(`${APP}/node_modules is missing: run \`npm ci\` there (scripts/setup does)`)
    work = tempDir('govid-login-browser-')
    tls = await makeCert(work)

    // The issuer: HR's worker IDs, as tests/interop/oid4vp/govid_verifier.test.mjs gets one.
    const issuerDir = path.join(work, 'issuer')
    const cli = async (args) => {
      const r = await run(ISSUER, ['--dir', issuerDir, ...args], { env: { GOVID_ISSUER_DIR: '' } })
      assert.equal(r.code, 0, `govid-issuer ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`)
      return r
    }
    await cli(['init', '--name', 'Ministry of Transport HR Office', '--did-web', 'hr.mot.example'])
    await cli(['staff', 'import', path.join(REPO, 'testdata/roster/sample-20.csv')])
    const issuerPort = await freePort()
    issuerServer = await startServer(ISSUER, ['--dir', issuerDir, 'serve', '--listen', `127.0.0.1:${issuerPort}`, '--public-url', `http://127.0.0.1:${issuerPort}`], { env: { GOVID_ISSUER_DIR: '' } })
    const offer = JSON.parse((await cli(['--json', 'offer', 'MOT-0001'])).stdout.trim().split('\n').at(-1))
    const vci = offer.openid4vci ?? offer.offers?.[0]?.openid4vci
    assert.ok(vci, 'govid-issuer offer --json has no openid4vci member')
    const jwks = path.join(issuerDir, 'public', 'jwks.json')
    phone = PHONE === 'node' ? await nodePhone(vci) : await pythonPhone(vci, jwks)
    await issuerServer.stop()
    issuerServer = undefined

    // The login service, then the app (both ports are in the config, so probe them first).
    for (let attempt = 0; attempt < 3 && !app; attempt++) {
      const [port, appPort] = [await freePort(), await freePort()]
      publicUrl = `https://localhost:${port}`
      appUrl = `http://127.0.0.1:${appPort}`
      const config = path.join(work, 'login.toml')
      fs.writeFileSync(config, loginToml({ port, appPort, jwks }))
      try {
        verifier = await startServer(VERIFIER, ['serve', '--config', config, '--tls-cert', tls.cert, '--tls-key', tls.key])
        app = await startServer(process.execPath, [path.join(APP, 'server.mjs'), '--issuer', publicUrl, '--client-id', CLIENT_ID, '--client-secret', clientSecret, '--port', String(appPort), '--ca', tls.cert])
      } catch (error) {
        await verifier?.stop()
        verifier = undefined
        if (attempt === 2) throw error // else a port was taken in between: try others
      }
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  })

  after(async () => {
    await browser?.close()
    await app?.stop()
    await verifier?.stop()
    await issuerServer?.stop()
    if (work) fs.rmSync(work, { recursive: true, force: true })
    if (process.env.UPDATE_SCREENSHOTS !== '1') fs.rmSync(SHOTS, { recursive: true, force: true })
  })

  function loginToml({ port, appPort, jwks }) {
    const q = JSON.stringify
    return `# written by verifier-server/tests/browser-login/login.test.mjs
[gate]
id = "login-browser"
audience = "https://gates.ministry.example/login-browser"
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
claims = ["given_name", "family_name", "organization/name", "position", "employee_number"]
request_lifetime_secs = 120

[[login.client]]
client_id = ${q(CLIENT_ID)}
client_secret = ${q(clientSecret)}
redirect_uris = [${q(`http://127.0.0.1:${appPort}/callback`)}]
subject = "pairwise"
`
  }

  /** The third-party wallet: a credential from the OpenID4VCI harness's wallet, answered by wallet.mjs. */
  async function nodePhone(vci) {
    for (const dir of [OID4VCI, OID4VP]) {
      if (!fs.existsSync(path.join(dir, 'node_modules'))) throw new Error(`${dir}/node_modules is missing: run \`npm ci\` there (scripts/setup does)`)
    }
    const walletDir = path.join(work, 'phone')
    const got = await runScript('wallet.mjs', [vci.offer_uri, vci.tx_code, '--alg', 'ES256', '--out', walletDir], { dir: OID4VCI, cwd: OID4VCI })
    assert.equal(got.code, 0, `tests/interop/oid4vci/wallet.mjs against govid-issuer serve: ${JSON.stringify(got.json)}\n${got.stderr}`)
    const credential = path.join(walletDir, 'worker_id.sd-jwt')
    const holderKey = path.join(walletDir, 'holder.jwk')
    return async (link, consent) => {
      const r = await runScript('wallet.mjs', [link, '--credential', credential, '--holder-key', holderKey, '--ca', tls.cert, ...(consent ? [] : ['--consent', 'no'])], { dir: OID4VP, cwd: OID4VP })
      if (consent) assert.equal(r.code, 0, `wallet.mjs: ${JSON.stringify(r.json)}\n${r.stderr}`)
      else assert.equal(r.json.sent_error, 'access_denied', `wallet.mjs --consent no: ${JSON.stringify(r.json)}\n${r.stderr}`)
      assert.equal(r.json.status, 200, `the login service answered the phone ${JSON.stringify(r.json)}`)
      return r.json
    }
  }

  /** The govid wallet (Python bindings over the real .so): phone.py enroll, then phone.py per login. */
  async function pythonPhone(vci, jwks) {
    await requireTool('python3', 'apt-get install -y python3')
    if (!fs.existsSync(path.join(PY_BINDINGS, 'govid_ffi.py'))) {
      throw new Error(`${PY_BINDINGS}/govid_ffi.py not found: build the Python bindings with \`mobile-bindings/build.sh python\` (or set GOVID_PY_BINDINGS)`)
    }
    const walletDir = path.join(work, 'phone')
    const env = { GOVID_PY_BINDINGS: PY_BINDINGS }
    const phonePy = async (args) => {
      const r = await run('python3', [path.join(HERE, 'phone.py'), ...args], { env })
      let json
      try {
        json = JSON.parse(r.stdout.trim().split('\n').at(-1))
      } catch {
        throw new Error(`phone.py ${args[0]} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
      }
      return { ...r, json }
    }
    const enrolled = await phonePy(['enroll', '--wallet-dir', walletDir, '--offer', vci.offer_uri, '--tx-code', vci.tx_code, '--trust-jwks', jwks, '--issuer', ISSUER_DID])
    assert.equal(enrolled.code, 0, `phone.py enroll against govid-issuer serve: ${JSON.stringify(enrolled.json)}\n${enrolled.stderr}`)
    assert.equal(enrolled.json.employee_number, 'MOT-0001', JSON.stringify(enrolled.json))
    return async (link, consent) => {
      const r = await phonePy(['--wallet-dir', walletDir, '--link', link, '--ca', tls.cert, '--consent', consent ? 'yes' : 'no'])
      assert.equal(r.code, 0, `phone.py --consent ${consent ? 'yes' : 'no'}: ${JSON.stringify(r.json)}\n${r.stderr}`)
      assert.equal(r.json.verifier_host, new URL(publicUrl).host, `the phone shows who asks (verified): ${JSON.stringify(r.json)}`)
      assert.equal(r.json.claimed_name, 'Ministry of Transport intranet', `and the name it claims: ${JSON.stringify(r.json)}`)
      if (consent) {
        for (const claim of ['given_name', 'family_name', 'position', 'employee_number']) {
          assert.ok(r.json.claims.includes(claim), `the phone was asked for ${claim}: ${JSON.stringify(r.json)}`)
        }
      }
      assert.equal(r.json.sent, consent ? 'presentation' : 'access_denied', JSON.stringify(r.json))
      return r.json
    }
  }

  /** Opens the app in a fresh browser context, clicks "Log in with worker ID": the login page's request. */
  async function toLoginPage() {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 900 } })
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(`${appUrl}/`)
    await page.getByRole('link', { name: 'Log in with worker ID' }).click()
    await page.waitForURL((u) => u.href.startsWith(`${publicUrl}/authorize?`))
    const element = page.locator('#login-request')
    const request = await element.getAttribute('data-authorization-request')
    assert.match(request, /^openid4vp:\/\/\?/)
    const url = new URL(request)
    assert.equal(url.searchParams.get('client_id'), `decentralized_identifier:did:web:localhost%3A${new URL(publicUrl).port}`)
    assert.ok(url.searchParams.get('request_uri').startsWith(`${publicUrl}/login/request/`), request)
    // What the QR code says, as a phone's camera reads it (zbarimg on the image the page shows).
    await page.locator('#qr').waitFor({ state: 'visible' })
    const png = path.join(work, `qr-${crypto.randomUUID()}.png`)
    await page.locator('#qr').screenshot({ path: png })
    const scanned = await run('zbarimg', ['--quiet', '--raw', png])
    assert.equal(scanned.code, 0, `zbarimg found no QR code on the login page:\n${scanned.stderr}`)
    assert.equal(scanned.stdout.trim(), request, 'the QR code encodes the page\'s data-authorization-request')
    return { context, page, request, errors }
  }

  test('log in: the QR code, the phone consents, the app shows who logged in', async () => {
    const { context, page, request, errors } = await toLoginPage()
    try {
      await page.getByText('Log in with your worker ID').waitFor()
      await page.screenshot({ path: path.join(SHOTS, 'login-qr.png'), fullPage: true })
      await phone(request, true)
      // The page follows the result (server-sent events) back to the app by itself.
      await page.waitForURL(`${appUrl}/`, { timeout: 20000 })
      const who = page.locator('#who')
      await who.waitFor()
      assert.equal(await who.textContent(), 'Logged in as Amira Haddad')
      assert.equal(await page.locator('#organization').textContent(), 'Ministry of Transport')
      assert.ok((await page.locator('#position').textContent()).length > 0, 'the position is shown')
      const sub = await page.locator('#sub').textContent()
      assert.ok(sub.length >= 16, `a subject: ${sub}`)
      assert.notEqual(sub, 'MOT-0001', 'subject = "pairwise": not the employee number')
      await page.screenshot({ path: path.join(SHOTS, 'login-done.png'), fullPage: true })
      // The app's session cookie is HttpOnly and SameSite=Lax.
      const cookie = (await context.cookies(appUrl)).find((c) => c.name === 'e_approval_session')
      assert.ok(cookie, 'the app set its session cookie')
      assert.deepEqual([cookie.httpOnly, cookie.sameSite], [true, 'Lax'])
      // Logging out shows the login button again.
      await page.getByRole('button', { name: 'Log out' }).click()
      await page.getByRole('link', { name: 'Log in with worker ID' }).waitFor()
      assert.deepEqual(errors, [])
    } finally {
      await context.close()
    }
  })

  test('the phone declines: the login page says so, the app shows access_denied', async () => {
    const { context, page, request, errors } = await toLoginPage()
    try {
      await phone(request, false)
      await page.locator('#rejected').waitFor({ state: 'visible', timeout: 20000 })
      assert.match(await page.locator('#why').textContent(), /declined in the wallet/)
      await page.getByRole('link', { name: 'Back to the application' }).click()
      await page.waitForURL((u) => u.href.startsWith(`${appUrl}/callback?`))
      const error = page.locator('#error')
      await error.waitFor()
      assert.equal(await error.getAttribute('data-error'), 'access_denied')
      assert.match(await error.textContent(), /declined in the wallet/)
      assert.equal(await page.locator('#who').count(), 0, 'nobody is logged in')
      assert.deepEqual(errors, [])
    } finally {
      await context.close()
    }
  })

  test('the login service unreachable: the app says which and why', async () => {
    const closed = await freePort()
    const down = await startServer(process.execPath, [path.join(APP, 'server.mjs'), '--issuer', `https://localhost:${closed}`, '--client-id', CLIENT_ID, '--client-secret', clientSecret, '--port', String(await freePort()), '--ca', tls.cert])
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`http://${down.addr}/`)
      await page.getByRole('link', { name: 'Log in with worker ID' }).click()
      const error = page.locator('#error')
      await error.waitFor()
      assert.equal(await error.getAttribute('data-error'), 'unreachable')
      const text = await error.textContent()
      assert.match(text, /cannot be reached/)
      assert.ok(text.includes(`https://localhost:${closed}`) && /ECONNREFUSED/.test(text), text)
    } finally {
      await context.close()
      await down.stop()
    }
  })
})
