// wallet.mjs (the @openid4vc/openid4vci wallet side, written by nobody here) against govid's own
// OpenID4VCI issuer, `govid-issuer serve`, to the contract in README.md: an issuer directory
// with the sample roster, `serve` on loopback, `offer N --json` for the offer and PIN, the
// wallet's worker ID and gate pass checked with `govid-verifier check --sd-jwt-vc`, and the
// spec's `invalid_grant` for a wrong PIN and for a used pre-authorized code.
//
// Nothing is skipped: a govid-issuer without `serve` fails here with a message saying so.
// Not yet registered in scripts/test.d (it cannot pass before govid's issuer lands).
// Run: node --test govid_issuer.test.mjs   (GOVID_ISSUER, GOVID_VERIFIER, or
//      $CARGO_TARGET_DIR/debug/, CARGO_TARGET_DIR defaulting to ~/.cache/govid-target)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

import { thumbprint } from './lib/crypto.mjs'
import { REPO, govidBin, issuerPayload, requireBinary, run, runWallet, startServer, tempDir } from './lib/proc.mjs'

const ISSUER = govidBin('govid-issuer', 'GOVID_ISSUER')
const VERIFIER = govidBin('govid-verifier', 'GOVID_VERIFIER')
const ROSTER = path.join(REPO, 'testdata/roster/sample-20.csv')
const WORKER_ID_VCT = 'https://govid.example/vct/worker-id/v1'
const GATE_PASS_VCT = 'https://govid.example/vct/worker-gate-pass/v1'

/** A port free a moment ago (the public URL must name the port before `serve` binds it). */
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

async function issuerCli(dir, args) {
  const result = await run(ISSUER, ['--dir', dir, ...args], { env: { GOVID_ISSUER_DIR: '' } })
  assert.equal(result.code, 0, `govid-issuer ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`)
  return result
}

/** `offer N --json` → {offer_uri, tx_code} (`.openid4vci`, per the contract). */
async function offer(dir, employeeNumber) {
  const { stdout } = await issuerCli(dir, ['--json', 'offer', employeeNumber])
  const json = JSON.parse(stdout.trim().split('\n').at(-1))
  const vci = json.openid4vci ?? json.offers?.[0]?.openid4vci
  assert.ok(vci, `offer --json has no openid4vci member:\n${stdout}`)
  assert.match(vci.offer_uri, /^openid-credential-offer:\/\/\?credential_offer_uri=/)
  assert.match(vci.tx_code, /^[0-9]{6}$/, 'tx_code is numeric, length 6')
  return vci
}

describe('wallet.mjs against govid-issuer serve', { timeout: 180000 }, () => {
  let work
  let dir
  let server
  let publicUrl
  const jwks = () => path.join(dir, 'public', 'jwks.json')

  before(async () => {
    requireBinary(ISSUER, 'cargo build --locked -p govid-issuer')
    requireBinary(VERIFIER, 'cargo build --locked -p govid-verifier')
    const help = await run(ISSUER, ['serve', '--help'])
    if (help.code !== 0) {
      throw new Error(`${ISSUER} has no \`serve\` subcommand: govid's OpenID4VCI issuer is not in this build (${help.stderr.trim().split('\n')[0]})`)
    }
    work = tempDir('govid-oid4vci-govid-')
    dir = path.join(work, 'issuer')
    await issuerCli(dir, ['init', '--name', 'Ministry of Transport HR Office', '--did-web', 'hr.mot.example'])
    await issuerCli(dir, ['staff', 'import', ROSTER])
    let lastError
    for (let attempt = 0; attempt < 3 && !server; attempt++) {
      const port = await freePort()
      publicUrl = `http://127.0.0.1:${port}`
      try {
        server = await startServer(ISSUER, ['--dir', dir, 'serve', '--listen', `127.0.0.1:${port}`, '--public-url', publicUrl], {
          env: { GOVID_ISSUER_DIR: '' },
        })
      } catch (error) {
        lastError = error // the port was taken in between: try another
      }
    }
    if (!server) throw lastError
    assert.equal(server.addr, `127.0.0.1:${new URL(publicUrl).port}`)
  })

  after(async () => {
    await server?.stop()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  const issued = {}

  for (const [employee, alg] of [['MOT-0001', 'ES256'], ['MOT-0002', 'EdDSA']]) {
    test(`${employee}, ${alg}: worker ID and gate pass over OpenID4VCI, accepted by govid-verifier`, async () => {
      const { offer_uri: uri, tx_code: pin } = await offer(dir, employee)
      const { code, json, stderr } = await runWallet([uri, pin, '--alg', alg, '--out', path.join(work, employee)])
      assert.equal(code, 0, `wallet.mjs: ${JSON.stringify(json)}\n${stderr}`)
      assert.equal(json.issuer, publicUrl)
      assert.deepEqual(Object.keys(json.credentials).sort(), ['gate_pass', 'worker_id'])
      for (const [id, vct] of [['worker_id', WORKER_ID_VCT], ['gate_pass', GATE_PASS_VCT]]) {
        const payload = issuerPayload(json.credentials[id])
        assert.equal(payload.vct, vct)
        assert.equal(thumbprint(payload.cnf.jwk), thumbprint(json.holder_jwk), `${id} is bound to the proof's key`)
        const check = await run(VERIFIER, ['check', '--sd-jwt-vc', '--issuer-jwk', jwks()], { input: json.credentials[id] })
        assert.equal(check.code, 0, `govid-verifier check refused the ${id}:\n${check.stdout}\n${check.stderr}`)
        if (id === 'worker_id') assert.equal(JSON.parse(check.stdout).employee_number, employee)
      }
      for (const [id, status] of Object.entries(json.notifications)) assert.ok(status >= 200 && status < 300, `notification for ${id}: ${status}`)
      assert.deepEqual(Object.keys(json.notifications).sort(), ['gate_pass', 'worker_id'], 'a notification_id per credential response')
      issued[employee] = { uri, pin }
    })
  }

  test('a used pre-authorized code is invalid_grant (4.1.1: single use; 6.3)', async (t) => {
    const used = issued['MOT-0001']
    assert.ok(used, 'needs the MOT-0001 test to have passed')
    const { code, json } = await runWallet([used.uri, used.pin])
    assert.equal(code, 1)
    assert.deepEqual([json.error, json.status], ['invalid_grant', 400], JSON.stringify(json))
  })

  test('a wrong PIN is invalid_grant through the third-party client (6.3)', async () => {
    const { offer_uri: uri, tx_code: pin } = await offer(dir, 'MOT-0003')
    const { code, json } = await runWallet([uri, pin, '--wrong-pin'])
    assert.equal(code, 1)
    assert.deepEqual([json.error, json.status], ['invalid_grant', 400], JSON.stringify(json))
  })
})
