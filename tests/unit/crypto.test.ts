import { describe, expect, it } from 'vitest'
import { DUMMY_PASSWORD_HASH, generateToken, hashPassword, hashToken, safeEqualHex, TOKEN_PREFIX, verifyPassword } from '../../server/services/crypto'

describe('generateToken', () => {
  it.each(Object.entries(TOKEN_PREFIX))('gives %s tokens the prefix %s and 256 random bits', (kind, prefix) => {
    const token = generateToken(kind as keyof typeof TOKEN_PREFIX)
    expect(token.startsWith(prefix)).toBe(true)
    const secret = token.slice(prefix.length)
    expect(secret).toMatch(/^[\w-]{43}$/)
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32)
    expect(Buffer.from(secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128)
  })

  it('uses distinct prefixes per kind', () => {
    expect(TOKEN_PREFIX).toEqual({ api: 'np_', agent: 'npa_', stream: 'nps_' })
  })

  it('never repeats itself', () => {
    const tokens = new Set(Array.from({ length: 2000 }, () => generateToken('api')))
    expect(tokens.size).toBe(2000)
  })
})

describe('hashToken', () => {
  it('is SHA-256 in lowercase hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(hashToken('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('is deterministic and differs for different tokens', () => {
    const token = generateToken('agent')
    expect(hashToken(token)).toBe(hashToken(token))
    expect(hashToken(token)).not.toBe(hashToken(`${token}x`))
    expect(hashToken(token)).not.toContain(token.slice(4))
  })
})

describe('safeEqualHex', () => {
  const h = hashToken('x')
  it('is true only for equal digests', () => {
    expect(safeEqualHex(h, h)).toBe(true)
    expect(safeEqualHex(h, hashToken('y'))).toBe(false)
  })

  it('is false for different lengths and for empty input', () => {
    expect(safeEqualHex(h, h.slice(0, 62))).toBe(false)
    expect(safeEqualHex('', '')).toBe(false)
  })
})

describe('hashPassword / verifyPassword', () => {
  it('stores scrypt with its parameters, a 16-byte salt and a 64-byte key', async () => {
    const stored = await hashPassword('correct horse battery staple')
    const [scheme, n, r, p, salt, key, ...rest] = stored.split('$')
    expect([scheme, n, r, p]).toEqual(['scrypt', '32768', '8', '1'])
    expect(Buffer.from(salt!, 'base64')).toHaveLength(16)
    expect(Buffer.from(key!, 'base64')).toHaveLength(64)
    expect(rest).toEqual([])
    expect(stored).not.toContain('correct horse')
  })

  it('salts every hash', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'))
  })

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('s3cret-password')
    expect(await verifyPassword(stored, 's3cret-password')).toBe(true)
    expect(await verifyPassword(stored, 's3cret-passwor')).toBe(false)
    expect(await verifyPassword(stored, 'S3cret-password')).toBe(false)
    expect(await verifyPassword(stored, '')).toBe(false)
  })

  it('normalizes Unicode (NFKC) so the same password typed differently matches', async () => {
    const stored = await hashPassword('caf\u00e9')
    expect(await verifyPassword(stored, 'cafe\u0301')).toBe(true)
  })

  it('refuses everything against a stored value that is not an scrypt hash', async () => {
    expect(await verifyPassword('', 'x')).toBe(false)
    expect(await verifyPassword('bcrypt$10$abc$def', 'x')).toBe(false)
    expect(await verifyPassword('scrypt$32768$8$1$$', 'x')).toBe(false)
  })

  it('refuses every password against the dummy hash used for unknown users', async () => {
    expect(await verifyPassword(DUMMY_PASSWORD_HASH, '')).toBe(false)
    expect(await verifyPassword(DUMMY_PASSWORD_HASH, 'admin')).toBe(false)
  })
})
