// Test helpers: the OpenID4VCI harness's process helpers (start a server that prints
// `listening on ADDR`, run a command, the govid binaries), plus what this harness needs: a
// throwaway TLS certificate (openssl CLI), verifier.mjs and wallet.mjs, and a credential from
// the OpenID4VCI harness's own issuer and wallet (../oid4vci, with its own node_modules).

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import { govidBin, issuerPayload, requireBinary, run, startServer, tempDir } from '../../oid4vci/lib/proc.mjs'

export { govidBin, issuerPayload, requireBinary, run, startServer, tempDir }

export const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
export const REPO = path.resolve(HERE, '../../..')
export const OID4VCI = path.resolve(HERE, '../oid4vci')

/** Runs a script of this folder (or `dir`) with node; `{code, json, stdout, stderr}` with the last stdout line as JSON. */
export async function runScript(script, args, opts = {}) {
  const result = await run(process.execPath, [path.join(opts.dir ?? HERE, script), ...args], opts)
  let json
  try {
    json = JSON.parse(result.stdout.trim().split('\n').at(-1))
  } catch {
    throw new Error(`${script} printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
  return { code: result.code, json, stdout: result.stdout, stderr: result.stderr }
}

export const runWallet = (args, opts) => runScript('wallet.mjs', args, opts)

/** A self-signed P-256 certificate for localhost and 127.0.0.1 in `dir`: `{cert, key}` paths. */
export async function makeCert(dir) {
  const cert = path.join(dir, 'tls.crt')
  const key = path.join(dir, 'tls.key')
  const r = await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ])
  if (r.code !== 0) throw new Error(`openssl req failed:\n${r.stderr}`)
  fs.chmodSync(key, 0o600)
  return { cert, key }
}

/**
 * Starts verifier.mjs; resolves `{server, port, requests: [{authorization_request, client_id,
 * nonce, state}], result(ms)}` where `result` waits for the next `{"result": …}` line.
 */
export async function startVerifier(args, opts) {
  const server = await startServer(process.execPath, [path.join(HERE, 'verifier.mjs'), ...args], opts)
  const port = Number(server.addr.split(':').at(-1))
  const count = Number(args[args.indexOf('--requests') + 1]) || 1
  const requests = []
  for (let i = 0; i < count; i++) {
    const line = await server.nextLine((l) => l.startsWith('{"authorization_request"') && !requests.some((r) => r.line === l))
    requests.push({ line, ...JSON.parse(line) })
  }
  let seen = 0
  const result = async (ms = 10000) => {
    const n = seen++
    const line = await server.nextLine(() => server.lines.filter((l) => l.startsWith('{"result"')).length > n, ms)
    void line
    return JSON.parse(server.lines.filter((l) => l.startsWith('{"result"'))[n])
  }
  return { server, port, requests, result }
}

/**
 * A worker ID from the OpenID4VCI harness (issuer.mjs + wallet.mjs, run from ../oid4vci): one
 * per `alg` of `algs`, in `dir/<alg>/` (`worker_id.sd-jwt`, `holder.jwk`); the issuer's JWKS
 * in `dir/issuer.jwks.json`.
 */
export async function issueCredentials(dir, vct, algs) {
  if (!fs.existsSync(path.join(OID4VCI, 'node_modules'))) {
    throw new Error(`${OID4VCI}/node_modules is missing: run \`npm ci\` there (scripts/setup does)`)
  }
  const jwks = path.join(dir, 'issuer.jwks.json')
  const issuer = await startServer(process.execPath, [path.join(OID4VCI, 'issuer.mjs'), '--port', '0', '--vct', vct, '--offers', String(algs.length), '--jwk-out', jwks], { cwd: OID4VCI })
  try {
    const offers = []
    for (let i = 0; i < algs.length; i++) {
      offers.push(await issuer.nextLine((l) => l.startsWith('{"offer_uri"') && !offers.includes(l)))
    }
    const out = {}
    for (const [i, alg] of algs.entries()) {
      const { offer_uri: uri, tx_code: pin } = JSON.parse(offers[i])
      const target = path.join(dir, alg)
      const r = await runScript('wallet.mjs', [uri, pin, '--alg', alg, '--out', target], { dir: OID4VCI, cwd: OID4VCI })
      if (r.code !== 0) throw new Error(`../oid4vci/wallet.mjs failed: ${JSON.stringify(r.json)}\n${r.stderr}`)
      out[alg] = { credential: path.join(target, 'worker_id.sd-jwt'), holderKey: path.join(target, 'holder.jwk'), holderJwk: r.json.holder_jwk }
    }
    return { jwks, credentials: out }
  } finally {
    await issuer.stop()
  }
}
