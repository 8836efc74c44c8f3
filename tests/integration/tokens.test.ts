import { describe, expect, it } from 'vitest'
import type { TokenView } from '../../shared/contracts/rest'
import { api, asAdmin, createApiToken, createUser, expectError, unique } from './helpers'

describe('API tokens', () => {
  it('POST /api/v1/tokens issues a token whose secret is shown once', async () => {
    const name = unique('ci-reader')
    const res = await api<TokenView & { token: string }>('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { name, role: 'viewer' } })
    expect(res.status).toBe(201)
    expect(res.body).toEqual({ id: expect.any(Number), name, role: 'viewer', created_at: expect.any(String), last_used_at: null, token: expect.stringMatching(/^np_[\w-]{43}$/) })
    expect(Math.abs(Date.parse(res.body.created_at) - Date.now())).toBeLessThan(60_000)

    const list = await api<TokenView[]>('GET', '/api/v1/tokens', { auth: await asAdmin() })
    expect(list.status).toBe(200)
    const listed = list.body.find(t => t.id === res.body.id)
    expect(listed).toEqual({ id: res.body.id, name, role: 'viewer', created_at: res.body.created_at, last_used_at: null })
    expect(list.text).not.toContain(res.body.token)
    expect(list.text).not.toContain(res.body.token.slice(3))
  })

  it('trims the name', async () => {
    const name = unique('padded')
    const res = await api<TokenView>('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { name: `  ${name}  `, role: 'admin' } })
    expect(res.status).toBe(201)
    expect(res.body.name).toBe(name)
  })

  it('an admin token works as a bearer token for admin actions, and its use is recorded', async () => {
    const token = await createApiToken('admin')
    const create = await api<{ id: number, hostname: string }>('POST', '/api/v1/nodes', { auth: { bearer: token.token }, json: { hostname: unique('via-token') } })
    expect(create.status).toBe(201)
    expect((await api('DELETE', `/api/v1/nodes/${create.body.id}`, { auth: { bearer: token.token } })).status).toBe(204)
    const list = await api<TokenView[]>('GET', '/api/v1/tokens', { auth: { bearer: token.token } })
    const used = list.body.find(t => t.id === token.id)!
    expect(used.last_used_at).not.toBeNull()
    expect(Math.abs(Date.parse(used.last_used_at!) - Date.now())).toBeLessThan(60_000)
  })

  it('a viewer token reads but gets 403 on writes and on admin-only reads', async () => {
    const token = await createApiToken('viewer')
    const auth = { bearer: token.token }
    expect((await api('GET', '/api/v1/nodes', { auth })).status).toBe(200)
    expectError(await api('POST', '/api/v1/nodes', { auth, json: { hostname: unique('nope') } }), 403, 'admin')
    expectError(await api('GET', '/api/v1/tokens', { auth }), 403, 'admin')
    expectError(await api('POST', '/api/v1/tokens', { auth, json: { name: 'escalate', role: 'admin' } }), 403)
  })

  it('DELETE /api/v1/tokens/:id revokes the token at once (204, then 401 for its holder, 404 again)', async () => {
    const token = await createApiToken('admin')
    expect((await api('GET', '/api/v1/auth/me', { auth: { bearer: token.token } })).status).toBe(200)
    const del = await api('DELETE', `/api/v1/tokens/${token.id}`, { auth: await asAdmin() })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expectError(await api('GET', '/api/v1/auth/me', { auth: { bearer: token.token } }), 401, 'Invalid or expired token')
    expectError(await api('DELETE', `/api/v1/tokens/${token.id}`, { auth: await asAdmin() }), 404, `Token ${token.id} not found`)
    const list = await api<TokenView[]>('GET', '/api/v1/tokens', { auth: await asAdmin() })
    expect(list.body.map(t => t.id)).not.toContain(token.id)
  })

  it('a deleted user\'s tokens stop working', async () => {
    const user = await createUser()
    const stream = await api<{ token: string }>('POST', '/api/v1/auth/stream-token', { auth: user.auth })
    expect(stream.status).toBe(201)
    expect((await api('DELETE', `/api/v1/users/${user.id}`, { auth: await asAdmin() })).status).toBe(204)
    expectError(await api('GET', '/api/v1/auth/me', { auth: { bearer: stream.body.token } }), 401)
  })

  it('answers 422 for a bad role, naming the field', async () => {
    expectError(await api('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { name: 'x', role: 'root' } }), 422, 'role')
  })

  it('answers 422 for an empty or missing name', async () => {
    expectError(await api('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { name: '   ', role: 'viewer' } }), 422, 'name')
    expectError(await api('POST', '/api/v1/tokens', { auth: await asAdmin(), json: { role: 'viewer' } }), 422, 'name')
  })

  it('answers 400 for malformed JSON', async () => {
    expectError(await api('POST', '/api/v1/tokens', { auth: await asAdmin(), raw: '{"name":' }), 400, 'Malformed JSON')
  })

  it('answers 404 for an unknown id and 400 for a non-numeric one', async () => {
    expectError(await api('DELETE', '/api/v1/tokens/987654', { auth: await asAdmin() }), 404, 'Token 987654 not found')
    expectError(await api('DELETE', '/api/v1/tokens/abc', { auth: await asAdmin() }), 400, 'id')
    expectError(await api('DELETE', '/api/v1/tokens/1.5', { auth: await asAdmin() }), 400, 'id')
  })
})
