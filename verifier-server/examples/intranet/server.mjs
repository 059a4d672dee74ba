#!/usr/bin/env node
// e-approval: a sample intranet application that logs its users in with their worker ID through
// govid's OpenID Connect bridge (`govid-verifier serve` with `[login]`). It is an ordinary
// OpenID Connect Relying Party built on the unmodified openid-client package: nothing here knows
// about wallets or OpenID4VP. Copy it, keep the flow, replace the pages.
//
//   node server.mjs --issuer https://localhost:8443 --client-id e-approval --client-secret S \
//     [--port 8080] [--ca login.crt]
//
// Routes: /  home ("Log in with worker ID", or who is logged in); /login  starts the
// authorization code flow (PKCE S256, state, nonce kept server-side for this browser);
// /callback  exchanges the code, openid-client validates the ID token; /logout.
// --ca: trust the login service's certificate from this PEM file only (instead of the system
// roots). The client secret may come from the environment (CLIENT_SECRET) instead. The app
// listens on 127.0.0.1 only; its redirect URI is http://127.0.0.1:PORT/callback.

import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { parseArgs } from 'node:util'

import * as client from 'openid-client'

const USAGE = 'usage: node server.mjs --issuer URL --client-id ID [--client-secret S] [--port 8080] [--ca CERT.pem]'

// ---- options -------------------------------------------------------------------------------

let opts
try {
  opts = parseArgs({
    options: {
      issuer: { type: 'string' },
      'client-id': { type: 'string', default: 'e-approval' },
      'client-secret': { type: 'string' },
      port: { type: 'string', default: '8080' },
      ca: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values
} catch (error) {
  fail(error.message)
}
if (opts.help) {
  console.log(USAGE)
  process.exit(0)
}
if (!opts.issuer) fail('--issuer is required (the login service, e.g. https://localhost:8443)')
opts['client-secret'] ??= process.env.CLIENT_SECRET // keeps the secret out of `ps`
const port = Number(opts.port)
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port ${opts.port} is not a port number`)
const issuer = new URL(opts.issuer)
const redirectUri = `http://127.0.0.1:${port}/callback`
let caPem
if (opts.ca) {
  try {
    caPem = fs.readFileSync(opts.ca, 'utf8')
  } catch (error) {
    fail(`--ca ${opts.ca}: ${error.message}`)
  }
}

function fail(message) {
  console.error(`e-approval: ${message}\n${USAGE}`)
  process.exit(2)
}

// ---- the OpenID Provider (govid's login service) ------------------------------------------

/**
 * A fetch for openid-client that trusts only the --ca certificate (Node's https module; the
 * global fetch cannot be given a CA per request).
 */
function fetchTrusting(ca) {
  return (url, options = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(url)
      const headers = Object.fromEntries(new Headers(options.headers).entries())
      const body = options.body == null ? undefined : String(options.body)
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
      const mod = target.protocol === 'https:' ? https : http
      const req = mod.request(target, { method: options.method ?? 'GET', headers, ca, timeout: 10000 }, (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const responseHeaders = new Headers()
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of [value].flat()) if (v !== undefined) responseHeaders.append(name, v)
          }
          const empty = res.statusCode === 204 || res.statusCode === 304
          const response = new Response(empty ? null : Buffer.concat(chunks), { status: res.statusCode, headers: responseHeaders })
          Object.defineProperty(response, 'url', { value: target.href })
          resolve(response)
        })
      })
      req.on('timeout', () => req.destroy(new Error(`no answer from ${target.host} within 10 s`)))
      req.on('error', reject)
      options.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true })
      req.end(body)
    })
}

const customFetch = caPem ? { [client.customFetch]: fetchTrusting(caPem) } : {}
let provider // openid-client's Configuration, once discovery has worked

/** The provider's configuration (discovery at ISSUER/.well-known/openid-configuration), cached. */
async function oidc() {
  if (!provider) {
    const secret = opts['client-secret']
    provider = await client.discovery(
      issuer,
      opts['client-id'],
      secret ? { client_secret: secret } : undefined,
      secret ? client.ClientSecretBasic(secret) : client.None(),
      customFetch,
    )
    Object.assign(provider, customFetch)
  }
  return provider
}

// ---- sessions: one per browser, in memory --------------------------------------------------

const SESSION_COOKIE = 'e_approval_session'
const SESSION_LIFETIME_MS = 8 * 3600 * 1000
const sessions = new Map() // id -> { created, login?: {codeVerifier, state, nonce}, user? }

function session(req, res) {
  const id = /(?:^|;\s*)e_approval_session=([A-Za-z0-9_-]{43})(?:;|$)/.exec(req.headers.cookie ?? '')?.[1]
  const now = Date.now()
  for (const [key, s] of sessions) if (now - s.created > SESSION_LIFETIME_MS) sessions.delete(key)
  if (id && sessions.has(id)) return sessions.get(id)
  const fresh = crypto.randomBytes(32).toString('base64url')
  const s = { created: now }
  sessions.set(fresh, s)
  res.setHeader('set-cookie', `${SESSION_COOKIE}=${fresh}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_LIFETIME_MS / 1000}`)
  return s
}

// ---- pages ---------------------------------------------------------------------------------

const escape = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const CSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f3f5f8;color:#1b2430}
header{background:#17365d;color:#fff;padding:14px 28px;font-size:20px;font-weight:600}
main{max-width:640px;margin:40px auto;background:#fff;border-radius:8px;padding:28px 32px;box-shadow:0 1px 4px #0002}
.button{display:inline-block;background:#17365d;color:#fff;border:0;border-radius:6px;padding:12px 22px;font-size:17px;text-decoration:none;cursor:pointer}
.error{border-left:4px solid #b3261e;padding:4px 14px;background:#fbeceb}
dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px}dt{color:#5a6573}dd{margin:0}
code{font-size:13px;word-break:break-all}.small{color:#5a6573;font-size:14px}`

function send(res, status, title, body) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
  })
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · e-approval</title><link rel="stylesheet" href="/style.css"></head>
<body><header>e-approval</header><main>${body}</main></body></html>`)
}

function home(res, user) {
  if (!user) {
    return send(res, 200, 'Welcome', `<h1>e-approval</h1>
<p>Documents waiting for your approval are shown after you log in.</p>
<p><a class="button" id="login" href="/login">Log in with worker ID</a></p>
<p class="small">You log in with the worker ID on your phone: scan the code the login page shows.</p>`)
  }
  const c = user.claims
  send(res, 200, 'Home', `<h1 id="who">Logged in as ${escape(c.given_name)} ${escape(c.family_name)}</h1>
<dl>
<dt>Organization</dt><dd id="organization">${escape(c.organization?.name)}</dd>
<dt>Position</dt><dd id="position">${escape(c.position)}</dd>
<dt>Subject (<code>sub</code>)</dt><dd><code id="sub">${escape(c.sub)}</code></dd>
</dl>
<p class="small">No documents are waiting for your approval.</p>
<form method="post" action="/logout"><button class="button" id="logout">Log out</button></form>`)
}

function errorPage(res, status, error, description) {
  const text = {
    access_denied: 'The login was declined in the wallet, or the worker ID was not accepted.',
    unreachable: 'The login service cannot be reached.',
  }[error] ?? 'The login did not succeed.'
  send(res, status, 'Login failed', `<h1>Not logged in</h1>
<div class="error" id="error" data-error="${escape(error)}"><p><strong>${escape(text)}</strong></p>
<p><code>${escape(error)}</code>: ${escape(description)}</p></div>
<p><a class="button" href="/">Back to e-approval</a></p>`)
}

/** An error's message with its causes ("fetch failed: connect ECONNREFUSED …"). */
function why(error) {
  const parts = []
  for (let e = error; e && parts.length < 4; e = e.cause) parts.push(e.message ?? String(e))
  return parts.join(': ')
}

/** Whether `error` is a network failure (the login service down, refused, timed out). */
function unreachable(error) {
  for (let e = error; e; e = e.cause) if (/^(ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH)$/.test(e.code) || /no answer from/.test(e.message)) return true
  return false
}

// ---- routes --------------------------------------------------------------------------------

async function startLogin(req, res) {
  let config
  try {
    config = await oidc()
  } catch (error) {
    console.error(`e-approval: discovery at ${issuer.href} failed: ${why(error)}`)
    return errorPage(res, 502, 'unreachable', `${issuer.origin}: ${why(error)}`)
  }
  const login = {
    codeVerifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
  }
  session(req, res).login = login
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(login.codeVerifier),
    code_challenge_method: 'S256',
    state: login.state,
    nonce: login.nonce,
  })
  res.writeHead(303, { location: url.href, 'cache-control': 'no-store' })
  res.end()
}

async function callback(req, res) {
  const s = session(req, res)
  const login = s.login
  delete s.login // one callback per login
  if (!login) return errorPage(res, 400, 'no_login', 'this login was not started in this browser, or it was already used: log in again')
  try {
    const config = await oidc()
    const tokens = await client.authorizationCodeGrant(config, new URL(req.url, redirectUri), {
      pkceCodeVerifier: login.codeVerifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    })
    s.user = { claims: tokens.claims() } // validated by openid-client: signature, iss, aud, exp, nonce
    console.log(`e-approval: logged in sub=${s.user.claims.sub}`)
    res.writeHead(303, { location: '/', 'cache-control': 'no-store' })
    res.end()
  } catch (error) {
    if (error instanceof client.AuthorizationResponseError || error instanceof client.ResponseBodyError) {
      return errorPage(res, 400, error.error, error.error_description ?? error.message)
    }
    if (unreachable(error)) return errorPage(res, 502, 'unreachable', `${issuer.origin}: ${why(error)}`)
    errorPage(res, 400, error?.code ?? 'login_failed', why(error)) // e.g. a failed ID token check
  }
}

const server = http.createServer(async (req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1')
  try {
    if (req.method === 'GET' && pathname === '/') return home(res, session(req, res).user)
    if (req.method === 'GET' && pathname === '/style.css') {
      res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'max-age=3600' })
      return res.end(CSS)
    }
    if (req.method === 'GET' && pathname === '/login') return await startLogin(req, res)
    if (req.method === 'GET' && pathname === '/callback') return await callback(req, res)
    if (pathname === '/logout' && (req.method === 'POST' || req.method === 'GET')) {
      delete session(req, res).user
      res.writeHead(303, { location: '/' })
      return res.end()
    }
    send(res, 404, 'Not found', '<h1>Not found</h1><p><a href="/">e-approval</a></p>')
  } catch (error) {
    console.error(error)
    if (!res.headersSent) send(res, 500, 'Error', '<h1>Something went wrong</h1>')
  }
})

server.on('error', (error) => {
  console.error(`e-approval: cannot listen on 127.0.0.1:${port}: ${error.message}`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${port} (e-approval at http://127.0.0.1:${port}/, login service ${issuer.origin}, redirect URI ${redirectUri})`)
  // Find out early whether the login service answers; /login tries again if not.
  oidc().catch((error) => console.error(`e-approval: the login service ${issuer.origin} is not reachable yet: ${why(error)}`))
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)).closeAllConnections())
