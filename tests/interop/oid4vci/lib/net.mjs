// Plain HTTP only on loopback. The @openid4vc packages reject every `http://` URL unless their
// global `allowInsecureUrls` is set; this harness sets it only when the service it talks to is
// on 127.0.0.1 / ::1 / localhost, and its fetch callback still refuses plain HTTP to any other
// host, so a metadata document pointing elsewhere over http cannot slip through.

import { setGlobalConfig } from '@openid4vc/utils'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/** Whether `url` is `http(s)://` on a loopback host. */
export function isLoopback(url) {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname)
  } catch {
    return false
  }
}

/** Lets the @openid4vc packages accept `http://` URLs (process-wide). */
export function allowHttpForLoopback() {
  setGlobalConfig({ allowInsecureUrls: true })
}

/**
 * A fetch for the package's `fetch` callback: https anywhere, http only on loopback; records
 * each exchange in `log` (`{method, url, status, contentType, dpopNonce}`) so callers can check
 * which documents were fetched and pick up `DPoP-Nonce` headers the package does not surface.
 */
export function guardedFetch(log = []) {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input.url
    const parsed = new URL(url)
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(url))) {
      throw new Error(`refusing ${parsed.protocol} request to ${parsed.host}: plain HTTP is allowed on loopback only`)
    }
    const response = await fetch(input, init)
    log.push({
      method: (init?.method ?? 'GET').toUpperCase(),
      url,
      status: response.status,
      contentType: response.headers.get('content-type'),
      dpopNonce: response.headers.get('dpop-nonce') ?? undefined,
    })
    return response
  }
}
