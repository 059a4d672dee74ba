// Test helpers: start a server process that prints `listening on ADDR`, read its JSON lines, run
// wallet.mjs and the govid binaries.

import { spawn, execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

export const HERE = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
export const REPO = path.resolve(HERE, '../../..')

/** The govid binaries' directory: $CARGO_TARGET_DIR/debug, CARGO_TARGET_DIR defaulting to ~/.cache/govid-target. */
export function govidBin(name, envName) {
  if (process.env[envName]) return process.env[envName]
  const target = process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache/govid-target')
  return path.join(target, 'debug', name)
}

/** Fails with a message saying how to build `bin` if it is missing. */
export function requireBinary(bin, build) {
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: build it with \`${build}\` (or point the environment variable at it)`)
}

export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

/**
 * Spawns `cmd args`, resolves once it printed `listening on ADDR` with `{child, addr, lines,
 * nextLine(predicate), stop()}`; `lines` collects every later stdout line.
 */
export function startServer(cmd, args, { env, cwd, timeoutMs = 20000 } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const lines = []
  const waiters = []
  const rl = readline.createInterface({ input: child.stdout })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${cmd} did not print "listening on" within ${timeoutMs} ms; stderr:\n${stderr}`))
    }, timeoutMs)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${cmd} ${args.join(' ')} exited (${code ?? signal}) before listening; stderr:\n${stderr}`))
    })
    let addr
    rl.on('line', (line) => {
      if (addr === undefined) {
        const m = /^listening on (\S+)/.exec(line)
        if (!m) return
        addr = m[1]
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve({
          child,
          addr,
          lines,
          stderr: () => stderr,
          nextLine: (predicate, ms = 10000) => waitLine(lines, waiters, predicate, ms),
          stop: () => stop(child),
        })
        return
      }
      lines.push(line)
      for (const w of [...waiters]) w()
    })
  })
}

function waitLine(lines, waiters, predicate, ms) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = lines.find(predicate)
      if (found === undefined) return false
      waiters.splice(waiters.indexOf(check), 1)
      clearTimeout(timer)
      resolve(found)
      return true
    }
    const timer = setTimeout(() => {
      waiters.splice(waiters.indexOf(check), 1)
      reject(new Error(`no matching output line within ${ms} ms; got:\n${lines.join('\n')}`))
    }, ms)
    waiters.push(check)
    check()
  })
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/** Runs a command; resolves `{code, stdout, stderr}` (never rejects on a non-zero exit). */
export function run(cmd, args, { input, env, cwd, timeoutMs = 60000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`${cmd} failed to run: ${error.message}\n${stderr}`))
      resolve({ code: error ? error.code : 0, stdout, stderr })
    })
    if (input !== undefined) child.stdin.end(input)
    else child.stdin.end()
  })
}

/** Runs wallet.mjs; resolves `{code, json, stderr}` with its one stdout JSON object. */
export async function runWallet(args, opts) {
  const result = await run(process.execPath, [path.join(HERE, 'wallet.mjs'), ...args], opts)
  let json
  try {
    json = JSON.parse(result.stdout.trim().split('\n').at(-1))
  } catch {
    throw new Error(`wallet.mjs printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`)
  }
  return { code: result.code, json, stderr: result.stderr }
}

/** Decodes the issuer JWT payload of an SD-JWT. */
export function issuerPayload(sdJwt) {
  return JSON.parse(Buffer.from(sdJwt.split('~')[0].split('.')[1], 'base64url').toString())
}
