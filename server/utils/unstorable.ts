/**
 * What every JSON body and query passes before any contract sees it (server/utils/http.ts): no
 * NUL characters, which Postgres cannot store, and no nesting past MAX_JSON_DEPTH. Pure, so the
 * benches and unit tests import it without Nitro.
 */

/** How deep JSON bodies may nest: far past any contract's shape, far short of a stack or a database limit. */
export const MAX_JSON_DEPTH = 32

/**
 * The first place in a parsed body that no contract allows and Postgres cannot store: a string or
 * key holding a NUL character, or nesting deeper than MAX_JSON_DEPTH. Its path and what is wrong, or undefined.
 */
export function unstorable(value: unknown): { path: string, message: string } | undefined {
  const found = findUnstorable(value, 0)
  if (!found) return undefined
  const path = found.reversedPath.reverse()
  const at = path.slice(0, 6).join('.') + (path.length > 6 ? '…' : '')
  return { path: found.key === undefined ? at : at || found.key.replace(/\0/g, '\\u0000'), message: found.message }
}

interface Unstorable { reversedPath: string[], message: string, key?: string }

// Walks without allocating on the way down (a 1,000-sample batch has ~70,000 values); only a find
// builds its path, key by key on the way back up.
function findUnstorable(value: unknown, depth: number): Unstorable | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? { reversedPath: [], message: 'must not contain NUL (\\u0000) characters' } : undefined
  if (typeof value !== 'object' || value === null) return undefined
  if (depth >= MAX_JSON_DEPTH) return { reversedPath: [], message: `is nested more than ${MAX_JSON_DEPTH} levels deep` }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], depth + 1)
      if (found) {
        found.reversedPath.push(String(i))
        return found
      }
    }
    return undefined
  }
  for (const key in value) {
    if (key.includes('\u0000')) return { reversedPath: [], message: 'must not contain NUL (\\u0000) characters in its keys', key }
    const found = findUnstorable((value as Record<string, unknown>)[key], depth + 1)
    if (found) {
      found.reversedPath.push(key)
      return found
    }
  }
  return undefined
}
