// The harness proven against itself: wallet.mjs (the package's wallet side) against issuer.mjs
// (the package's issuer side) over loopback HTTP, with DPoP and a Transaction Code, both
// configurations, both algorithms, a wrong PIN (invalid_grant) and a replayed code; and the
// credentials issuer.mjs makes are checked by govid's own verifier (`govid-verifier check
// --sd-jwt-vc`), so the foreign issuer really issues what govid accepts.
//
// Run: node --test selftest.mjs   (GOVID_VERIFIER, or $CARGO_TARGET_DIR/debug/govid-verifier)

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'

import { thumbprint } from './lib/crypto.mjs'
import { HERE, govidBin, issuerPayload, requireBinary, run, runWallet, startServer, tempDir } from './lib/proc.mjs'
import { wrongPin } from './wallet.mjs'

const WORKER_ID_VCT = 'https://govid.example/vct/worker-id/v1'
const GATE_PASS_VCT = 'https://govid.example/vct/worker-gate-pass/v1'
const VERIFIER = govidBin('govid-verifier', 'GOVID_VERIFIER')

describe('wallet.mjs against issuer.mjs', { timeout: 120000 }, () => {
  let issuer
  let offers
  let work
  const jwksFile = () => path.join(work, 'issuer.jwks.json')

  before(async () => {
    work = tempDir('govid-oid4vci-')
    issuer = await startServer(process.execPath, [
      path.join(HERE, 'issuer.mjs'), '--port', '0', '--vct', WORKER_ID_VCT, '--gate-pass-vct', GATE_PASS_VCT,
      '--offers', '4', '--jwk-out', jwksFile(),
    ])
    offers = []
    for (let i = 0; i < 4; i++) {
      const line = await issuer.nextLine((l) => l.startsWith('{"offer_uri"') && !offers.includes(l))
      offers.push(line)
    }
    offers = offers.map((l) => JSON.parse(l))
  })

  after(async () => {
    await issuer?.stop()
    if (work) fs.rmSync(work, { recursive: true, force: true })
  })

  test('the offer line names a loopback credential_offer_uri, a 6-digit PIN and the issuer JWKS', () => {
    const { offer_uri: uri, tx_code: pin, issuer_jwks: jwks } = offers[0]
    const url = new URL(uri)
    assert.equal(url.protocol, 'openid-credential-offer:')
    assert.match(url.searchParams.get('credential_offer_uri'), new RegExp(`^http://${issuer.addr.replace(/\./g, '\\.')}/offers/`))
    assert.match(pin, /^[0-9]{6}$/)
    assert.equal(jwks.keys.length, 1)
    assert.deepEqual(JSON.parse(fs.readFileSync(jwksFile(), 'utf8')), jwks)
  })

  for (const [index, alg] of [[0, 'ES256'], [1, 'EdDSA']]) {
    test(`${alg}: both configurations with DPoP and the PIN, bound to one holder key, notified`, async () => {
      const { offer_uri: uri, tx_code: pin } = offers[index]
      const out = path.join(work, `wallet-${alg}`)
      const { code, json, stderr } = await runWallet([uri, pin, '--alg', alg, '--out', out])
      assert.equal(code, 0, `${JSON.stringify(json)}\n${stderr}`)
      assert.equal(json.issuer, `http://${issuer.addr}`)
      assert.deepEqual(Object.keys(json.credentials).sort(), ['gate_pass', 'worker_id'])
      assert.equal(json.holder_private_jwk.alg, alg)
      assert.equal(json.holder_private_jwk.x, json.holder_jwk.x)
      assert.ok(json.holder_private_jwk.d, 'private JWK has d')
      assert.equal(json.holder_jwk.d, undefined)
      for (const [id, vct] of [['worker_id', WORKER_ID_VCT], ['gate_pass', GATE_PASS_VCT]]) {
        const payload = issuerPayload(json.credentials[id])
        assert.equal(payload.vct, vct)
        assert.equal(payload.iss, json.issuer)
        assert.equal(thumbprint(payload.cnf.jwk), thumbprint(json.holder_jwk), `${id} is bound to the holder key`)
        assert.equal(fs.readFileSync(path.join(out, `${id}.sd-jwt`), 'utf8'), json.credentials[id])
      }
      assert.deepEqual(json.notifications, { worker_id: 204, gate_pass: 204 })
      // issuer.mjs prints one line per notification it accepted; this is run number index + 1.
      for (const id of ['worker_id', 'gate_pass']) {
        const accepted = () =>
          issuer.lines.filter((l) => {
            const n = l.startsWith('{"notification"') && JSON.parse(l).notification
            return n && n.event === 'credential_accepted' && n.credential_configuration_id === id
          })
        await issuer.nextLine(() => accepted().length >= index + 1)
      }
    })
  }

  test('govid-verifier accepts the worker ID and the gate pass issuer.mjs issued', async () => {
    requireBinary(VERIFIER, 'cargo build --locked -p govid-verifier')
    const result = JSON.parse(fs.readFileSync(path.join(work, 'wallet-ES256', 'result.json'), 'utf8'))
    for (const id of ['worker_id', 'gate_pass']) {
      const check = await run(VERIFIER, ['check', '--sd-jwt-vc', '--issuer-jwk', jwksFile()], { input: result.credentials[id] })
      assert.equal(check.code, 0, `govid-verifier check refused ${id}:\n${check.stdout}\n${check.stderr}`)
      const disclosed = JSON.parse(check.stdout)
      assert.equal(disclosed.given_name, 'Amira')
      assert.deepEqual(disclosed.organization, { name: 'Ministry of Transport', code: 'MOT' })
      if (id === 'worker_id') assert.equal(disclosed.employee_number, 'MOT-0001')
    }
  })

  test('a wrong PIN is invalid_grant through the third-party client; the code survives it; a replay is invalid_grant', async () => {
    const { offer_uri: uri, tx_code: pin } = offers[2]
    const wrong = await runWallet([uri, pin, '--wrong-pin'])
    assert.equal(wrong.code, 1)
    assert.equal(wrong.json.error, 'invalid_grant', JSON.stringify(wrong.json))
    assert.equal(wrong.json.status, 400)
    assert.equal(typeof wrong.json.description, 'string')

    const right = await runWallet([uri, pin])
    assert.equal(right.code, 0, JSON.stringify(right.json))

    const replay = await runWallet([uri, pin])
    assert.equal(replay.code, 1)
    assert.deepEqual([replay.json.error, replay.json.status], ['invalid_grant', 400])
  })

  test('a PIN of the wrong character set gets the same answer (input_mode is a hint, 4.1.1)', async () => {
    const { offer_uri: uri } = offers[3]
    const wrong = await runWallet([uri, 'abcdef'])
    assert.equal(wrong.code, 1)
    assert.deepEqual([wrong.json.error, wrong.json.status], ['invalid_grant', 400])
  })

  test('wrongPin keeps length and character set', () => {
    assert.equal(wrongPin('123456'), '123457')
    assert.equal(wrongPin('000009'), '000000')
    assert.equal(wrongPin('ab'), 'ax')
  })
})

describe('wallet.mjs usage', () => {
  test('no arguments: exit 2 with usage', async () => {
    const result = await run(process.execPath, [path.join(HERE, 'wallet.mjs')])
    assert.equal(result.code, 2)
    assert.match(result.stderr, /usage: node wallet\.mjs/)
  })

  test('an offer by value is refused as interop_check_failed (govid offers by reference)', async () => {
    const offer = `openid-credential-offer://?credential_offer=${encodeURIComponent('{}')}`
    const { code, json } = await runWallet([offer, '123456'])
    assert.equal(code, 1)
    assert.equal(json.error, 'interop_check_failed')
  })
})
