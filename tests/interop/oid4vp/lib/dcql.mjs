// DCQL (OpenID4VP 1.0 §6, §7) evaluation for a wallet holding SD-JWT VCs. @openid4vc/openid4vp
// 0.4.6 only passes the query through (`resolved.dcql.query`) and does not evaluate it (nor
// depend on the `dcql` package), so the wallet's side of §6.4 is done here: Credential Queries
// of format `dc+sd-jwt` matched by `meta.vct_values`, Claims Queries by claims path pointers
// (§7.1, names only: this wallet cannot present array elements selectively), `values`
// (exact type and value, §6.3), `claim_sets` (first option that can be satisfied, §6.4.1) and
// `credential_sets` (required sets, first satisfiable option, §6.4.2).

const ID = /^[A-Za-z0-9_-]+$/

/** An error in the query itself (§8.5 invalid_request). */
export class DcqlError extends Error {}

function valueAt(claims, path) {
  let node = claims
  for (const step of path) {
    if (typeof step !== 'string' || node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, step)) return { found: false }
    node = node[step]
  }
  return { found: true, value: node }
}

/** Validates the structure of a DCQL query (the parts this wallet reads). */
export function validateDcql(query) {
  if (!query || typeof query !== 'object' || !Array.isArray(query.credentials) || query.credentials.length === 0) throw new DcqlError('dcql_query.credentials must be a non-empty array (§6)')
  const ids = new Set()
  for (const cq of query.credentials) {
    if (!cq || typeof cq.id !== 'string' || !ID.test(cq.id)) throw new DcqlError('a Credential Query id must be alphanumeric, _ or - (§6.1)')
    if (ids.has(cq.id)) throw new DcqlError(`Credential Query id ${cq.id} appears twice (§6.1)`)
    ids.add(cq.id)
    if (typeof cq.format !== 'string') throw new DcqlError(`Credential Query ${cq.id} has no format (§6.1)`)
    if (!cq.meta || typeof cq.meta !== 'object') throw new DcqlError(`Credential Query ${cq.id} has no meta (§6.1: REQUIRED)`)
    if (cq.claims !== undefined) {
      if (!Array.isArray(cq.claims) || cq.claims.length === 0) throw new DcqlError(`claims of ${cq.id} must be a non-empty array (§6.1)`)
      const claimIds = new Set()
      for (const c of cq.claims) {
        if (!Array.isArray(c?.path) || c.path.length === 0) throw new DcqlError(`a claims path of ${cq.id} is not a non-empty array (§6.3)`)
        if (!c.path.every((s) => typeof s === 'string' || s === null || (Number.isInteger(s) && s >= 0))) throw new DcqlError(`claims path ${JSON.stringify(c.path)} has an invalid element (§7)`)
        if (c.id !== undefined) {
          if (typeof c.id !== 'string' || !ID.test(c.id) || claimIds.has(c.id)) throw new DcqlError(`claim id ${c.id} of ${cq.id} is invalid or repeated (§6.3)`)
          claimIds.add(c.id)
        }
      }
      if (cq.claim_sets !== undefined) {
        if (!cq.claims.every((c) => c.id !== undefined)) throw new DcqlError(`claims of ${cq.id} need ids with claim_sets (§6.3)`)
        if (!Array.isArray(cq.claim_sets) || cq.claim_sets.length === 0 || !cq.claim_sets.every((s) => Array.isArray(s) && s.length > 0 && s.every((id) => claimIds.has(id)))) {
          throw new DcqlError(`claim_sets of ${cq.id} must be non-empty arrays of claim ids (§6.1)`)
        }
      }
    } else if (cq.claim_sets !== undefined) throw new DcqlError(`claim_sets without claims in ${cq.id} (§6.4.1)`)
  }
  if (query.credential_sets !== undefined) {
    if (!Array.isArray(query.credential_sets) || query.credential_sets.length === 0) throw new DcqlError('credential_sets must be a non-empty array (§6)')
    for (const set of query.credential_sets) {
      if (!Array.isArray(set?.options) || set.options.length === 0 || !set.options.every((o) => Array.isArray(o) && o.length > 0 && o.every((id) => ids.has(id)))) {
        throw new DcqlError('credential_sets options must be non-empty arrays of Credential Query ids (§6.2)')
      }
    }
  }
}

/** Matches one Credential Query against one credential `{vct, claims}`: the claim paths to disclose, or null. */
export function matchCredentialQuery(cq, credential) {
  if (cq.format !== 'dc+sd-jwt') return null
  const vcts = cq.meta?.vct_values
  if (!Array.isArray(vcts) || vcts.length === 0) return null // §B.3.5: REQUIRED
  if (!vcts.includes(credential.vct)) return null
  if (!cq.claims) return [] // §6.4.1: no selectively disclosable claims requested
  const satisfied = (c) => {
    if (!c.path.every((s) => typeof s === 'string')) return false
    const { found, value } = valueAt(credential.claims, c.path)
    if (!found) return false
    if (Array.isArray(c.values)) return c.values.some((v) => v === value)
    return true
  }
  const sets = cq.claim_sets ?? [cq.claims.map((_, i) => i)]
  for (const set of sets) {
    const claims = cq.claim_sets ? set.map((id) => cq.claims.find((c) => c.id === id)) : set.map((i) => cq.claims[i])
    if (claims.every(satisfied)) return claims.map((c) => c.path)
  }
  return null
}

/**
 * Evaluates `query` against `credentials` (each `{vct, claims}`): `{selected: {queryId:
 * {index, paths}}, satisfied}` where `satisfied` says whether everything required could be met
 * (§6.4.2). Only queries in a chosen credential set option (or all, without credential_sets)
 * are selected.
 */
export function evaluateDcql(query, credentials) {
  validateDcql(query)
  const matches = {}
  for (const cq of query.credentials) {
    for (let index = 0; index < credentials.length; index++) {
      const paths = matchCredentialQuery(cq, credentials[index])
      if (paths) {
        matches[cq.id] = { index, paths }
        break
      }
    }
  }
  if (!query.credential_sets) {
    const satisfied = query.credentials.every((cq) => matches[cq.id])
    return { selected: satisfied ? matches : {}, satisfied }
  }
  const selected = {}
  let satisfied = true
  for (const set of query.credential_sets) {
    const option = set.options.find((o) => o.every((id) => matches[id]))
    if (option) for (const id of option) selected[id] = matches[id]
    else if (set.required !== false) satisfied = false
  }
  return { selected: satisfied ? selected : {}, satisfied }
}
