import { describe, expect, it } from 'vitest'
import { MAX_JSON_DEPTH, unstorable } from '../../server/utils/unstorable'

/** The walk as it was before it stopped allocating on the way down: the reference for paths and messages. */
function reference(value: unknown, path: string[] = [], depth = 0): { path: string, message: string } | undefined {
  const at = () => path.slice(0, 6).join('.') + (path.length > 6 ? '…' : '')
  if (typeof value === 'string') return value.includes('\u0000') ? { path: at(), message: 'must not contain NUL (\\u0000) characters' } : undefined
  if (typeof value !== 'object' || value === null) return undefined
  if (depth >= MAX_JSON_DEPTH) return { path: at(), message: `is nested more than ${MAX_JSON_DEPTH} levels deep` }
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return { path: at() || key.replace(/\0/g, '\\u0000'), message: 'must not contain NUL (\\u0000) characters in its keys' }
    const found = reference(item, [...path, key], depth + 1)
    if (found) return found
  }
  return undefined
}

/** A nest of `depth` objects and arrays around `inner`. */
function nest(depth: number, inner: unknown): unknown {
  let value = inner
  for (let i = depth; i > 0; i--) value = i % 2 ? { [`k${i}`]: value, ok: 'yes' } : [1, value]
  return value
}

describe('unstorable', () => {
  it('names the same place with the same message as the walk it replaced', () => {
    const cases: unknown[] = [
      'a\u0000b', '\u0000', { '\u0000': 1 }, { 'a\u0000b': { c: 1 } }, { a: { 'x\u0000': 1 } }, [0, 'ok', ['a\u0000']],
      { samples: [{ detail: { disks: [{ mount: '/', fs: 'a\u0000' }] } }] }, { a: 1, b: [true, null, 2.5, 'fine'] },
      nest(MAX_JSON_DEPTH - 1, 'deep but fine'), nest(MAX_JSON_DEPTH, 1), nest(MAX_JSON_DEPTH, {}), nest(MAX_JSON_DEPTH + 5, []),
      nest(7, 'x\u0000'), nest(3, { '\u0000\u0000': 1 }), nest(8, { 'k\u0000': 1 }), JSON.parse('{"__proto__": "a\\u0000"}'),
    ]
    for (const value of cases) expect(unstorable(value), JSON.stringify(value)).toEqual(reference(value))
    expect(cases.filter(v => unstorable(v)).length).toBe(cases.length - 3)
  })
})
