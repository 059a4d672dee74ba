#!/usr/bin/env node
// An unmodified OpenID Connect Relying Party built on openid-client 6.8.9 (panva): discovery,
// the authorization code flow with PKCE (S256), `state` and `nonce`, the code exchanged at the
// token endpoint, the ID token validated by the package (signature with the OP's jwks_uri, iss,
// aud, exp, iat, nonce), and the UserInfo response. Nothing here knows about OpenID4VP: the OP
// (govid's login bridge) does the presentation behind its /authorize page.
//
// Usage: node oidc_client.mjs --issuer URL --client-id ID [--client-secret S] --redirect-uri URI
//          [--ca CERT.pem] [--auth basic|post] [--scope "openid profile"] [--timeout SECS] [--trace]
//
// The redirect URI must be http on a loopback address (`http://127.0.0.1:PORT/callback`): the
// client listens there for the one callback. With --client-secret it authenticates at the token
// endpoint with client_secret_basic (default) or client_secret_post; without, as a public client
// (PKCE only, `none`).
//
// stdout: {"authorization_url": "…"} once discovery is done and the listener is up; then
//   {"id_token_claims": {…}, "userinfo": {…}} (userinfo only when the OP has a userinfo_endpoint),
//   exit 0; or {"error": "…", "status"?, "description": "…"}, exit 1 (`discovery_failed` when
//   discovery fails, the OP's error code from the callback or the token endpoint, or
//   openid-client's code for a failed check such as OAUTH_JWT_CLAIM_COMPARISON_FAILED).
// Exit 2: wrong usage.

import http from 'node:http'

import * as client from 'openid-client'

import { isLoopback, tlsFetch, trustAnchors } from './lib/net.mjs'

const USAGE = 'usage: node oidc_client.mjs --issuer URL --client-id ID [--client-secret S] --redirect-uri URI [--ca CERT.pem] [--auth basic|post] [--scope S] [--timeout SECS] [--trace]'

function parseArgs(argv) {
  const opts = { auth: 'basic', scope: 'openid', timeout: 300, trace: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--issuer') opts.issuer = value()
    else if (a === '--client-id') opts.clientId = value()
    else if (a === '--client-secret') opts.clientSecret = value()
    else if (a === '--redirect-uri') opts.redirectUri = value()
    else if (a === '--ca') opts.ca = value()
    else if (a === '--auth') opts.auth = value()
    else if (a === '--scope') opts.scope = value()
    else if (a === '--timeout') opts.timeout = Number(value())
    else if (a === '--trace') opts.trace = true
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else usage(`unknown argument ${a}`)
  }
  if (!opts.issuer || !opts.clientId || !opts.redirectUri) usage('--issuer, --client-id and --redirect-uri are required')
  if (!['basic', 'post'].includes(opts.auth)) usage('--auth is basic or post')
  let redirect
  try {
    redirect = new URL(opts.redirectUri)
  } catch {
    usage('--redirect-uri is not a URL')
  }
  if (redirect.protocol !== 'http:' || !isLoopback(redirect.href) || !redirect.port) usage('--redirect-uri must be http://127.0.0.1:PORT/… (or localhost) with an explicit port: the client listens there')
  if (!opts.scope.split(' ').includes('openid')) usage('--scope must include openid')
  return opts
}

function usage(message) {
  process.stderr.write(`oidc_client.mjs: ${message}\n${USAGE}\n`)
  process.exit(2)
}

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`)

/** openid-client's errors as `{error, status?, description}`. */
function describe(error) {
  const first = (t) => String(t ?? '').split('\n')[0]
  if (error instanceof client.AuthorizationResponseError || error instanceof client.ResponseBodyError) {
    return { error: error.error, ...(error.status ? { status: error.status } : {}), description: error.error_description ?? first(error.message) }
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const c = error.cause?.[0]
    return { error: c?.parameters?.error ?? 'invalid_token', status: error.status, description: c?.parameters?.error_description ?? first(error.message) }
  }
  const cause = error?.cause instanceof Error ? `: ${first(error.cause.message)}` : ''
  return { error: error?.code ?? 'client_error', description: `${first(error?.message ?? error)}${cause}` }
}

async function main(opts) {
  const fetch = tlsFetch({ ca: trustAnchors(opts.ca) })
  const clientAuth = opts.clientSecret === undefined ? client.None() : opts.auth === 'post' ? client.ClientSecretPost(opts.clientSecret) : client.ClientSecretBasic(opts.clientSecret)
  let config
  try {
    config = await client.discovery(new URL(opts.issuer), opts.clientId, opts.clientSecret === undefined ? undefined : { client_secret: opts.clientSecret }, clientAuth, {
      [client.customFetch]: fetch,
    })
  } catch (error) {
    const d = describe(error)
    return { error: 'discovery_failed', description: `OpenID Provider discovery at ${opts.issuer}/.well-known/openid-configuration failed: ${d.error}: ${d.description}` }
  }
  config[client.customFetch] = fetch
  if (opts.trace) process.stderr.write(`oidc_client: discovered ${config.serverMetadata().issuer}\n`)

  const codeVerifier = client.randomPKCECodeVerifier()
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: opts.redirectUri,
    scope: opts.scope,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })

  const redirect = new URL(opts.redirectUri)
  return new Promise((resolve) => {
    let done = false
    const server = http.createServer(async (req, res) => {
      const current = new URL(req.url, redirect.origin)
      if (req.method !== 'GET' || current.pathname !== redirect.pathname || done) {
        res.writeHead(404, { 'content-type': 'text/plain' })
        return res.end('not found\n')
      }
      done = true
      let result
      try {
        const tokens = await client.authorizationCodeGrant(config, current, { pkceCodeVerifier: codeVerifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true })
        const claims = tokens.claims()
        result = { id_token_claims: claims }
        if (config.serverMetadata().userinfo_endpoint) result.userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
      } catch (error) {
        if (opts.trace) process.stderr.write(`${error?.stack ?? error}\n`)
        result = describe(error)
      }
      res.writeHead(result.error ? 400 : 200, { 'content-type': 'text/plain; charset=utf-8' })
      res.end(result.error ? `login failed: ${result.error}\n` : 'logged in; you may close this window\n')
      server.close()
      resolve(result)
    })
    server.once('error', (error) => resolve({ error: 'listen_failed', description: `cannot listen on ${redirect.host}: ${error.message}` }))
    server.listen(Number(redirect.port), redirect.hostname === 'localhost' ? '127.0.0.1' : redirect.hostname.replace(/^\[|\]$/g, ''), () => {
      out({ authorization_url: authorizationUrl.href })
    })
    setTimeout(() => {
      if (done) return
      server.close()
      resolve({ error: 'timeout', description: `no callback at ${opts.redirectUri} within ${opts.timeout} s` })
    }, opts.timeout * 1000).unref()
  })
}

const opts = parseArgs(process.argv.slice(2))
const result = await main(opts)
out(result)
process.exit(result.error ? 1 : 0)
