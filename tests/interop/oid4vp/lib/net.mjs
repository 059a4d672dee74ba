// HTTPS for the harness: a `fetch` for the @openid4vc callbacks (and openid-client's
// customFetch) on Node's `https` module, so that a test CA given with `--ca` is trusted on top
// of the system roots without a process-wide setting. It refuses plain HTTP except to loopback,
// always checks the server certificate (OpenID4VP 1.0 §14.7: RFC 6125), and records each
// exchange in `log` (`{method, url, status, contentType}`).

import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import tls from 'node:tls'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** Whether `url` is on a loopback host. */
export function isLoopback(url) {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname)
  } catch {
    return false
  }
}

/** The trust anchors: the system roots plus the PEM file `caFile`, if given. */
export function trustAnchors(caFile) {
  return caFile ? [...tls.rootCertificates, fs.readFileSync(caFile, 'utf8')] : undefined
}

/**
 * A WHATWG-style fetch over `https` (and `http` to loopback only) trusting `ca` (PEM strings;
 * undefined: Node's defaults, which include NODE_EXTRA_CA_CERTS). Returns a global `Response`.
 */
export function tlsFetch({ ca, log = [], maxBytes = 4 << 20 } = {}) {
  return async (input, init = {}) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url)
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.href))) {
      throw new Error(`refusing ${url.protocol} request to ${url.host}: https only (plain HTTP on loopback only)`)
    }
    const method = (init.method ?? 'GET').toUpperCase()
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries())
    let body = init.body
    if (body instanceof URLSearchParams) {
      body = body.toString()
      headers['content-type'] ??= 'application/x-www-form-urlencoded'
    }
    if (body !== undefined && body !== null) headers['content-length'] = String(Buffer.byteLength(body))
    const mod = url.protocol === 'https:' ? https : http
    const response = await new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, ...(url.protocol === 'https:' && ca ? { ca } : {}), timeout: 15000 }, (res) => {
        const chunks = []
        let size = 0
        res.on('data', (chunk) => {
          size += chunk.length
          if (size > maxBytes) req.destroy(new Error(`response from ${url.href} larger than ${maxBytes} bytes`))
          else chunks.push(chunk)
        })
        res.on('end', () => {
          const h = new Headers()
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) v.forEach((x) => h.append(k, x))
            else if (v !== undefined) h.set(k, v)
          }
          const status = res.statusCode
          const noBody = status === 204 || status === 304 || method === 'HEAD'
          const r = new Response(noBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: h })
          Object.defineProperty(r, 'url', { value: url.href })
          resolve(r)
        })
        res.on('error', reject)
      })
      req.on('timeout', () => req.destroy(new Error(`request to ${url.href} timed out`)))
      req.on('error', reject)
      if (init.signal) init.signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true })
      if (body !== undefined && body !== null) req.write(body)
      req.end()
    })
    log.push({ method, url: url.href, status: response.status, contentType: response.headers.get('content-type') })
    return response
  }
}

/** Reads a request body up to `limit` bytes (rejects with status 413 beyond). */
export function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (chunk) => {
      size += chunk.length
      if (size > limit) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }))
        req.destroy()
      } else chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** Sends a JSON answer with `Cache-Control: no-store`. */
export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(text)
}
