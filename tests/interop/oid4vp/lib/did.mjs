// did:web resolution (W3C did:web method, https://w3c-ccg.github.io/did-method-web/), the
// DID resolution the @openid4vc packages leave to the caller's verifyJwt callback: for the
// `decentralized_identifier` Client Identifier Prefix (OpenID4VP 1.0 §5.9.3) the key comes from
// the `verificationMethod` of the DID document, picked by the JWS `kid`.

/** The URL of a did:web DID's document: `did:web:localhost%3A8443` → `https://localhost:8443/.well-known/did.json`. */
export function didWebDocumentUrl(did) {
  const m = /^did:web:([^#?/]+)$/.exec(did)
  if (!m) throw new Error(`not a did:web DID: ${did}`)
  const segments = m[1].split(':').map((s) => decodeURIComponent(s))
  const [host, ...path] = segments
  if (!host || host.includes('/') || segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/'))) {
    throw new Error(`malformed did:web DID: ${did}`)
  }
  const origin = new URL(`https://${host}`)
  if (origin.host !== host.toLowerCase()) throw new Error(`malformed did:web host: ${host}`)
  return path.length ? `https://${host}/${path.map(encodeURIComponent).join('/')}/did.json` : `https://${host}/.well-known/did.json`
}

/**
 * Resolves `didUrl` (`did:web:…#fragment`) to the public JWK of its verification method:
 * fetches the DID document with `fetch` (https), checks that its `id` is the DID, and takes the
 * `verificationMethod` entry whose `id` is the DID URL (absolute, or `#fragment` relative to
 * the document), with a `publicKeyJwk` and a `controller` equal to the DID. Throws with a
 * description otherwise.
 */
export async function resolveDidWebKey(didUrl, fetch) {
  const hash = didUrl.indexOf('#')
  if (hash < 0) throw new Error(`the JWS kid ${didUrl} is not a DID URL with a fragment`)
  const did = didUrl.slice(0, hash)
  const fragment = didUrl.slice(hash)
  const url = didWebDocumentUrl(did)
  const response = await fetch(url, { headers: { accept: 'application/did+json, application/json' } })
  if (response.status !== 200) throw new Error(`DID document ${url}: HTTP ${response.status}`)
  const type = response.headers.get('content-type') ?? ''
  if (!/^application\/(did\+)?json\b/.test(type)) throw new Error(`DID document ${url} served as ${type || 'nothing'}, expected application/did+json or application/json`)
  let doc
  try {
    doc = JSON.parse(await response.text())
  } catch {
    throw new Error(`DID document ${url} is not JSON`)
  }
  if (doc?.id !== did) throw new Error(`DID document ${url} is for ${doc?.id}, not ${did}`)
  const methods = Array.isArray(doc.verificationMethod) ? doc.verificationMethod : []
  const method = methods.find((m) => m?.id === didUrl || m?.id === fragment)
  if (!method) throw new Error(`DID document of ${did} has no verificationMethod ${didUrl}`)
  if (method.controller !== undefined && method.controller !== did) throw new Error(`verificationMethod ${didUrl} is controlled by ${method.controller}, not ${did}`)
  const jwk = method.publicKeyJwk
  if (!jwk || typeof jwk !== 'object') throw new Error(`verificationMethod ${didUrl} has no publicKeyJwk`)
  if (jwk.d !== undefined) throw new Error(`verificationMethod ${didUrl} publishes a private key`)
  return { did, jwk, document: doc, url }
}

/** A DID document for `did` with one JsonWebKey verification method `did#key-1`. */
export function didDocument(did, publicJwk, fragment = 'key-1') {
  const id = `${did}#${fragment}`
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/jwk/v1'],
    id: did,
    verificationMethod: [{ id, type: 'JsonWebKey', controller: did, publicKeyJwk: publicJwk }],
    assertionMethod: [id],
    authentication: [id],
  }
}
